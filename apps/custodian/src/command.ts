/**
 * `doublelock custodian …`: run one custodian of the lawful-access threshold.
 *   custodian init  --data <dir>                       create this custodian's keys; print the public halves
 *   custodian serve --data <dir> --trust <file> --trust-root <key> --log <url> [--operator-key <key>…]
 *                                                      run the service (with operator keys: every share
 *                                                      waits for an operator's signed approval)
 *   custodian dkg   --trust <file> --trust-root <key> --coordinator-key <file> [--epoch n]
 *                                                      coordinate (or resume) the key ceremony for an epoch
 * The trust configuration is the signed JSON document (SignedTrustConfig); the trust root is the
 * base64url Ed25519 public key it must verify under, pinned out of band.
 */
import { epochAt, openTrustConfig, runDkgCeremony, type SignedTrustConfig } from '@doublelock/lawful-access';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { initCustodianKeys, publicKeysOf } from './keys.ts';
import { startCustodian } from './service.ts';
import { integerOption } from '@doublelock/protocol/cliOptions';

function collectKey(value: string, previous: string[]): string[] {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(value);
  } catch {
    throw new Error(`--operator-key must be base64url, not "${value}"`);
  }
  if (bytes.length !== 32) throw new Error(`--operator-key must be a 32-byte Ed25519 public key, not ${bytes.length} bytes`);
  return [...previous, value];
}

const readTrust = (path: string): SignedTrustConfig => JSON.parse(readFileSync(path, 'utf8')) as SignedTrustConfig;

export function register(program: Command): void {
  const custodian = program.command('custodian').description('a lawful-access custodian (one of the t-of-n key holders)');

  custodian
    .command('init')
    .description('create this custodian’s keys (once) and print its public keys for the trust configuration')
    .option('--data <dir>', 'custodian data folder', process.env.DOUBLELOCK_CUSTODIAN_DATA ?? './custodian-data')
    .action((options: { data: string }) => {
      const { secrets, created } = initCustodianKeys(options.data);
      console.log(JSON.stringify({ created, ...publicKeysOf(secrets) }, null, 2));
    });

  custodian
    .command('serve')
    .description('run the custodian service')
    .requiredOption('--trust <file>', 'signed trust configuration (JSON)')
    .requiredOption('--trust-root <key>', 'pinned trust-root Ed25519 public key (base64url)')
    .requiredOption('--log <url>', 'the provider server whose transparency log this custodian follows and publishes its releases to')
    .option('--data <dir>', 'custodian data folder (keys and SQLite database)', process.env.DOUBLELOCK_CUSTODIAN_DATA ?? './custodian-data')
    .option('--database-url <url>', 'use PostgreSQL at this URL instead of SQLite')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', integerOption('--port'), 8090)
    .option('--log-level <level>', 'pino log level', 'info')
    .option('--operator-key <key>', 'an operator’s Ed25519 public key (base64url, repeatable): every share waits for an operator’s signed approval', collectKey, [])
    .action(async (options: { trust: string; trustRoot: string; log: string; data: string; databaseUrl?: string; host: string; port: number; logLevel: string; operatorKey: string[] }) => {
      const running = await startCustodian({
        host: options.host,
        port: options.port,
        dataDir: options.data,
        databaseUrl: options.databaseUrl,
        trust: readTrust(options.trust),
        trustRoot: options.trustRoot,
        logUrl: options.log,
        logLevel: options.logLevel,
        operatorKeys: options.operatorKey,
      });
      console.log(`Custodian ${running.index} is running at ${running.url}. Ctrl-C stops it.`);
      const stop = () => void running.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  custodian
    .command('dkg')
    .description('coordinate the COCKTAIL-DKG ceremony among all custodians for an epoch')
    .requiredOption('--trust <file>', 'signed trust configuration (JSON)')
    .requiredOption('--trust-root <key>', 'pinned trust-root Ed25519 public key (base64url)')
    .requiredOption('--coordinator-key <file>', 'this coordinator’s key: JSON { "id": …, "secretKey": base64url Ed25519 } named in the trust configuration')
    .option('--epoch <n>', 'epoch number (default: the current one)', integerOption('--epoch'))
    .action(async (options: { trust: string; trustRoot: string; coordinatorKey: string; epoch?: number }) => {
      const trust = openTrustConfig(readTrust(options.trust), options.trustRoot);
      const epoch = options.epoch ?? epochAt(Date.now(), trust.epoch.lengthMs);
      const file = JSON.parse(readFileSync(options.coordinatorKey, 'utf8')) as { id?: unknown; secretKey?: unknown };
      if (typeof file.id !== 'string' || typeof file.secretKey !== 'string') throw new Error(`${options.coordinatorKey}: expected { "id", "secretKey" }`);
      const { key, resumed } = await runDkgCeremony(trust, epoch, { id: file.id, secretKey: fromBase64Url(file.secretKey) });
      console.log(JSON.stringify({ epoch, threshold: key.threshold, publicKey: toBase64Url(key.publicKey), resumed }, null, 2));
    });
}
