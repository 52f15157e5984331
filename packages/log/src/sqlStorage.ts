/**
 * LogStorage on the store's SQL seam (SQLite and PostgreSQL, tables from migrations 0100_log.sql and
 * 0260_log_leaf_nodes.sql). Appends are guarded by a compare-and-set on log_state.size, so several server
 * nodes can share a log: the loser of a race gets AppendConflict and retries on the new tree.
 *
 * Interior nodes are stored in the row of the leaf that completes them (log_leaves.nodes, levels 1..t in
 * order), so an append is one row per entry, as a bare insert of the entries would be. Logs written before
 * that have their older nodes in log_nodes (keyed by in-order position), read when a leaf row has none.
 */
import type { Db, SqlRunner, SqlValue } from '@doublelock/store';
import type { NodeId } from './merkle.ts';
import { nodeKey } from './merkle.ts';
import { AppendConflict, type AppendBatch, type LogStorage, type StoredCheckpoint, type StoredCosignature } from './storage.ts';

/** In-order position of node (level, index): unique per node, and below 2^53 for any realistic log. */
export const nodePosition = (level: number, index: number): number => index * 2 ** (level + 1) + 2 ** level - 1;

const ROWS_PER_INSERT = 500;
const IDS_PER_SELECT = 400;

const bytes = (value: unknown): Uint8Array => {
  if (!(value instanceof Uint8Array)) throw new TypeError('expected bytes from the database');
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
};

/** Multi-row INSERTs of up to ROWS_PER_INSERT rows; `row(i, params)` pushes row i's values. */
async function insertRows(tx: SqlRunner, head: string, width: number, count: number, row: (i: number, params: SqlValue[]) => void): Promise<void> {
  for (let i = 0; i < count; i += ROWS_PER_INSERT) {
    const n = Math.min(ROWS_PER_INSERT, count - i);
    const params: SqlValue[] = [];
    for (let k = i; k < i + n; k++) row(k, params);
    await tx.run(insertStatement(head, width, n), params);
  }
}

const statements = new Map<string, string>();
/** `head VALUES (?, …), …` for n rows, the same string object each time (the driver keys prepared statements by it). */
function insertStatement(head: string, width: number, n: number): string {
  const key = `${head}|${width}|${n}`;
  let sql = statements.get(key);
  if (sql === undefined) {
    const tuple = `(${Array.from({ length: width }, () => '?').join(', ')})`;
    sql = `${head} VALUES ${Array.from({ length: n }, () => tuple).join(', ')}`;
    if (statements.size < 256) statements.set(key, sql);
  }
  return sql;
}

const HASH_BYTES = 32;
/** The leaf whose append completes node (level, index): the last leaf it covers. */
const completingLeaf = (id: NodeId): number => (id.index + 1) * 2 ** id.level - 1;

type CheckpointRow = { size: number; root_hash: Uint8Array; note: string };
const toCheckpoint = (row: CheckpointRow): StoredCheckpoint => ({ size: Number(row.size), rootHash: bytes(row.root_hash), note: row.note });

export class SqlLogStorage implements LogStorage {
  private constructor(
    readonly db: Db,
    readonly logId: string,
  ) {}

  /** Opens (creating if needed) the log named `logId` in a migrated database. */
  static async open(db: Db, logId: string): Promise<SqlLogStorage> {
    await db.run('INSERT INTO log_state (log_id, size) VALUES (?, 0) ON CONFLICT (log_id) DO NOTHING', [logId]);
    return new SqlLogStorage(db, logId);
  }

  async size(): Promise<number> {
    const row = await this.db.get<{ size: number }>('SELECT size FROM log_state WHERE log_id = ?', [this.logId]);
    if (!row) throw new Error(`log ${this.logId} does not exist`);
    return Number(row.size);
  }

  async append(batch: AppendBatch): Promise<void> {
    const { start, count, chunks } = batch;
    await this.db.transaction(
      async (tx) => {
        const updated = await tx.run('UPDATE log_state SET size = ? WHERE log_id = ? AND size = ?', [start + count, this.logId, start]);
        if (updated.changes !== 1) {
          const row = await tx.get<{ size: number }>('SELECT size FROM log_state WHERE log_id = ?', [this.logId]);
          throw new AppendConflict(start, Number(row?.size ?? -1));
        }
        let written = 0;
        for await (const { entries, leafHashes, completed } of chunks) {
          if (entries.length !== leafHashes.length || entries.length !== completed.length) throw new Error('one leaf hash and one node blob per entry');
          const at = start + written;
          await insertRows(tx, 'INSERT INTO log_leaves (log_id, idx, data, leaf_hash, nodes)', 5, entries.length, (i, params) =>
            params.push(this.logId, at + i, entries[i]!, leafHashes[i]!, completed[i] ?? null),
          );
          written += entries.length;
        }
        if (written !== count) throw new Error(`append of ${count} entries was given ${written}`);
      },
      { readCommitted: true },
    );
  }

  async nodes(ids: readonly NodeId[]): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    const leaves = ids.filter((id) => id.level === 0).map((id) => id.index);
    const interior = new Map(ids.filter((id) => id.level > 0).map((id) => [nodePosition(id.level, id.index), id]));
    for (let i = 0; i < leaves.length; i += IDS_PER_SELECT) {
      const chunk = leaves.slice(i, i + IDS_PER_SELECT);
      const rows = await this.db.all<{ idx: number; leaf_hash: Uint8Array }>(
        `SELECT idx, leaf_hash FROM log_leaves WHERE log_id = ? AND idx IN (${chunk.map(() => '?').join(', ')})`,
        [this.logId, ...chunk],
      );
      for (const row of rows) found.set(nodeKey(0, Number(row.idx)), bytes(row.leaf_hash));
    }
    // interior nodes: from the rows of the leaves that completed them …
    const byLeaf = new Map<number, NodeId[]>();
    for (const id of interior.values()) {
      const leaf = completingLeaf(id);
      const list = byLeaf.get(leaf);
      if (list) list.push(id);
      else byLeaf.set(leaf, [id]);
    }
    const completers = [...byLeaf.keys()];
    const older: NodeId[] = [];
    for (let i = 0; i < completers.length; i += IDS_PER_SELECT) {
      const chunk = completers.slice(i, i + IDS_PER_SELECT);
      const rows = await this.db.all<{ idx: number; nodes: Uint8Array | null }>(
        `SELECT idx, nodes FROM log_leaves WHERE log_id = ? AND idx IN (${chunk.map(() => '?').join(', ')})`,
        [this.logId, ...chunk],
      );
      const stored = new Map(rows.map((row) => [Number(row.idx), row.nodes === null ? null : bytes(row.nodes)]));
      for (const leaf of chunk) {
        const blob = stored.get(leaf);
        for (const id of byLeaf.get(leaf)!) {
          if (blob && blob.length >= id.level * HASH_BYTES) found.set(nodeKey(id.level, id.index), blob.subarray((id.level - 1) * HASH_BYTES, id.level * HASH_BYTES));
          else older.push(id);
        }
      }
    }
    // … or, for nodes written before 0260_log_leaf_nodes, from log_nodes
    const positions = older.map((id) => nodePosition(id.level, id.index));
    for (let i = 0; i < positions.length; i += IDS_PER_SELECT) {
      const chunk = positions.slice(i, i + IDS_PER_SELECT);
      const rows = await this.db.all<{ pos: number; hash: Uint8Array }>(
        `SELECT pos, hash FROM log_nodes WHERE log_id = ? AND pos IN (${chunk.map(() => '?').join(', ')})`,
        [this.logId, ...chunk],
      );
      for (const row of rows) {
        const id = interior.get(Number(row.pos))!;
        found.set(nodeKey(id.level, id.index), bytes(row.hash));
      }
    }
    return found;
  }

  async entries(start: number, end: number): Promise<Uint8Array[]> {
    const rows = await this.db.all<{ data: Uint8Array }>('SELECT data FROM log_leaves WHERE log_id = ? AND idx >= ? AND idx < ? ORDER BY idx', [this.logId, start, end]);
    return rows.map((row) => bytes(row.data));
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.db.run('INSERT INTO log_checkpoints (log_id, size, root_hash, note, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (log_id, size) DO NOTHING', [
      this.logId,
      checkpoint.size,
      checkpoint.rootHash,
      checkpoint.note,
      Date.now(),
    ]);
  }

  async checkpoint(size: number): Promise<StoredCheckpoint | undefined> {
    const row = await this.db.get<CheckpointRow>('SELECT size, root_hash, note FROM log_checkpoints WHERE log_id = ? AND size = ?', [this.logId, size]);
    return row && toCheckpoint(row);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const row = await this.db.get<CheckpointRow>('SELECT size, root_hash, note FROM log_checkpoints WHERE log_id = ? ORDER BY size DESC LIMIT 1', [this.logId]);
    return row && toCheckpoint(row);
  }

  async addCosignature(size: number, c: StoredCosignature): Promise<void> {
    await this.db.run(
      `INSERT INTO log_cosignatures (log_id, size, witness, key_id, timestamp, line) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (log_id, size, witness, key_id) DO UPDATE SET timestamp = excluded.timestamp, line = excluded.line
       WHERE excluded.timestamp > log_cosignatures.timestamp`,
      [this.logId, size, c.witness, c.keyId, c.timestamp, c.line],
    );
  }

  async cosignatures(size: number): Promise<StoredCosignature[]> {
    const rows = await this.db.all<{ witness: string; key_id: number; timestamp: number; line: string }>(
      'SELECT witness, key_id, timestamp, line FROM log_cosignatures WHERE log_id = ? AND size = ? ORDER BY witness, key_id',
      [this.logId, size],
    );
    return rows.map((row) => ({ witness: row.witness, keyId: Number(row.key_id), timestamp: Number(row.timestamp), line: row.line }));
  }

  async latestWitnessedCheckpoint(k: number): Promise<StoredCheckpoint | undefined> {
    const row = await this.db.get<{ size: number }>(
      'SELECT size FROM log_cosignatures WHERE log_id = ? GROUP BY size HAVING COUNT(*) >= ? ORDER BY size DESC LIMIT 1',
      [this.logId, k],
    );
    return row ? this.checkpoint(Number(row.size)) : undefined;
  }
}
