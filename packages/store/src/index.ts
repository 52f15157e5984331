export type { Db, Dialect, SqlRunner, SqlValue } from './db.ts';
export { SqliteDb } from './sqlite.ts';
export { PostgresDb } from './postgres.ts';
export { migrate, translate, MIGRATIONS_DIR } from './migrate.ts';
export { openDb, type OpenOptions } from './open.ts';
