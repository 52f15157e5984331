import { join } from 'node:path';
import type { Db } from './db.ts';
import { migrate } from './migrate.ts';
import { PostgresDb } from './postgres.ts';
import { SqliteDb } from './sqlite.ts';

export interface OpenOptions {
  /** Data folder for the embedded default (SQLite file lives at <dataDir>/doublelock.sqlite). */
  dataDir?: string;
  /** postgres://… — use PostgreSQL instead of SQLite. */
  databaseUrl?: string;
  /** ':memory:' or a file path; overrides dataDir (tests). */
  sqlitePath?: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openDb(options: OpenOptions): Promise<Db> {
  const db: Db = options.databaseUrl
    ? new PostgresDb(options.databaseUrl)
    : new SqliteDb(options.sqlitePath ?? join(options.dataDir ?? './data', 'doublelock.sqlite'));
  await migrate(db);
  return db;
}
