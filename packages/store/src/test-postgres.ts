/**
 * Test support: a real PostgreSQL started on loopback in a temp directory. Where PostgreSQL is not installed the suite skips loudly; with CI=true a
 * missing PostgreSQL is a failure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export function findPostgresBin(): string | undefined {
  const candidates = [process.env.PG_BIN];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort((a, b) => Number(b) - Number(a))) candidates.push(join(root, version, 'bin'));
  }
  for (const dir of ['/usr/local/bin', '/usr/bin']) candidates.push(dir);
  return candidates.find((dir) => dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
}

/** Throws (CI) or warns loudly and returns false (local) when a required binary is missing. */
export function requireBinary(name: string, present: boolean): boolean {
  if (present) return true;
  const message = `*** ${name} is not installed: tests that need it are SKIPPED. Install it (see .ci/run) to run them. ***`;
  if (process.env.CI === 'true') throw new Error(`${name} is required when CI=true but was not found`);
  console.warn(`\n${'*'.repeat(message.length)}\n${message}\n${'*'.repeat(message.length)}\n`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningPostgres {
  url: string;
  /** A fresh, empty database on the same server. */
  createDatabase(name?: string): Promise<string>;
  /** Stops PostgreSQL (fast shutdown: open connections are cut) and starts it again on the same data and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  // PostgreSQL refuses to run as root: use the `postgres` account the Debian package creates, else nobody.
  for (const user of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', user]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', user]).toString().trim());
      return { uid, gid };
    } catch {
      /* try the next one */
    }
  }
  throw new Error('running as root and found no unprivileged user to run PostgreSQL as');
}

let databaseCounter = 0;

/**
 * `durable`: fsync, synchronous commits and full-page writes on, as production runs (benchmarks); default off (tests).
 * `settings`: further server settings (`-c name=value`), e.g. a benchmark's profiling extension.
 */
export async function startPostgres(options: { durable?: boolean; settings?: Record<string, string> } = {}): Promise<RunningPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL (initdb, postgres) not found');
  const dir = mkdtempSync(join(tmpdir(), 'doublelock-pg-'));
  const user = postgresUser();
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], {
    ...asUser,
    stdio: 'ignore',
  });
  const port = await freePort();
  const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']), '-c', 'max_connections=200', ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(join(bin, 'postgres'), args, { ...asUser, stdio: 'ignore' });
    for (let i = 0; ; i++) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return child;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (i > 200 || child.exitCode !== null) throw new Error(`PostgreSQL did not start: ${String(error)}`);
        await sleep(50);
      }
    }
  };
  const halt = async (child: ChildProcess) => {
    child.kill('SIGINT');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
  };
  let child = await launch();
  return {
    url,
    async createDatabase(name = `t${process.pid}_${++databaseCounter}`) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await halt(child);
      child = await launch();
    },
    async stop() {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For suites that must hold on both stores: yields an opener per dialect. The PostgreSQL one creates a
 * fresh database on the run's server (vitest global setup); it is absent when PostgreSQL is not installed
 * (the global setup already warned, or failed under CI=true).
 */
export async function createPostgresDatabase(serverUrl: string, name = `t${process.pid}_${++databaseCounter}_${Date.now() % 100000}`): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return serverUrl.replace(/\/[^/]*$/, `/${name}`);
}
