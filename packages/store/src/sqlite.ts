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

/**
 * better-sqlite3 is synchronous, but a transaction callback awaits. A promise-chain lock makes every
 * transaction exclusive and keeps statements outside a transaction from slipping into one.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly #runner: SqliteRunner;
  #lock: Promise<unknown> = Promise.resolve();
  #inTransaction = false;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const raw = new Database(path);
    raw.pragma('journal_mode = WAL');
    // FULL: an acknowledged send survives power loss and SIGKILL alike.
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    this.#runner = new SqliteRunner(raw);
  }

  get raw(): Database.Database {
    return this.#runner.raw;
  }

  #whenIdle<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.#inTransaction) return fn();
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.#whenIdle(() => this.#runner.all<T>(sql, params));
  }
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.#whenIdle(() => this.#runner.get<T>(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.#whenIdle(() => this.#runner.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const body = async (): Promise<T> => {
      this.#inTransaction = true;
      this.#runner.raw.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#runner);
        this.#runner.raw.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#runner.raw.inTransaction) this.#runner.raw.exec('ROLLBACK');
        throw error;
      } finally {
        this.#inTransaction = false;
      }
    };
    const next = this.#lock.then(body, body);
    this.#lock = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.#lock;
    this.#runner.raw.close();
  }
}
