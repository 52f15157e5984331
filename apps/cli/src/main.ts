/**
 * `doublelock`: one command-line entry for every process and tool. Each command family lives in
 * src/commands/<name>.ts and exports register(program).
 */
import { register as registerCustodian } from '@doublelock/custodian/command';
import { register as registerMatcher } from '@doublelock/matcher/command';
import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { register as registerAdmin } from './commands/admin.ts';
import { register as registerAgency } from './commands/agency.ts';
import { register as registerBackup } from './commands/backup.ts';
import { register as registerBank } from './commands/bank.ts';
import { register as registerChannel } from './commands/channel.ts';
import { register as registerChat } from './commands/chat.ts';
import { register as registerChatFeatures } from './commands/chatFeatures.ts';
import { register as registerHash } from './commands/hash.ts';
import { register as registerHub } from './commands/hub.ts';
import { register as registerLog } from './commands/log.ts';
import { register as registerMatch } from './commands/match.ts';
import { register as registerModeration } from './commands/moderation.ts';
import { register as registerOversight } from './commands/oversight.ts';
import { register as registerRules } from './commands/rules.ts';
import { register as registerServe } from './commands/serve.ts';
import { register as registerWitness } from './commands/witness.ts';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const program = new Command()
  .name('doublelock')
  .version(version, '-V, --version', 'print the version')
  .description('Doublelock: private messaging, accountable lawful access, and trust & safety')
  .showHelpAfterError()
  .exitOverride();

for (const register of [registerServe, registerBackup, registerChat, registerChatFeatures, registerAdmin, registerAgency, registerCustodian, registerLog, registerWitness, registerHash, registerBank, registerMatch, registerOversight, registerModeration, registerChannel, registerRules, registerHub, registerMatcher]) register(program);

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
