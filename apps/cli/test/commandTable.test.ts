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
