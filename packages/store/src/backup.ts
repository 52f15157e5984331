/**
 * Backups of a running deployment, taken while it serves:
 * - SQLite: SQLite's online backup API (better-sqlite3 `backup()`, https://sqlite.org/backup.html) copies
 *   a consistent snapshot of the database page by page from a second connection; writers go on meanwhile
 *   (WAL). Every transaction committed before the backup started is in it.
 * - PostgreSQL: `pg_dump --format=custom` (one consistent snapshot, https://www.postgresql.org/docs/current/app-pgdump.html),
 *   restored with `pg_restore` into an empty database.
 * The rest of the data folder (blobs, keys) is copied after the database, so every blob the snapshot
 * can refer to is in the backup. `storage-reserve` and SQLite's -wal/-shm files are left out.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SQLITE_FILE = 'doublelock.sqlite';
export const POSTGRES_DUMP = 'postgres.dump';
const SKIPPED = new Set([SQLITE_FILE, `${SQLITE_FILE}-wal`, `${SQLITE_FILE}-shm`, `${SQLITE_FILE}-journal`, 'storage-reserve']);

/** Where PostgreSQL's client programs are: PG_BIN, Debian's versioned folders (newest first), else PATH. */
export function postgresTool(name: 'pg_dump' | 'pg_restore'): string {
  const dirs = [process.env.PG_BIN];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) dirs.push(join(root, v, 'bin'));
  const dir = dirs.find((d) => d && existsSync(join(d, name)));
  return dir ? join(dir, name) : name;
}

/** Backs up a data folder (and its PostgreSQL database, when given) into `out`, which must not exist yet or be empty. */
export async function backup(options: { dataDir: string; out: string; databaseUrl?: string | undefined; blobDir?: string | undefined }): Promise<{ files: number }> {
  mkdirSync(options.out, { recursive: true });
  if (readdirSync(options.out).length > 0) throw new Error(`${options.out} is not empty: back up into a new folder`);
  if (options.databaseUrl) {
    await run(postgresTool('pg_dump'), ['--format=custom', '--no-owner', '--file', join(options.out, POSTGRES_DUMP), options.databaseUrl]);
  } else {
    const source = join(options.dataDir, SQLITE_FILE);
    if (!existsSync(source)) throw new Error(`no database at ${source}`);
    const db = new Database(source, { readonly: true, fileMustExist: true });
    try {
      await db.backup(join(options.out, SQLITE_FILE));
    } finally {
      db.close();
    }
  }
  let files = 0;
  if (existsSync(options.dataDir)) {
    for (const entry of readdirSync(options.dataDir)) {
      if (SKIPPED.has(entry)) continue;
      cpSync(join(options.dataDir, entry), join(options.out, entry), { recursive: true, preserveTimestamps: true });
      files++;
    }
  }
  if (options.blobDir) {
    cpSync(options.blobDir, join(options.out, 'blobs'), { recursive: true, preserveTimestamps: true });
    files++;
  }
  return { files };
}

/**
 * Restores a backup into a new data folder (which must not exist yet or be empty), and its database dump
 * into an empty PostgreSQL database when the backup has one. Blobs go to `blobDir` if given, else stay in
 * <dataDir>/blobs.
 */
export async function restore(options: { from: string; dataDir: string; databaseUrl?: string | undefined; blobDir?: string | undefined }): Promise<void> {
  const dump = join(options.from, POSTGRES_DUMP);
  const hasDump = existsSync(dump);
  if (hasDump && !options.databaseUrl) throw new Error('this backup is of a PostgreSQL database: give --database-url of an empty database to restore it into');
  if (!hasDump && !existsSync(join(options.from, SQLITE_FILE))) throw new Error(`${options.from} holds no backup (no ${SQLITE_FILE} or ${POSTGRES_DUMP})`);
  mkdirSync(options.dataDir, { recursive: true });
  if (readdirSync(options.dataDir).length > 0) throw new Error(`${options.dataDir} is not empty: restore into a new folder`);
  if (hasDump) await run(postgresTool('pg_restore'), ['--no-owner', '--exit-on-error', '--dbname', options.databaseUrl!, dump]);
  for (const entry of readdirSync(options.from)) {
    if (entry === POSTGRES_DUMP) continue;
    const target = entry === 'blobs' && options.blobDir ? options.blobDir : join(options.dataDir, entry);
    cpSync(join(options.from, entry), target, { recursive: true, preserveTimestamps: true });
  }
}
