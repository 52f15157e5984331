/**
 * The SQL seam every store is written against: one SQL text (with `?` placeholders and two dialect
 * tokens, see migrate.ts) runs on SQLite (embedded default) and PostgreSQL (scale-out). Domain stores
 * (accounts, mailbox, log, banks, warrants…) are written once on top of this, so the two implementations
 * cannot drift apart; the contract tests run every domain store on both.
 */
export type SqlValue = string | number | bigint | Uint8Array | null;

export type Dialect = 'sqlite' | 'postgres';

export interface SqlRunner {
  readonly dialect: Dialect;
  /** All rows. Integers come back as JS numbers, bytes as Uint8Array (Buffer), on both dialects. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; `changes` is the number of rows inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface Db extends SqlRunner {
  /**
   * Runs `fn` in one transaction: all of its statements commit together or none do. On PostgreSQL
   * it runs at SERIALIZABLE isolation, retried on serialization failures; on SQLite transactions are
   * serialised by the driver (one writer at a time).
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
