/**
 * The SQL seam every store is written against: one SQL text (with `?` placeholders and two dialect
 * tokens, see migrate.ts) runs on SQLite (embedded default) and PostgreSQL (scale-out). Domain stores
 * (accounts, mailbox, log, banks, warrants…) are written once on top of this, so the two implementations
 * cannot drift apart; the contract tests run every domain store on both.
 */
export type SqlValue = string | number | bigint | Uint8Array | null | SqlArray;

/** An array parameter (`= ANY(CAST(? AS TEXT[]))`, `unnest(...)`): PostgreSQL only, for statements of fixed text. */
export type SqlArray = ReadonlyArray<string | number | Uint8Array | null>;

export type Dialect = 'sqlite' | 'postgres';

export interface SqlRunner {
  readonly dialect: Dialect;
  /** All rows. Integers come back as JS numbers, bytes as Uint8Array (Buffer), on both dialects. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; `changes` is the number of rows inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

export interface TransactionOptions {
  readCommitted?: boolean;
}

export interface Db extends SqlRunner {
  /**
   * Runs `fn` in one transaction: all of its statements commit together or none do. On SQLite
   * transactions are serialised (one writer at a time). On PostgreSQL they run at SERIALIZABLE
   * isolation, retried on serialization failures, unless `readCommitted` is asked for: hot paths whose
   * correctness rests on row locks alone (e.g. the group row taken first by every send) use it.
   */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
