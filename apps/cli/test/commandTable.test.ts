import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { FAMILIES } from '../src/families.ts';

describe('the CLI command table', () => {
  it('names exactly the top-level commands each family registers, with their descriptions (a command missing here would not start)', async () => {
    const seen: string[] = [];
    for (const family of FAMILIES) {
      const program = new Command();
      for (const register of await family.load()) register(program);
      const registered = Object.fromEntries(program.commands.map((c) => [c.name(), c.description()]));
      expect(registered).toEqual(family.commands);
      seen.push(...Object.keys(registered));
    }
    expect(new Set(seen).size).toBe(seen.length); // no command in two families
  }, 180_000);
});

describe('numeric options', () => {
  it('are parsed one way by every command (digits only): what Number() would bend is refused, naming the option', async () => {
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    for (const family of FAMILIES) for (const register of await family.load()) register(program);
    for (const [args, message] of [
      [['serve', '--port', '1e3'], '--port must be a non-negative integer, not "1e3"'],
      [['hub', 'serve', '--rate-limit', '0'], '--rate-limit must be an integer ≥ 1, not "0"'],
      [['matcher', 'serve', '--refresh-ms', '0x10'], '--refresh-ms must be a non-negative integer, not "0x10"'],
      [['custodian', 'serve', '--port', ' 7'], '--port must be a non-negative integer, not " 7"'],
      [['log', 'audit', '--page', '1.5'], '--page must be a non-negative integer, not "1.5"'],
      [['oversight', 'report', '--witnesses', ''], '--witnesses must be a non-negative integer, not ""'],
    ] as const)
      await expect(program.parseAsync([...args], { from: 'user' }), args.join(' ')).rejects.toThrow(message);
  }, 180_000);
});
