/**
 * Migrations: numbered `.sql` files in packages/store/migrations, shared by both dialects. Ranges by
 * domain: 0001–0099 core (accounts, keys, groups, mailbox, blobs), 0100–0199 log, 0200–0299 moderation,
 * 0300–0399 lawful access, 0500–0599 notice and action (cases), 0600–0699 the hash-sharing hub (0600 in
 * packages/hub/migrations, the hub's own database; 0650 here: a platform's sync state). Two tokens cover the dialect differences:
 *   {{blob}}    BLOB on SQLite, BYTEA on PostgreSQL
 *   {{serial}}  INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, BIGSERIAL PRIMARY KEY on PostgreSQL
 * Everything else is written in the common subset (BIGINT, TEXT, ON CONFLICT, RETURNING). A file named
 * `NNNN_name.postgres.sql` (or `.sqlite.sql`) holds what only one dialect has, e.g. table partitioning
 * (0730: the mailbox partitioned by device), and is applied on that dialect only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db, Dialect } from './db.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

export function translate(sql: string, dialect: Dialect): string {
  return sql
    .replaceAll('{{blob}}', dialect === 'sqlite' ? 'BLOB' : 'BYTEA')
    .replaceAll('{{serial}}', dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY');
}

function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

/** Whether a migration file applies to this dialect (`.postgres.sql` / `.sqlite.sql`: that one only). */
export function appliesTo(file: string, dialect: Dialect): boolean {
  const only = /\.(postgres|sqlite)\.sql$/.exec(file)?.[1];
  return only === undefined || only === dialect;
}

export async function migrate(db: Db, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => /^\d{4}_.+\.sql$/.test(f) && appliesTo(f, db.dialect)).sort();
  await db.run('CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)');
  const applied: string[] = [];
  for (const file of files) {
    const statements = splitStatements(translate(readFileSync(dir + file, 'utf8'), db.dialect));
    const done = await db.transaction(async (tx) => {
      // Several PostgreSQL nodes may start at once: the advisory lock makes one of them migrate.
      if (tx.dialect === 'postgres') await tx.run('SELECT pg_advisory_xact_lock(7342001)');
      if (await tx.get('SELECT name FROM schema_migrations WHERE name = ?', [file])) return false;
      for (const statement of statements) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)', [file, Date.now()]);
      return true;
    });
    if (done) applied.push(file);
  }
  return applied;
}
