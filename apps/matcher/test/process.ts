/** Test support: `doublelock matcher serve` as its own process. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveProcess } from '../../cli/test/serveProcess.ts';

/** Starts the matcher with these arguments and the internal token; resolves with its URL once it says it is running. */
export const serveMatcher = (args: string[], token: string): Promise<{ child: ChildProcess; url: string }> =>
  serveProcess(['matcher', 'serve', ...args], { env: { DOUBLELOCK_MATCHER_TOKEN: token } });

/** The HMA routes' API key of serveHubMatcher. */
export const HMA_API_KEY = 'hma-api-key-0123456789abcdef';

/**
 * The matcher as a platform outside Doublelock runs it: HMA routes behind HMA_API_KEY, its banks synced
 * from a hub as the member whose key is `hubKey`; with `webhookSecret`, the hub's signed alerts sync at once.
 */
export async function serveHubMatcher(options: { hubUrl: string; hubKey: string; syncSeconds: number; refreshMs: number; webhookSecret?: string }): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dl-hub-matcher-'));
  writeFileSync(join(dir, 'api.key'), HMA_API_KEY);
  const args = ['--data', join(dir, 'data'), '--port', '0', '--refresh-ms', String(options.refreshMs), '--api-key-file', join(dir, 'api.key')];
  args.push('--hub-url', options.hubUrl, '--hub-key', options.hubKey, '--hub-sync-seconds', String(options.syncSeconds));
  if (options.webhookSecret) {
    writeFileSync(join(dir, 'webhook.secret'), options.webhookSecret);
    args.push('--hub-webhook-secret-file', join(dir, 'webhook.secret'));
  }
  const { child, url } = await serveMatcher(args, 'internal-token-0123456789');
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
