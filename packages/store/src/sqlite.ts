/** SQLite implementation of Db on better-sqlite3 (synchronous driver behind an async, serialised seam). */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db, SqlRunner, SqlValue } from './db.ts';

type Statement = Database.Statement<unknown[], unknown>;

class SqliteRunner implements SqlRunner {
  readonly dialect = 'sqlite' as const;
  readonly #statements = new Map<string, Statement>();
  constructor(readonly raw: Database.Database) {}

  prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  allSync<T>(sql: string, params: readonly SqlValue[] = []): T[] {
    return this.prepare(sql).all(...params) as T[];
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.allSync<T>(sql, params);
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.prepare(sql).get(...params) as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const statement = this.prepare(sql);
    if (!statement.reader) return { changes: statement.run(...params).changes };
    statement.all(...params); // e.g. INSERT … RETURNING used as a plain statement
    return { changes: 1 };
  }
}

type Job = { fn: (tx: SqlRunner) => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };

const MAX_BATCH = 512;

/**
 * better-sqlite3 is synchronous, but a transaction callback awaits, so transactions are queued and run
 * one at a time. Group commit: transactions that queue up while one runs are run together in one
 * SQLite transaction, each inside its own SAVEPOINT (a failing one rolls back alone), so many writes
 * share one fsync. Each caller's promise settles only after the shared COMMIT, so an acknowledged write
 * is durable. A statement outside a transaction is a transaction of its own.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly #runner: SqliteRunner;
  #queue: Job[] = [];
  #running: Promise<void> | undefined;
  #reader: SqliteRunner | undefined;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    // FULL: an acknowledged send survives power loss and SIGKILL alike (group commit pays for it).
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    // 64 MiB of page cache for the writer (SQLite's default is 2 MiB): a large write into a big random
    // index (a bank sync of a million signals) keeps its B-tree pages in memory instead of re-reading them
    raw.pragma('cache_size = -65536');
    this.#runner = new SqliteRunner(raw);
  }

  get raw(): Database.Database {
    return this.#runner.raw;
  }

  /** Read-only statements outside a transaction use a second connection: WAL readers see committed data only. */
  #readerFor(sql: string): SqliteRunner | undefined {
    if (this.path === ':memory:') return undefined;
    this.#reader ??= new SqliteRunner(new Database(this.path, { readonly: true }));
    return this.#reader.prepare(sql).readonly ? this.#reader : undefined;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    const reader = this.#readerFor(sql);
    return reader ? reader.all<T>(sql, params) : this.transaction((tx) => tx.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const reader = this.#readerFor(sql);
    return reader ? reader.get<T>(sql, params) : this.transaction((tx) => tx.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) this.#running = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Let callers that are about to queue (same tick) join this batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_BATCH);
      const raw = this.#runner.raw;
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        raw.exec('BEGIN IMMEDIATE');
        for (const job of batch) {
          raw.exec('SAVEPOINT job');
          try {
            outcomes.push({ ok: true, value: await job.fn(this.#runner) });
            raw.exec('RELEASE job');
          } catch (error) {
            raw.exec('ROLLBACK TO job');
            raw.exec('RELEASE job');
            outcomes.push({ ok: false, error });
          }
        }
        raw.exec('COMMIT');
      } catch (error) {
        if (raw.inTransaction) raw.exec('ROLLBACK');
        for (const job of batch) job.reject(error);
        continue;
      }
      batch.forEach((job, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    }
    this.#running = undefined;
  }

  async close(): Promise<void> {
    while (this.#running) await this.#running;
    this.#reader?.raw.close();
    this.#runner.raw.close();
  }
}
