/**
 * `doublelock`: one command-line entry for every process and tool. Each command family lives in
 * src/commands/<name>.ts and exports register(program).
 */
import { register as registerCustodian } from '@doublelock/custodian/command';
import { register as registerMatcher } from '@doublelock/matcher/command';
import { Command, CommanderError } from 'commander';
import { register as registerAdmin } from './commands/admin.ts';
import { register as registerAgency } from './commands/agency.ts';
import { register as registerBank } from './commands/bank.ts';
import { register as registerChannel } from './commands/channel.ts';
import { register as registerChat } from './commands/chat.ts';
import { register as registerHash } from './commands/hash.ts';
import { register as registerHub } from './commands/hub.ts';
import { register as registerLog } from './commands/log.ts';
import { register as registerMatch } from './commands/match.ts';
import { register as registerModeration } from './commands/moderation.ts';
import { register as registerOversight } from './commands/oversight.ts';
import { register as registerRules } from './commands/rules.ts';
import { register as registerServe } from './commands/serve.ts';
import { register as registerWitness } from './commands/witness.ts';

const program = new Command()
  .name('doublelock')
  .description('Doublelock: private messaging, accountable lawful access, and trust & safety')
  .showHelpAfterError()
  .exitOverride();

for (const register of [registerServe, registerChat, registerAdmin, registerAgency, registerCustodian, registerLog, registerWitness, registerHash, registerBank, registerMatch, registerOversight, registerModeration, registerChannel, registerRules, registerHub, registerMatcher]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`doublelock: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
