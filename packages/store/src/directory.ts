/** Bookkeeping for key transparency: the outbox of directory entries, and each account's latest leaf. */
import type { Db } from './db.ts';
import { asBytes, placeholders } from './sql.ts';

export interface PendingDirectoryEntry {
  id: number;
  username: string;
  entry: Uint8Array;
}

export class DirectoryStore {
  constructor(private readonly db: Db) {}

  async pending(limit = 1000): Promise<PendingDirectoryEntry[]> {
    const rows = await this.db.all<{ id: number; username: string; entry: Uint8Array }>('SELECT id, username, entry FROM directory_outbox ORDER BY id LIMIT ?', [limit]);
    return rows.map((r) => ({ id: Number(r.id), username: r.username, entry: asBytes(r.entry) }));
  }

  /** Records that `entries` were appended to the log from `firstIndex` on, in order. */
  async published(entries: PendingDirectoryEntry[], firstIndex: number): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const [i, e] of entries.entries()) {
        await tx.run(
          `INSERT INTO directory_leaves (username, leaf_index, entry) VALUES (?, ?, ?)
           ON CONFLICT (username) DO UPDATE SET leaf_index = excluded.leaf_index, entry = excluded.entry
           WHERE directory_leaves.leaf_index < excluded.leaf_index`,
          [e.username, firstIndex + i, e.entry],
        );
      }
      await tx.run(`DELETE FROM directory_outbox WHERE id IN (${placeholders(entries.length)})`, entries.map((e) => e.id));
    });
  }

  async leaf(username: string): Promise<{ leafIndex: number; entry: Uint8Array } | undefined> {
    const row = await this.db.get<{ leaf_index: number; entry: Uint8Array }>('SELECT leaf_index, entry FROM directory_leaves WHERE username = ?', [username]);
    return row && { leafIndex: Number(row.leaf_index), entry: asBytes(row.entry) };
  }
}
