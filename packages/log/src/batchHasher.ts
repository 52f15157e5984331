/**
 * The hashes of a large append, computed by worker threads (hashWorker.js) while the log's thread
 * writes the previous batch to the database: SHA-256 in JavaScript costs more per entry than SQLite's
 * insert of it, so on one thread hashing, not the store, would bound the log.
 *
 * The batch [start, start + n) is cut into segments, spread over the workers. A worker hashes its leaves
 * and every complete aligned subtree inside its segment (RFC 9162 §2.1.1; node (level, index) covers
 * leaves [index·2^level, (index+1)·2^level)) and returns the segment's maximal such subtrees, its roots.
 * What spans segments, or joins the tree already stored, is O(log n) hashes left to the caller: it
 * appends the roots to its frontier (Frontier.appendSubtree). The caller writes each segment as soon as
 * it is hashed, while the workers hash the next ones.
 *
 * Small batches are hashed on the caller's thread (a worker round trip costs more than they do), and so
 * is everything when workers cannot be started or fail: the workers only ever make appends faster.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { StoredNode } from './frontier.ts';

const HASH = 32;

export interface HashedSegment {
  start: number;
  count: number;
  /** count·32 bytes */
  leafHashes: Uint8Array;
  /** per leaf, the interior nodes it completes inside the segment (levels 1..t) */
  nodeCounts: Uint8Array;
  nodeHashes: Uint8Array;
  /** the segment's maximal complete aligned subtrees, left to right */
  roots: StoredNode[];
}

export interface HashedBatch {
  start: number;
  /** consecutive segments of the batch, each settling when its worker is done */
  segments: Array<{ start: number; count: number; hashed: Promise<HashedSegment> }>;
}

interface Reply {
  id: number;
  error?: string;
  leafHashes: Uint8Array;
  nodeCounts: Uint8Array;
  nodeHashes: Uint8Array;
  rootLevels: number[];
  rootHashes: Uint8Array;
}

export interface BatchHasherOptions {
  /** worker threads (default: one per core, at most 2; 0 = none) */
  workers?: number;
  /** batches smaller than this are hashed on the caller's thread (default 1,024) */
  minBatch?: number;
  /** entries per segment (default 2,048): the caller writes a segment while the next ones are hashed */
  segment?: number;
}

export class BatchHasher {
  readonly minBatch: number;
  readonly segment: number;
  readonly #size: number;
  #workers: Worker[] | undefined;
  #failed = false;
  #nextId = 0;
  readonly #busy = new Map<Worker, number>();
  readonly #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();

  constructor(options: BatchHasherOptions = {}) {
    this.#size = options.workers ?? Math.min(2, availableParallelism());
    this.minBatch = options.minBatch ?? 1024;
    this.segment = Math.max(1, options.segment ?? 2048);
  }

  /** Whether `count` entries go to the workers. */
  wants(count: number): boolean {
    return this.#size > 0 && !this.#failed && count >= this.minBatch;
  }

  /**
   * Starts hashing entries [start, start + entries.length), a segment at a time, the segments spread
   * over the workers. A segment's promise rejects if its worker fails (hash it inline then).
   */
  hash(entries: readonly Uint8Array[], start: number): HashedBatch {
    const workers = this.#pool();
    const segments: HashedBatch['segments'] = [];
    // the first segments are small, so that writing starts soon; then `segment` entries each
    let size = Math.max(1, Math.min(this.segment, 256));
    for (let k = 0, at = 0; at < entries.length; k++, at += size, size = Math.min(this.segment, size * 2)) {
      const count = Math.min(size, entries.length - at);
      const hashed = this.#segment(workers[k % workers.length]!, entries, at, count, start + at);
      hashed.catch(() => undefined); // may be awaited only later: not an unhandled rejection meanwhile
      segments.push({ start: start + at, count, hashed });
    }
    return { start, segments };
  }

  #segment(worker: Worker, entries: readonly Uint8Array[], from: number, count: number, start: number): Promise<HashedSegment> {
    let total = 0;
    for (let i = from; i < from + count; i++) total += entries[i]!.length;
    const data = new Uint8Array(total);
    const ends = new Uint32Array(count);
    for (let i = 0, at = 0; i < count; i++) {
      const entry = entries[from + i]!;
      data.set(entry, at);
      at += entry.length;
      ends[i] = at;
    }
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // a worker with work keeps the process alive until it answers; an idle one does not
      if (this.#busy.set(worker, (this.#busy.get(worker) ?? 0) + 1).get(worker) === 1) worker.ref();
      worker.postMessage({ id, start, count, data: data.buffer, ends }, [data.buffer, ends.buffer]);
    }).then((reply) => {
      if (reply.error !== undefined) throw new Error(`log hash worker: ${reply.error}`);
      const roots: StoredNode[] = [];
      let index = start;
      reply.rootLevels.forEach((level, k) => {
        roots.push({ level, index: index / 2 ** level, hash: reply.rootHashes.subarray(k * HASH, (k + 1) * HASH) });
        index += 2 ** level;
      });
      return { start, count, leafHashes: reply.leafHashes, nodeCounts: reply.nodeCounts, nodeHashes: reply.nodeHashes, roots };
    });
  }

  #pool(): Worker[] {
    if (this.#workers) return this.#workers;
    this.#workers = Array.from({ length: this.#size }, () => {
      const worker = new Worker(new URL('./hashWorker.js', import.meta.url));
      worker.unref(); // an idle pool does not keep the process alive
      worker.on('message', (reply: Reply) => {
        const busy = (this.#busy.get(worker) ?? 1) - 1;
        this.#busy.set(worker, busy);
        if (busy === 0) worker.unref();
        const waiting = this.#waiting.get(reply.id);
        this.#waiting.delete(reply.id);
        waiting?.resolve(reply);
      });
      worker.on('error', (error) => this.#fail(error));
      worker.on('exit', (code) => this.#fail(new Error(`log hash worker exited with code ${code}`)));
      return worker;
    });
    return this.#workers;
  }

  /** A worker died: what it was asked is hashed inline by the callers, and so is everything after. */
  #fail(error: Error): void {
    this.#failed = true;
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
    const workers = this.#workers ?? [];
    this.#workers = undefined;
    for (const worker of workers) void worker.terminate();
  }

  /** Stops the workers (they are unref'd: only needed to free them early). */
  async close(): Promise<void> {
    const workers = this.#workers ?? [];
    this.#workers = undefined;
    this.#failed = true;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
