/** Test support for vitest suites: run a suite against both dialects. */
import { inject } from 'vitest';
import type { Db } from './db.ts';
import { openDb } from './open.ts';
import { createPostgresDatabase } from './test-postgres.ts';

export * from './test-postgres.ts';

export type DialectCase = { name: 'sqlite' | 'postgres'; open: () => Promise<Db> };

/** A migrated, empty Db per dialect: SQLite always, PostgreSQL when the run has one. Use with describe.each. */
export function dialectCases(): DialectCase[] {
  const cases: DialectCase[] = [{ name: 'sqlite', open: () => openDb({ sqlitePath: ':memory:' }) }];
  const serverUrl = inject('postgresUrl');
  if (serverUrl) cases.push({ name: 'postgres', open: async () => openDb({ databaseUrl: await createPostgresDatabase(serverUrl) }) });
  return cases;
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/** Polls `read` every 200 ms until `ok` holds; fails after `timeoutMs` naming `what` and the last value. */
export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
