/**
 * `doublelock`: one command-line entry for every process and tool. Each command family lives in
 * src/commands/<name>.ts and exports register(program).
 */
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { FAMILIES } from './families.ts';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('doublelock')
  .version(version, '-V, --version', 'print the version')
  .description('Doublelock: private messaging, accountable lawful access, and trust & safety')
  .showHelpAfterError()
  .exitOverride();

// Only the family of the command given is loaded; help lists every family's commands from the table.
const [named, helpFor] = process.argv.slice(2);
const owns = (name: string | undefined) => FAMILIES.find((f) => name !== undefined && Object.hasOwn(f.commands, name));
const family = owns(named) ?? (named === 'help' ? owns(helpFor) : undefined);
if (family) for (const register of await family.load()) register(program);
else for (const f of FAMILIES) for (const [name, description] of Object.entries(f.commands)) program.command(name).description(description);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`doublelock: ${describeError(error)}`);
  process.exit(1);
}

/** The message a person can act on; a server that cannot be reached says so, with where it was looked for. */
function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: string }).code;
    if (code && ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
      const where = /(\d{1,3}(?:\.\d{1,3}){3}:\d+|\[[0-9a-f:]+\]:\d+|[a-z0-9.-]+:\d+)/i.exec(e.message)?.[1];
      return `cannot reach the server${where ? ` at ${where}` : ''} (${code}): is it running? Start one with "doublelock serve", or point to it with --server / DOUBLELOCK_SERVER.`;
    }
  }
  return message;
}
