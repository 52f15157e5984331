/**
 * A transparency log: an RFC 9162 Merkle tree over opaque entries, persisted through LogStorage, with
 * C2SP signed checkpoints (tlog-checkpoint) and witness cosignatures (tlog-cosignature).
 *
 * Appends are batched: concurrent `append` calls queue up while a tree update is being written and
 * the next update takes them all at once (one transaction, one set of node writes), so the log keeps
 * up with callers that append one entry each. Large batches are hashed by worker threads
 * (batchHasher.ts), segment by segment, while this thread writes the segments already hashed in the
 * same transaction; with a backlog, the next batch is hashed while this one is written. Proofs read
 * O(log n) stored subtree hashes.
 */
import type { Db } from '@doublelock/store';
import { LogError } from './errors.ts';
import { BatchHasher, type BatchHasherOptions, type HashedBatch, type HashedSegment } from './batchHasher.ts';
import { Frontier, type StoredNode } from './frontier.ts';
import { EMPTY_ROOT, HASH_SIZE, leafHash } from './hash.ts';
import { consistencyPath, frontierNodes, inclusionPath, nodeKey, subtreeHash, withNodes } from './merkle.ts';
import { assembleNote, checkpointText, NoteSigner } from './signer.ts';
import { SqlLogStorage } from './sqlStorage.ts';
import { AppendConflict, type AppendChunk, type LogStorage, type StoredCheckpoint } from './storage.ts';
import { encodeEntryBundle, MAX_BUNDLED_ENTRY_BYTES, TILE_HEIGHT, TILE_WIDTH } from './tiles.ts';
import { parseCheckpoint } from './verifier/checkpoint.ts';
import { NoteError, parseNote, parseVerifierKey, SIGNATURE_COSIGNATURE_V1, verifySignature, type VerifierKey } from './verifier/note.ts';

export interface TransparencyLogOptions {
  /** The log's signer key (`PRIVATE+KEY+<name>+…`, type 0x01). Its name is the origin unless `origin` is given. */
  signerKey: string;
  origin?: string;
  /** Verifier keys (type 0x04, cosignature/v1) of the witnesses whose cosignatures the log accepts. */
  witnesses?: readonly string[];
  /** Most entries written in one tree update. */
  maxBatch?: number;
  /** How far in the future a cosignature timestamp may be (clock skew), in seconds. */
  maxClockSkewSeconds?: number;
  /** Largest entry accepted, in bytes (default and maximum 65,535: tlog-tiles bundles use uint16 lengths). */
  maxEntryBytes?: number;
  /** Worker threads hashing large batches (batchHasher.ts); `{ workers: 0 }` hashes on this thread only. */
  hashing?: BatchHasherOptions | BatchHasher;
}

export interface SignedCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** The checkpoint text the log signed (what witnesses cosign). */
  text: string;
  /** The signed note: the log's signature and every cosignature collected for this size. */
  note: string;
  /** Names of the witnesses whose cosignatures are in `note`. */
  witnesses: string[];
}

/** Appends taken from the queue for one tree update, their hashes being computed by the workers if large. */
interface Batch {
  jobs: PendingAppend[];
  entries: Uint8Array[];
  hashed: HashedBatch | undefined;
}

interface PendingAppend {
  entries: Uint8Array[];
  resolve: (result: { firstIndex: number }) => void;
  reject: (error: unknown) => void;
}

const MAX_CONFLICT_RETRIES = 20;

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new LogError('bad_request', `${name} must be a non-negative integer`);
}

export class TransparencyLog {
  readonly origin: string;
  readonly signer: NoteSigner;
  readonly witnesses: readonly VerifierKey[];
  readonly #storage: LogStorage;
  readonly #maxBatch: number;
  readonly #maxSkew: number;
  readonly #maxEntryBytes: number;
  #frontier: Frontier;
  #pending: PendingAppend[] = [];
  /** entries in #pending */
  #queued = 0;
  #draining: Promise<void> | undefined;
  #latest: StoredCheckpoint | undefined;
  readonly #hasher: BatchHasher;

  private constructor(storage: LogStorage, frontier: Frontier, options: TransparencyLogOptions) {
    this.signer = new NoteSigner(options.signerKey);
    this.origin = options.origin ?? this.signer.name;
    this.witnesses = (options.witnesses ?? []).map((key) => parseVerifierKey(key));
    const wrong = this.witnesses.find((w) => w.type !== SIGNATURE_COSIGNATURE_V1);
    if (wrong) throw new NoteError(`witness key ${wrong.name} is not a cosignature/v1 (type 0x04) key`);
    this.#storage = storage;
    this.#frontier = frontier;
    this.#maxBatch = options.maxBatch ?? 10_000;
    this.#maxSkew = options.maxClockSkewSeconds ?? 600;
    this.#maxEntryBytes = options.maxEntryBytes ?? MAX_BUNDLED_ENTRY_BYTES;
    if (!(this.#maxEntryBytes > 0 && this.#maxEntryBytes <= MAX_BUNDLED_ENTRY_BYTES)) throw new RangeError(`maxEntryBytes must be 1–${MAX_BUNDLED_ENTRY_BYTES}`);
    this.#hasher = options.hashing instanceof BatchHasher ? options.hashing : new BatchHasher(options.hashing);
  }

  /** Opens the log on any LogStorage. */
  static async create(storage: LogStorage, options: TransparencyLogOptions): Promise<TransparencyLog> {
    return new TransparencyLog(storage, await loadFrontier(storage), options);
  }

  /** Opens (creating if needed) the log named by its origin in a migrated store database. */
  static async open(db: Db, options: TransparencyLogOptions): Promise<TransparencyLog> {
    const origin = options.origin ?? new NoteSigner(options.signerKey).name;
    return TransparencyLog.create(await SqlLogStorage.open(db, origin), options);
  }

  /** The verifier key clients and witnesses configure to check this log's checkpoints. */
  get verifierKey(): string {
    return this.signer.verifierKey;
  }

  /** Size of the tree as this instance last saw it (call `checkpoint` for the stored one). */
  get size(): number {
    return this.#frontier.size;
  }

  /**
   * Appends entries; resolves once they are durably stored, with the index of the first one (the
   * others follow in order). Concurrent calls are coalesced into one tree update.
   */
  append(entries: readonly Uint8Array[]): Promise<{ firstIndex: number }> {
    if (!Array.isArray(entries) || entries.length === 0) return Promise.reject(new LogError('bad_request', 'append needs at least one entry'));
    // plain loops: this runs once per caller, often one entry each, and closures would be made per call
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (!(entry instanceof Uint8Array)) return Promise.reject(new LogError('bad_request', 'log entries must be Uint8Arrays'));
      if (entry.length > this.#maxEntryBytes) return Promise.reject(new LogError('bad_request', `entry ${i} has ${entry.length} bytes; the limit is ${this.#maxEntryBytes}`));
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ entries: entries.slice(), resolve, reject });
      this.#queued += entries.length;
      this.#draining ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    // Let callers of the same tick join the first update.
    await new Promise((resolve) => setImmediate(resolve));
    let next = this.#take(this.#frontier.size);
    while (next) {
      const current = next;
      // With a backlog worth the workers, the following batch is hashed while this one is written (its
      // start assumes this one succeeds; #write checks it). Otherwise callers arriving meanwhile join it.
      if (this.#hasher.wants(this.#queued)) next = this.#take(this.#frontier.size + current.entries.length);
      else next = undefined;
      try {
        let first = await this.#write(current);
        for (const job of current.jobs) {
          job.resolve({ firstIndex: first });
          first += job.entries.length;
        }
      } catch (error) {
        for (const job of current.jobs) job.reject(error);
      }
      next ??= this.#take(this.#frontier.size);
    }
    this.#draining = undefined;
  }

  /** Up to maxBatch queued entries (whole calls), their hashing started if it goes to the workers. */
  #take(start: number): Batch | undefined {
    if (this.#pending.length === 0) return undefined;
    let take = 0;
    let count = 0;
    while (take < this.#pending.length && (take === 0 || count + this.#pending[take]!.entries.length <= this.#maxBatch)) {
      count += this.#pending[take]!.entries.length;
      take++;
    }
    const jobs = this.#pending.splice(0, take);
    this.#queued -= count;
    const entries: Uint8Array[] = [];
    for (const job of jobs) for (const entry of job.entries) entries.push(entry);
    return { jobs, entries, hashed: this.#hasher.wants(entries.length) ? this.#hasher.hash(entries, start) : undefined };
  }

  async #write({ entries, hashed }: Batch): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const frontier = this.#frontier.clone();
      const start = frontier.size;
      // worker-hashed segments are written as they come; hashes made for another start are not used
      const chunks = hashed?.start === start ? joinSegments(frontier, entries, hashed) : [inlineChunk(frontier, entries)];
      try {
        await this.#storage.append({ start, count: entries.length, chunks });
        if (this.#frontier.size <= frontier.size) this.#frontier = frontier;
        return start;
      } catch (error) {
        if (!(error instanceof AppendConflict) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        this.#frontier = await loadFrontier(this.#storage); // another node appended: continue from its tree
      }
    }
  }

  /** Brings the in-memory tree up to the stored one (other server nodes may have appended). */
  async #refresh(): Promise<Frontier> {
    const stored = await this.#storage.size();
    if (stored !== this.#frontier.size) {
      const frontier = await loadFrontier(this.#storage);
      if (frontier.size > this.#frontier.size) this.#frontier = frontier;
    }
    return this.#frontier;
  }

  /** The signed checkpoint of the current tree, with the cosignatures collected for it so far. */
  async checkpoint(): Promise<SignedCheckpoint> {
    const frontier = await this.#refresh();
    const size = frontier.size;
    let stored = this.#latest?.size === size ? this.#latest : await this.#storage.checkpoint(size);
    if (!stored) {
      const rootHash = frontier.root();
      const text = checkpointText(this.origin, size, rootHash);
      stored = { size, rootHash, note: assembleNote(text, [this.signer.sign(text)]) };
      await this.#storage.saveCheckpoint(stored);
    }
    if (!this.#latest || stored.size >= this.#latest.size) this.#latest = stored;
    return this.#withCosignatures(stored);
  }

  /** The newest checkpoint cosigned by at least `k` witnesses, if any. */
  async witnessedCheckpoint(k = 1): Promise<SignedCheckpoint | undefined> {
    const stored = await this.#storage.latestWitnessedCheckpoint(Math.max(1, k));
    return stored && this.#withCosignatures(stored);
  }

  async #withCosignatures(stored: StoredCheckpoint): Promise<SignedCheckpoint> {
    const cosignatures = await this.#storage.cosignatures(stored.size);
    const { text } = parseNote(stored.note);
    return {
      origin: this.origin,
      size: stored.size,
      rootHash: stored.rootHash,
      text,
      note: stored.note + cosignatures.map((c) => `${c.line}\n`).join(''),
      witnesses: cosignatures.map((c) => c.witness),
    };
  }

  async #checkTreeSize(treeSize: number): Promise<void> {
    checkCount('tree size', treeSize);
    if (treeSize > this.#frontier.size && treeSize > (await this.#refresh()).size) {
      throw new LogError('not_found', `tree size ${treeSize} is beyond the log's size ${this.#frontier.size}`);
    }
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of leaf `index` in the tree of size `treeSize`. */
  async inclusionProof(index: number, treeSize: number): Promise<Uint8Array[]> {
    checkCount('index', index);
    await this.#checkTreeSize(treeSize);
    if (index >= treeSize) throw new LogError('bad_request', `index ${index} is not below tree size ${treeSize}`);
    return withNodes((node) => inclusionPath(index, treeSize, node), (ids) => this.#storage.nodes(ids));
  }

  /**
   * The current checkpoint and the inclusion proof of leaf `index` in its tree: what a server hands a
   * client together with an entry (e.g. a device list) so the client can check it is logged.
   */
  async prove(index: number): Promise<{ checkpoint: SignedCheckpoint; proof: Uint8Array[] }> {
    const checkpoint = await this.checkpoint();
    return { checkpoint, proof: await this.inclusionProof(index, checkpoint.size) };
  }

  /** RFC 9162 §2.1.4.1 consistency proof between the trees of sizes `from` and `to` (0 < from ≤ to). */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    checkCount('from', from);
    await this.#checkTreeSize(to);
    if (from === 0 || from > to) throw new LogError('bad_request', `no consistency proof from size ${from} to size ${to}: need 0 < from ≤ to`);
    return withNodes((node) => consistencyPath(from, to, node), (ids) => this.#storage.nodes(ids));
  }

  /** MTH of the first `size` leaves. */
  async rootAt(size: number): Promise<Uint8Array> {
    await this.#checkTreeSize(size);
    if (size === 0) return EMPTY_ROOT;
    return withNodes((node) => subtreeHash(0, size, node), (ids) => this.#storage.nodes(ids));
  }

  /** Entries [start, end). */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    checkCount('start', start);
    checkCount('end', end);
    if (start >= end) throw new LogError('bad_request', `empty range [${start}, ${end})`);
    await this.#checkTreeSize(end);
    return this.#storage.entries(start, end);
  }

  /**
   * tlog-tiles: the hashes of tile `index` at tile `level` (tree level 8·level), `width` of them
   * (256 = full). Throws not_found unless all of them exist in the current tree.
   */
  async tile(level: number, index: number, width: number): Promise<Uint8Array> {
    checkCount('tile level', level);
    checkCount('tile index', index);
    if (level > 63 || width < 1 || width > TILE_WIDTH) throw new LogError('bad_request', 'tile level must be 0–63 and width 1–256');
    const nodeLevel = level * TILE_HEIGHT;
    const available = Math.floor((await this.#refresh()).size / 2 ** nodeLevel); // complete nodes at that level
    if (index * TILE_WIDTH + width > available) throw new LogError('not_found', `tile ${level}/${index} of width ${width} is beyond the tree`);
    const ids = Array.from({ length: width }, (_, i) => ({ level: nodeLevel, index: index * TILE_WIDTH + i }));
    const found = await this.#storage.nodes(ids);
    const out = new Uint8Array(width * 32);
    ids.forEach((id, i) => {
      const hash = found.get(nodeKey(id.level, id.index));
      if (!hash) throw new Error(`log storage is missing node (${id.level}, ${id.index})`);
      out.set(hash, i * 32);
    });
    return out;
  }

  /** tlog-tiles: entries [index·256, index·256 + width) as an entry bundle. */
  async entryBundle(index: number, width: number): Promise<Uint8Array> {
    checkCount('bundle index', index);
    if (width < 1 || width > TILE_WIDTH) throw new LogError('bad_request', 'bundle width must be 1–256');
    const start = index * TILE_WIDTH;
    if (start + width > (await this.#refresh()).size) throw new LogError('not_found', `entry bundle ${index} of width ${width} is beyond the tree`);
    return encodeEntryBundle(await this.#storage.entries(start, start + width));
  }

  /**
   * Accepts a checkpoint note carrying cosignatures: the text must be a checkpoint this log signed,
   * and every signature line from a configured witness must verify. Returns the witnesses accepted.
   */
  async addCosignature(note: string): Promise<string[]> {
    let text: string;
    let lines: ReturnType<typeof parseNote>['signatures'];
    let size: number;
    try {
      ({ text, signatures: lines } = parseNote(note));
      const checkpoint = parseCheckpoint(text);
      if (checkpoint.origin !== this.origin) throw new NoteError(`checkpoint is for log ${JSON.stringify(checkpoint.origin)}, not this one`);
      size = checkpoint.size;
    } catch (error) {
      throw new LogError('bad_request', error instanceof Error ? error.message : String(error));
    }
    const stored = await this.#storage.checkpoint(size);
    if (!stored || parseNote(stored.note).text !== text) throw new LogError('not_found', `this log never signed that checkpoint of size ${size}`);
    const accepted: string[] = [];
    const now = BigInt(Math.floor(Date.now() / 1000));
    for (const line of lines) {
      const witness = this.witnesses.find((w) => w.name === line.name && w.keyId === line.keyId);
      if (!witness) continue;
      const verified = verifySignature(text, witness, line.signature);
      if (!verified) throw new LogError('bad_signature', `cosignature by ${witness.name} does not verify`);
      if (verified.timestamp! > now + BigInt(this.#maxSkew)) throw new LogError('bad_request', `cosignature by ${witness.name} is dated in the future`);
      await this.#storage.addCosignature(size, { witness: witness.name, keyId: witness.keyId, timestamp: Number(verified.timestamp), line: line.line });
      accepted.push(witness.name);
    }
    if (accepted.length === 0) throw new LogError('forbidden', 'the note carries no cosignature from a witness this log accepts');
    return accepted;
  }

  /** Waits for queued appends to be written. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }
}

/**
 * Appends leaves to `frontier`: per leaf, the blob of the nodes its append completes (levels 1..t, in
 * the order the frontier emits them), views of one buffer.
 */
function appendLeaves(frontier: Frontier, leafHashes: readonly Uint8Array[]): Array<Uint8Array | undefined> {
  const completed: Array<Uint8Array | undefined> = new Array(leafHashes.length);
  // n leaves appended to a tree complete at most n − 1 + (its frontier's length ≤ 64) nodes
  const buffer = new Uint8Array((leafHashes.length + 64) * HASH_SIZE);
  let used = 0;
  const keep = (node: StoredNode) => buffer.set(node.hash, used++ * HASH_SIZE);
  for (let i = 0; i < leafHashes.length; i++) {
    const from = used;
    frontier.append(leafHashes[i]!, keep);
    completed[i] = used > from ? buffer.subarray(from * HASH_SIZE, used * HASH_SIZE) : undefined;
  }
  return completed;
}

/** Entries hashed on this thread and appended to `frontier`. */
function inlineChunk(frontier: Frontier, entries: readonly Uint8Array[]): AppendChunk {
  const leafHashes = entries.map(leafHash);
  return { entries, leafHashes, completed: appendLeaves(frontier, leafHashes) };
}

/**
 * The chunks of a batch the workers hash, segment by segment as each is done, appended to `frontier`.
 * A segment whose worker failed is hashed here instead.
 */
async function* joinSegments(frontier: Frontier, entries: readonly Uint8Array[], hashed: HashedBatch): AsyncGenerator<AppendChunk> {
  for (const { start, count, hashed: segment } of hashed.segments) {
    const part = entries.slice(start - hashed.start, start - hashed.start + count);
    const done = await segment.catch(() => undefined);
    if (!done) yield inlineChunk(frontier, part);
    else {
      const leafHashes = Array.from({ length: count }, (_, i) => done.leafHashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
      yield { entries: part, leafHashes, completed: joinSegment(frontier, done) };
    }
  }
}

/**
 * appendLeaves for a segment a worker hashed: each leaf's nodes inside the segment as the worker laid
 * them out and, after the last leaf of each of the segment's roots, the nodes that root completes with
 * the tree to its left (appended to `frontier` here).
 */
function joinSegment(frontier: Frontier, segment: HashedSegment): Array<Uint8Array | undefined> {
  const completed: Array<Uint8Array | undefined> = new Array(segment.count);
  const above: Uint8Array[] = [];
  const keep = (node: StoredNode) => above.push(node.hash);
  let at = 0; // nodes of segment.nodeHashes used
  let root = 0;
  let rootEnd = segment.start + 2 ** segment.roots[0]!.level; // one past the current root's last leaf
  for (let i = 0; i < segment.count; i++) {
    const t = segment.nodeCounts[i]!;
    let blob = t > 0 ? segment.nodeHashes.subarray(at * HASH_SIZE, (at + t) * HASH_SIZE) : undefined;
    at += t;
    if (segment.start + i + 1 === rootEnd) {
      const { level, hash } = segment.roots[root]!;
      above.length = 0;
      frontier.appendSubtree(level, hash, keep);
      if (above.length > 0) {
        const joined = new Uint8Array((t + above.length) * HASH_SIZE);
        if (blob) joined.set(blob);
        above.forEach((h, k) => joined.set(h, (t + k) * HASH_SIZE));
        blob = joined;
      }
      root++;
      if (root < segment.roots.length) rootEnd += 2 ** segment.roots[root]!.level;
    }
    completed[i] = blob;
  }
  if (root !== segment.roots.length) throw new Error('log hash worker: its roots do not cover its segment');
  return completed;
}

async function loadFrontier(storage: LogStorage): Promise<Frontier> {
  const size = await storage.size();
  const ids = frontierNodes(size);
  const found = await storage.nodes(ids);
  return new Frontier(
    size,
    ids.map((id) => {
      const hash = found.get(nodeKey(id.level, id.index));
      if (!hash) throw new Error(`log storage is missing frontier node (${id.level}, ${id.index})`);
      return { ...id, hash };
    }),
  );
}
