/** PostgreSQL implementation of Db on node-postgres; `?` placeholders become `$n`. */
import pg from 'pg';
import type { Db, SqlRunner, SqlValue, TransactionOptions } from './db.ts';

// BIGINT (int8) and COUNT(*) come back as strings by default; the store keeps values below 2^53.
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const placeholderCache = new Map<string, string>();
export function toPostgresPlaceholders(sql: string): string {
  let converted = placeholderCache.get(sql);
  if (converted === undefined) {
    let n = 0;
    converted = sql.replace(/\?/g, () => `$${++n}`);
    placeholderCache.set(sql, converted);
  }
  return converted;
}

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

class PostgresRunner implements SqlRunner {
  readonly dialect = 'postgres' as const;
  constructor(private readonly client: Queryable) {}

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.client.query(toPostgresPlaceholders(sql), params as unknown[]);
    return result.rows as T[];
  }
  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }
  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const result = await this.client.query(toPostgresPlaceholders(sql), params as unknown[]);
    return { changes: result.rowCount ?? 0 };
  }
}

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

export class PostgresDb extends PostgresRunner implements Db {
  readonly pool: pg.Pool;

  constructor(connectionString: string, poolSize = 30) {
    const pool = new pg.Pool({ connectionString, max: poolSize, types });
    // An idle connection lost (PostgreSQL restarted, a network blip) is dropped by the pool, and the next
    // query opens a new one; without a listener the 'error' event would end the process.
    pool.on('error', () => undefined);
    super(pool);
    this.pool = pool;
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      // A connection lost while checked out (between two statements of the transaction) is reported as
      // an 'error' event on the client: without this listener it would end the process. The statement
      // in progress fails on its own; the broken client is destroyed on release instead of reused.
      let lost: unknown;
      const onLost = (error: unknown) => (lost = error);
      client.on('error', onLost);
      try {
        await client.query(options.readCommitted ? 'BEGIN ISOLATION LEVEL READ COMMITTED' : 'BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await fn(new PostgresRunner(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 20) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
          continue;
        }
        throw error;
      } finally {
        client.off('error', onLost);
        client.release(lost instanceof Error ? lost : undefined);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
