/** Test support: a real server in this process, on a random loopback port, with SQLite in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer } from './app.ts';
import type { ServerConfig } from './config.ts';

export async function startTestServer(overrides: Partial<ServerConfig> = {}, options: { now?: () => number } = {}): Promise<RunningServer> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'doublelock-test-'));
  const server = await startServer(
    { port: 0, dataDir, logLevel: 'warn', rateLimit: { register: 10_000, auth: 10_000 }, storageReserveBytes: 1024 * 1024, ...overrides },
    options,
  );
  return {
    ...server,
    close: async () => {
      await server.close();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
