/**
 * A test entry with the moderation commands registered as apps/cli/src/main.ts will register them, so the
 * commands run as a real process before the lead wires them into main.ts.
 */
import { Command, CommanderError } from 'commander';
import { register as registerBank } from '../../../apps/cli/src/commands/bank.ts';
import { register as registerHash } from '../../../apps/cli/src/commands/hash.ts';
import { register as registerMatch } from '../../../apps/cli/src/commands/match.ts';

const program = new Command().name('doublelock').showHelpAfterError().exitOverride();
for (const register of [registerHash, registerBank, registerMatch]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  console.error(`doublelock: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
