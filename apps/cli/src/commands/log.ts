/**
 * `doublelock log checkpoint|verify|audit|keygen`: read and audit a server's transparency log from
 * outside, with the client-side verifier. `audit` downloads every entry, recomputes the root, checks it
 * against the signed checkpoint and checks that the log only grew since the last checkpoint recorded
 * in the state file; any mismatch exits non-zero with the reason.
 */
import { auditLog, AuditError, checkConsistency, fetchCheckpoint, FileWitnessState, generateSignerKey, LogHttpClient, NoteSigner, verifyEntry } from '@doublelock/log';
import { parseVerifierKey, toHex } from '@doublelock/log/verifier';
import type { Command } from 'commander';
import { auditProgressBar, rememberCheckpoint } from '../auditProgress.ts';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { integerOption } from '@doublelock/protocol/cliOptions';

const DEFAULT_STATE = join(homedir(), '.doublelock', 'log-state.json');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface ClientOptions {
  url: string;
  logKey: string;
  state: string;
  witnessKey?: string[];
  witnesses: number;
}

function addClientOptions(command: Command): Command {
  return command
    .requiredOption('--url <server>', 'base URL of the Doublelock server', process.env.DOUBLELOCK_URL)
    .requiredOption('--log-key <vkey>', "the log's verifier key (<name>+<key id>+<key>)", process.env.DOUBLELOCK_LOG_KEY)
    .option('--state <file>', 'file remembering the last checkpoint seen, per log', DEFAULT_STATE)
    .option('--witness-key <vkey>', 'a witness verifier key (repeatable)', collect)
    .option('--witnesses <k>', 'require cosignatures from k of the witness keys', integerOption('--witnesses'), 0);
}

export function register(program: Command): void {
  const log = program.command('log').description('inspect, verify and audit a transparency log');

  log
    .command('keygen')
    .description("generate a log signing key; the name is the log's origin")
    .requiredOption('--name <origin>', 'key name, e.g. example.com/log')
    .action((options: { name: string }) => {
      const key = generateSignerKey(options.name);
      console.log(`signer key (keep secret): ${key}\nverifier key: ${new NoteSigner(key).verifierKey}`);
    });

  log
    .command('checkpoint')
    .description('print the latest signed checkpoint; with --log-key, verify it first')
    .requiredOption('--url <server>', 'base URL of the Doublelock server', process.env.DOUBLELOCK_URL)
    .option('--log-key <vkey>', "the log's verifier key", process.env.DOUBLELOCK_LOG_KEY)
    .action(async (options: { url: string; logKey?: string }) => {
      const client = new LogHttpClient(options.url);
      if (!options.logKey) {
        process.stdout.write(await client.checkpoint());
        return;
      }
      const checkpoint = await fetchCheckpoint(client, { logKey: options.logKey });
      process.stdout.write(checkpoint.note);
      console.error(`verified: ${checkpoint.origin} size ${checkpoint.size} root ${toHex(checkpoint.rootHash)}`);
    });

  addClientOptions(log.command('verify'))
    .description('verify that an entry is in the signed tree and that the log is consistent with the last checkpoint seen')
    .requiredOption('--index <n>', 'index of the entry', integerOption('--index'))
    .action(async (options: ClientOptions & { index: number }) => {
      const client = new LogHttpClient(options.url);
      const state = new FileWitnessState(options.state);
      const checkpoint = await fetchCheckpoint(client, { logKey: options.logKey, witnessKeys: options.witnessKey, witnesses: options.witnesses });
      const seen = (await state.load())[checkpoint.origin];
      await checkConsistency(client, seen, checkpoint);
      const entry = await verifyEntry(client, checkpoint, options.index);
      await rememberCheckpoint(state, checkpoint);
      console.log(`entry ${options.index} (${entry.length} bytes, ${toHex(entry.slice(0, 16))}${entry.length > 16 ? '…' : ''}) is in ${checkpoint.origin} at size ${checkpoint.size}`);
    });

  addClientOptions(log.command('audit'))
    .description('download every entry, recompute the root and check it against the signed checkpoint and the last one seen')
    .option('--page <n>', 'entries per request', integerOption('--page'), 1000)
    .action(async (options: ClientOptions & { page: number }) => {
      const client = new LogHttpClient(options.url);
      const state = new FileWitnessState(options.state);
      const origin = parseVerifierKey(options.logKey).name;
      const seen = (await state.load())[origin];
      const progress = auditProgressBar();
      try {
        const result = await auditLog(client, {
          logKey: options.logKey,
          witnessKeys: options.witnessKey,
          witnesses: options.witnesses,
          seen,
          pageSize: options.page,
          onProgress: progress.onProgress,
        });
        progress.stop();
        await rememberCheckpoint(state, result.checkpoint);
        const since = seen ? ` consistent with size ${seen.size} seen before;` : '';
        console.log(`audit OK: ${result.checkpoint.origin}: ${result.entries} entries hash to the signed root ${toHex(result.checkpoint.rootHash)};${since} state saved to ${options.state}`);
      } catch (error) {
        progress.stop();
        if (error instanceof AuditError) throw new Error(`AUDIT FAILED: ${error.message}`);
        throw error;
      }
    });
}

