/** `doublelock serve`: runs the platform (embedded SQLite by default, PostgreSQL with --database-url). */
import { lawfulAccessConfigFile, startServer } from '@doublelock/server';
import { fromBase64Url } from '@doublelock/protocol';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { integerOption } from '@doublelock/protocol/cliOptions';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the Doublelock server')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', integerOption('--port'), Number(process.env.PORT ?? 8080))
    .option('--data <dir>', 'data folder (SQLite database and blob store)', process.env.DOUBLELOCK_DATA ?? './data')
    .option('--database-url <url>', 'use PostgreSQL at this URL instead of SQLite', process.env.DATABASE_URL)
    .option('--redis-url <url>', 'fan out new-mail notifications to the other nodes through Redis', process.env.REDIS_URL)
    .option('--blob-dir <dir>', 'blob store folder (shared by all nodes when scaled out)')
    .option('--mailbox-ttl-days <n>', 'drop undelivered mail after this many days', integerOption('--mailbox-ttl-days'), 30)
    .option('--rate-limit <n>', 'registrations and authentications per minute per client address', integerOption('--rate-limit'))
    .option('--lawful-access <file>', 'enable lawful access with this JSON file: { trust, trustRootKey, providerKeyId, providerSecretKey } (default: off)')
    .option('--log-witness <vkey>', 'a witness whose cosignatures the transparency log accepts (repeatable; default: the lawful-access trust configuration’s witnesses)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--log-witness-quorum <k>', 'how many witness cosignatures clients require on a checkpoint (default: the trust configuration’s quorum, else 1 when witnesses are given)', integerOption('--log-witness-quorum'))
    .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
    .option('--hub-url <url>', 'a hash-sharing hub this platform is a member of: its feed is synced into hub-* banks', process.env.DOUBLELOCK_HUB_URL)
    .option('--hub-key <key>', "this platform's member API key at the hub", process.env.DOUBLELOCK_HUB_KEY)
    .option('--hub-log-key <vkey>', "the hub log's verifier key to pin (default: pinned at the first sync)", process.env.DOUBLELOCK_HUB_LOG_KEY)
    .option('--hub-sync-seconds <n>', 'how often the hub feed is synced', integerOption('--hub-sync-seconds'), 30)
    .option('--hub-publish <bank>', 'publish this bank of your own to the hub (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--hub-webhook-secret-file <file>', "file holding the webhook secret the hub gave this member (or DOUBLELOCK_HUB_WEBHOOK_SECRET): the hub's signed alerts at POST /v1/hub/alerts then sync at once")
    .option('--matcher <urls>', 'matcher processes (`doublelock matcher serve`) to match hashes in, comma-separated (default: in this process)', process.env.DOUBLELOCK_MATCHER_URLS)
    .option('--matcher-token-file <file>', 'file holding the matcher processes’ token (or DOUBLELOCK_MATCHER_TOKEN)')
    .option('--web-root <dir>', 'the built web app to serve at / (default: apps/web/dist; "none" for the API alone)', process.env.DOUBLELOCK_WEB_ROOT)
    .action(async (options: { host: string; port: number; data: string; databaseUrl?: string; redisUrl?: string; blobDir?: string; mailboxTtlDays: number; rateLimit?: number; lawfulAccess?: string; logWitness?: string[]; logWitnessQuorum?: number; logLevel: string; webRoot?: string; matcher?: string; matcherTokenFile?: string; hubUrl?: string; hubKey?: string; hubLogKey?: string; hubSyncSeconds: number; hubPublish?: string[]; hubWebhookSecretFile?: string }) => {
      if (options.hubUrl && !options.hubKey) throw new Error('--hub-url needs --hub-key (this platform\'s member API key)');
      const lawfulAccess = options.lawfulAccess ? readLawfulAccess(options.lawfulAccess) : undefined;
      const witnesses = logWitnesses(options.logWitness, options.logWitnessQuorum, lawfulAccess?.trust.config.log);
      const server = await startServer({
        host: options.host,
        port: options.port,
        dataDir: options.data,
        databaseUrl: options.databaseUrl,
        redisUrl: options.redisUrl,
        blobDir: options.blobDir,
        mailboxTtlMs: options.mailboxTtlDays * 24 * 60 * 60 * 1000,
        logLevel: options.logLevel,
        ...(options.matcher && { matcherUrls: options.matcher.split(',').filter(Boolean), matcherToken: readToken(options.matcherTokenFile) }),
        webRoot: options.webRoot === 'none' ? undefined : (options.webRoot ?? defaultWebRoot()),
        ...(options.rateLimit !== undefined && { rateLimit: { register: options.rateLimit, auth: options.rateLimit } }),
        ...(lawfulAccess && { lawfulAccess }),
        logWitnesses: witnesses.keys,
        logWitnessQuorum: witnesses.quorum,
        ...(options.hubUrl && { hub: { url: options.hubUrl, key: options.hubKey!, logKey: options.hubLogKey, syncMs: Math.max(1, options.hubSyncSeconds) * 1000, bankPrefix: 'hub-', publish: options.hubPublish ?? [], webhookSecret: hubWebhookSecret(options.hubWebhookSecretFile) } }),
      });
      const store = options.databaseUrl ? 'PostgreSQL' : `SQLite in ${options.data}`;
      console.log(`Doublelock is running at ${server.url} (${store}). Health: ${server.url}/healthz — Ctrl-C stops it.`);
      if (server.ctx.config.webRoot) console.log(`Web app: ${server.url}/`);
      if (options.hubUrl) console.log(`Hash-sharing hub: ${options.hubUrl}, synced every ${options.hubSyncSeconds} s into hub-* banks${server.ctx.config.hub?.webhookSecret ? ', and at once on its alerts (POST /v1/hub/alerts)' : ''}.`);
      console.log(`Transparency log key (pin it in clients, auditors and witnesses): ${server.ctx.directory.log.verifierKey}`);
      if (witnesses.keys.length > 0) console.log(`Witnesses: ${witnesses.keys.length}, quorum ${witnesses.quorum}.`);
      if (lawfulAccess && lawfulAccess.trust.config.log.verifierKey !== server.ctx.directory.log.verifierKey)
        console.warn('Warning: the lawful-access trust configuration pins another log key than this server’s: custodians will refuse every request.');
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.app.log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

/** The matcher token from a file, or DOUBLELOCK_MATCHER_TOKEN. */
/** The hub's webhook secret for this member, from a file or the environment; undefined: alerts are not received. */
function hubWebhookSecret(file: string | undefined): string | undefined {
  const secret = file ? readFileSync(file, 'utf8').trim() : process.env.DOUBLELOCK_HUB_WEBHOOK_SECRET;
  if (secret !== undefined && secret.length < 32) throw new Error('the hub webhook secret is too short (the hub gives 64 hex digits)');
  return secret || undefined;
}

export function readToken(file: string | undefined): string {
  const token = file ? readFileSync(file, 'utf8').trim() : process.env.DOUBLELOCK_MATCHER_TOKEN;
  if (!token) throw new Error('the matcher token is missing: pass --matcher-token-file or set DOUBLELOCK_MATCHER_TOKEN');
  return token;
}

/** apps/web/dist wherever the workspace installed the web app (source or compiled CLI alike). */
function defaultWebRoot(): string | undefined {
  try {
    return join(dirname(fileURLToPath(import.meta.resolve('@doublelock/web/package.json'))), 'dist');
  } catch {
    return undefined;
  }
}

/**
 * The witnesses the log accepts and the quorum clients require: the flags, else those of the lawful-access
 * trust configuration (custodians require the same ones), else none. A quorum above the witnesses given,
 * or of 0 with witnesses given, is refused.
 */
export function logWitnesses(keys: string[] | undefined, quorum: number | undefined, trustLog?: { witnesses: string[]; witnessQuorum: number }): { keys: string[]; quorum: number } {
  const chosen = keys ?? trustLog?.witnesses ?? [];
  const k = quorum ?? (keys ? Math.min(1, chosen.length) : (trustLog?.witnessQuorum ?? 0));
  if (k > chosen.length) throw new Error(`--log-witness-quorum ${k} exceeds the ${chosen.length} witness(es) given`);
  if (chosen.length > 0 && k < 1) throw new Error('--log-witness-quorum must be at least 1 when witnesses are given');
  if (trustLog) {
    const missing = trustLog.witnesses.filter((w) => !chosen.includes(w));
    if (missing.length > 0) throw new Error(`the lawful-access trust configuration names witnesses this log would not accept: ${missing.join(', ')}`);
  }
  return { keys: chosen, quorum: k };
}

function readLawfulAccess(path: string) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the lawful-access file ${path}: ${(error as Error).message}`);
  }
  const parsed = lawfulAccessConfigFile.safeParse(json);
  if (!parsed.success) throw new Error(`invalid lawful-access file ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { ...parsed.data, providerSecretKey: fromBase64Url(parsed.data.providerSecretKey) };
}
