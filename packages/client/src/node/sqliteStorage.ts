/** Node backend: one SQLite file (better-sqlite3, WAL); a batch is one transaction. */
import Database from 'better-sqlite3';
import type { Storage, StorageWrite } from '../storage/storage.ts';

export class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private readonly selectOne: Database.Statement<[string], { value: Buffer }>;
  private readonly selectKeys: Database.Statement<[string, string], { key: string }>;
  private readonly apply: (writes: StorageWrite[]) => void;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
    this.selectOne = this.db.prepare('SELECT value FROM kv WHERE key = ?');
    this.selectKeys = this.db.prepare('SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key');
    const put = this.db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    const del = this.db.prepare('DELETE FROM kv WHERE key = ?');
    this.apply = this.db.transaction((writes: StorageWrite[]) => {
      for (const w of writes) {
        if (w.value === undefined) del.run(w.key);
        else put.run(w.key, Buffer.from(w.value.buffer, w.value.byteOffset, w.value.byteLength));
      }
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const row = this.selectOne.get(key);
    return row ? new Uint8Array(row.value) : undefined;
  }

  async keys(prefix: string): Promise<string[]> {
    return this.selectKeys.all(prefix, prefix + '\uffff').map((r) => r.key);
  }

  async write(writes: StorageWrite[]): Promise<void> {
    this.apply(writes);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
