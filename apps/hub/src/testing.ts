/** Test support: a real hub in this process, on a random loopback port, with SQLite in a temp dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type RunningHub } from './app.ts';
import type { HubConfig } from './config.ts';

export async function startTestHub(overrides: Partial<HubConfig> = {}): Promise<RunningHub> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'doublelock-hub-'));
  const hub = await startHub({ port: 0, dataDir, logLevel: 'warn', ...overrides });
  return {
    ...hub,
    close: async () => {
      await hub.close();
      if (!overrides.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
