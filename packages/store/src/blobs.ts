/** Which encrypted attachment blobs belong to which group (the bytes live in a BlobStore). */
import type { Db } from './db.ts';

export class BlobIndexStore {
  constructor(private readonly db: Db) {}

  async add(groupId: string, hash: string, size: number, uploadedBy: string, now: number): Promise<void> {
    await this.db.run(
      'INSERT INTO blobs (group_id, hash, size, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
      [groupId, hash, size, uploadedBy, now],
    );
  }

  async get(groupId: string, hash: string): Promise<{ size: number } | undefined> {
    const row = await this.db.get<{ size: number }>('SELECT size FROM blobs WHERE group_id = ? AND hash = ?', [groupId, hash]);
    return row && { size: Number(row.size) };
  }
}
