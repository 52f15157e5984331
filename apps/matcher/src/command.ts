/**
 * `doublelock matcher serve`: the matcher role in its own process (see service.ts). Run several over one
 * store and give the server all their URLs (`doublelock serve --matcher URL,URL`); they share its load.
 * The token (the internal API's shared secret) comes from --token-file or DOUBLELOCK_MATCHER_TOKEN.
 */
import type { Command } from 'commander';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hmaRoutes } from './hma.ts';
import { hubSyncPlugin } from './hubSync.ts';
import { matcherPlugins } from './plugins.ts';
import { MIN_TOKEN_LENGTH, startMatcher } from './service.ts';
import { integerOption } from '@doublelock/protocol/cliOptions';

export function register(program: Command): void {
  const matcher = program.command('matcher').description('the matcher role (hash banks in memory) in its own process');
  matcher
    .command('serve')
    .description('load every bank and answer match queries from the server (internal API)')
    .option('--data <dir>', 'data folder of the SQLite database', process.env.DOUBLELOCK_DATA ?? './data')
    .option('--database-url <url>', 'use PostgreSQL at this URL instead of SQLite', process.env.DATABASE_URL)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', integerOption('--port'), 8070)
    .option('--token-file <file>', 'file holding the internal API token (or DOUBLELOCK_MATCHER_TOKEN)')
    .option('--index-file <file>', 'keep the built PDQ index in this file and reopen it at the next start while current (default <data>/matcher-pdq.idx; "none": rebuild every start)')
    .option('--refresh-ms <n>', 'how often to pick up new bank signals', integerOption('--refresh-ms'), 2000)
    .option('--log-level <level>', 'pino log level', 'warn')
    .option('--api-key-file <file>', 'serve the HMA-compatible public API (/h, /m, /c) to holders of this key (or DOUBLELOCK_MATCHER_API_KEY)')
    .option('--hub-url <url>', 'sync banks from this hash-sharing hub (into hub-* banks)', process.env.DOUBLELOCK_HUB_URL)
    .option('--hub-key <key>', 'the member API key at the hub', process.env.DOUBLELOCK_HUB_KEY)
    .option('--hub-log-key <vkey>', "the hub log's verifier key to pin (default: pinned at the first sync)", process.env.DOUBLELOCK_HUB_LOG_KEY)
    .option('--hub-sync-seconds <n>', 'how often the hub feed is synced', integerOption('--hub-sync-seconds'), 30)
    .option('--hub-webhook-secret-file <file>', "file holding the webhook secret the hub gave this member (or DOUBLELOCK_HUB_WEBHOOK_SECRET): the hub's signed alerts at POST /v1/hub/alerts then sync at once")
    .action(async (options: { data: string; databaseUrl?: string; host: string; port: number; tokenFile?: string; indexFile?: string; refreshMs: number; logLevel: string; apiKeyFile?: string; hubUrl?: string; hubKey?: string; hubLogKey?: string; hubSyncSeconds: number; hubWebhookSecretFile?: string }) => {
      const token = options.tokenFile ? readFileSync(options.tokenFile, 'utf8').trim() : (process.env.DOUBLELOCK_MATCHER_TOKEN ?? '');
      if (token.length < MIN_TOKEN_LENGTH) throw new Error(`the matcher token (--token-file or DOUBLELOCK_MATCHER_TOKEN) must be at least ${MIN_TOKEN_LENGTH} characters`);
      const apiKey = options.apiKeyFile ? readFileSync(options.apiKeyFile, 'utf8').trim() : process.env.DOUBLELOCK_MATCHER_API_KEY;
      if (apiKey !== undefined && apiKey.length < MIN_TOKEN_LENGTH) throw new Error(`the HMA API key (--api-key-file or DOUBLELOCK_MATCHER_API_KEY) must be at least ${MIN_TOKEN_LENGTH} characters`);
      if (options.indexFile !== 'none' && !options.indexFile) mkdirSync(options.data, { recursive: true });
      if (options.hubUrl && !options.hubKey) throw new Error('--hub-url needs --hub-key (the member API key at the hub)');
      const webhookSecret = options.hubWebhookSecretFile ? readFileSync(options.hubWebhookSecretFile, 'utf8').trim() : process.env.DOUBLELOCK_HUB_WEBHOOK_SECRET;
      if (webhookSecret !== undefined && webhookSecret.length < 32) throw new Error('the hub webhook secret is too short (the hub gives 64 hex digits)');
      if (webhookSecret !== undefined && !options.hubUrl) throw new Error('a hub webhook secret needs --hub-url (alerts start a sync from that hub)');
      const plugins = [
        ...matcherPlugins,
        ...(apiKey ? [hmaRoutes({ apiKey })] : []),
        ...(options.hubUrl ? [hubSyncPlugin({ url: options.hubUrl, key: options.hubKey!, logKey: options.hubLogKey, syncMs: Math.max(1, options.hubSyncSeconds) * 1000, apiKey, webhookSecret })] : []),
      ];
      const started = performance.now();
      const running = await startMatcher({
        host: options.host,
        port: options.port,
        dataDir: options.data,
        databaseUrl: options.databaseUrl,
        token,
        refreshMs: options.refreshMs,
        ...(options.indexFile !== 'none' && { indexFile: options.indexFile ?? join(options.data, 'matcher-pdq.idx') }),
        logLevel: options.logLevel,
        plugins,
      });
      const status = running.ctx.status();
      // one line tests and supervisors read: where it listens, what it loaded
      console.log(`Matcher is running at ${running.url} (${status.signals} signals from ${status.banks.length} banks in ${((performance.now() - started) / 1000).toFixed(2)} s). Ctrl-C stops it.`);
      const stop = () => void running.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
