/**
 * What a transparency log needs from its storage (transparency-dev style: the log is a library,
 * storage is an interface). Nodes are complete aligned subtrees (level, index); level 0 are leaf hashes.
 */
import type { NodeId } from './merkle.ts';

export interface AppendBatch {
  /** Index of the first new entry; the append succeeds only if the stored size still equals it. */
  start: number;
  /** Entries in the batch. */
  count: number;
  /**
   * The entries with their hashes, in order, as they become ready (a batch's later entries may still be
   * being hashed while its first ones are written, in the same transaction); `count` in all.
   */
  chunks: AsyncIterable<AppendChunk> | Iterable<AppendChunk>;
}

export interface AppendChunk {
  entries: readonly Uint8Array[];
  leafHashes: readonly Uint8Array[];
  /**
   * Per entry, the interior nodes (level ≥ 1) its append completes, as one blob of their hashes in level
   * order 1..t (undefined when it completes none): node (level, index) is completed by leaf
   * (index + 1)·2^level − 1, so a stored blob says which nodes it holds.
   */
  completed: ReadonlyArray<Uint8Array | undefined>;
}

export interface StoredCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** The log-signed note (no cosignatures). */
  note: string;
}

export interface StoredCosignature {
  /** The witness's verifier key name. */
  witness: string;
  keyId: number;
  timestamp: number;
  /** The signature line without its newline. */
  line: string;
}

/** Thrown by `append` when another writer got there first: reload the size and frontier, then retry. */
export class AppendConflict extends Error {
  constructor(expected: number, actual: number) {
    super(`log size is ${actual}, not the expected ${expected}`);
    this.name = 'AppendConflict';
  }
}

export interface LogStorage {
  size(): Promise<number>;
  /** Writes entries, leaf hashes, nodes and the new size in one transaction, iff the size is still `batch.start`. */
  append(batch: AppendBatch): Promise<void>;
  /** Hashes of the requested nodes; keys as `nodeKey(level, index)`. Missing nodes are absent. */
  nodes(ids: readonly NodeId[]): Promise<Map<string, Uint8Array>>;
  entries(start: number, end: number): Promise<Uint8Array[]>;
  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  checkpoint(size: number): Promise<StoredCheckpoint | undefined>;
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Keeps one cosignature per witness per size (the newest). */
  addCosignature(size: number, cosignature: StoredCosignature): Promise<void>;
  cosignatures(size: number): Promise<StoredCosignature[]>;
  /** The newest checkpoint with at least `k` cosignatures. */
  latestWitnessedCheckpoint(k: number): Promise<StoredCheckpoint | undefined>;
}
