/** Test support: a real server in this process, on a random loopback port, with SQLite in a temp dir. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));

/** `doublelock custodian serve …` as its own process (as deployed); resolves once it listens. */
export function serveCustodian(args: string[]): Promise<{ close(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, 'custodian', 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const close = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`custodian did not start: ${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('is running at')) {
        clearTimeout(timer);
        resolve({ close });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`custodian exited with ${code}: ${output}`)));
  });
}
