/**
 * PdqIndex: exact Hamming-radius search over 256-bit PDQ hashes by multi-index hashing.
 *
 * Method: Norouzi, Punjani, Fleet, "Fast Search in Hamming Space with Multi-Index Hashing" (CVPR 2012),
 * the scheme of Meta's reference index (pdq/cpp/index/mih.h), tuned for radius 31. The hash is cut into
 * m = 16 disjoint segments of 16 bits. By the generalised pigeonhole principle (Qin et al., "GPH:
 * Similarity Search in Hamming Space", ICDE 2018), if per-segment radii r_i satisfy Σ r_i ≥ D − m + 1,
 * two hashes at distance ≤ D differ in at most r_i bits in some segment i. For D = 31 that is radius 1 in
 * every segment (31 / 16 < 2): 17 probes a segment, 272 a query. Probing each value within r_i bit flips
 * in every segment's table finds every true neighbour; each candidate is then verified with a full
 * 256-bit popcount. Recall is exact by construction (and tested against brute force).
 *
 * Pair filter (this index's addition to MIH): the segments are paired, (0,1) (2,3) … (14,15). The same
 * pigeonhole over the 8 pairs (32-bit segments at radius r_a + r_b + 1: Σ = Σ r_i + 8 ≥ D − 8 + 1) says a
 * hash within D has a pair with d_a + d_b ≤ r_a + r_b + 1, hence d_a ≤ r_a or d_b ≤ r_b, so it sits in a
 * bucket probed for a (or b) with d_partner ≤ r_a + r_b + 1 − d_a. Each table entry carries its partner
 * segment (all 16 bits: the bound is exact); an entry whose partner differs too much is dropped before its
 * hash is read. At radius 31 that keeps 1% (probe at 0 flips) or 0.2% (1 flip) of a bucket's random
 * entries: a query scans ~42,000 two-byte filters in 272 contiguous runs and reads ~100 hashes.
 *
 * Layout (typed arrays only, no per-hash objects):
 *   - storage: packed hashes (8 × Uint32 per slot), a uint32 key per slot, a live flag per slot;
 *   - base: per segment a table over the segment's value (2^16 buckets from 65,536 hashes) in one
 *     Uint32Array: each bucket a region of its entries' partner segments (two 16-bit filters a word)
 *     followed by their slots, so the few slots a scan keeps lie next to the filters it just read (same
 *     page, often the same prefetched lines); `offsets` gives each region's first word (a region of c
 *     entries is c + ⌈c/2⌉ words, so c is recovered from the region's size). Built in bulk by
 *     `compact()` in two passes a segment: a scatter of (slot, word) by the bucket's high byte (both
 *     segments of a word in one pass over the hashes), then per high-byte group a counting sort by the
 *     low byte straight into its regions (a group's regions span ~0.2 MB, so those writes stay in
 *     cache). No per-bucket arrays, no zero-filled scratch; `fromPacked` adopts the caller's arrays;
 *   - delta: per segment bucket heads + `next` chains for slots added since the last compaction.
 * Adding links the slot into the delta chains (O(16)); removing clears its live flag (O(1) after the
 * lookup). Neither rebuilds anything. When the delta or the dead slots grow past a quarter of the index,
 * `add` compacts (amortised, like a hash table doubling); bulk loads compact once at the end.
 *
 * Queries run in phases, each a tight loop (bucket bounds; every cache line of every probed bucket's
 * filters touched; the filters scanned; the hashes of the few survivors touched, then verified), so the
 * CPU overlaps the cache misses that dominate at 10M hashes.
 *
 * Footprint at 10M hashes: 320 MB of hashes, 50 MB of keys and flags, 4 MB of bucket offsets, 960 MB of
 * bucket regions (640 MB of slots, 320 MB of filters): about 1.34 GB.
 */
import { distance256, popcount32 } from './hamming.ts';
import { PdqHash, hexToWords } from './pdqHash.ts';

const SEGMENT_LENGTHS = Array.from({ length: 16 }, () => 16);
const M = SEGMENT_LENGTHS.length;
const MIN_TABLE_BITS = 8;
const MIN_COMPACT = 1 << 16;
/** Bits set in each 16-bit value (the pair filter's inner loop: one load instead of a SWAR popcount). */
const POPCOUNT16 = Uint8Array.from({ length: 1 << 16 }, (_, v) => popcount32(v));
/** Each segment's partner for the pair filter: (0,1) (2,3) … (14,15). */
const PARTNER = SEGMENT_LENGTHS.map((_, s) => s ^ 1);

export interface IndexMatch {
  key: number;
  distance: number;
}

/** What PdqIndex.toSnapshot gives and fromSnapshot takes: a few numbers and typed arrays. */
export interface PdqIndexSnapshot {
  maxDistance: number;
  count: number;
  baseBits: number[];
  arrays: Uint32Array[];
}

export interface PdqIndexOptions {
  /** Largest distance that queries may ask for (default 31, PDQ's recommended threshold; at most 43). */
  maxDistance?: number;
  /** Hashes to allocate room for up front. */
  capacity?: number;
}

/** XOR masks of up to `radius` set bits within `length` bits, fewest bits first: a segment's probes. */
function probeMasks(length: number, radius: number): Int32Array {
  const masks: number[] = [0];
  if (radius >= 1) for (let a = 0; a < length; a++) masks.push(1 << a);
  if (radius >= 2) for (let a = 0; a < length; a++) for (let b = a + 1; b < length; b++) masks.push((1 << a) | (1 << b));
  if (radius >= 3) {
    for (let a = 0; a < length; a++)
      for (let b = a + 1; b < length; b++) for (let c = b + 1; c < length; c++) masks.push((1 << a) | (1 << b) | (1 << c));
  }
  return Int32Array.from(masks);
}

/** Per-segment radii with Σ r_i ≥ D − m + 1 (GPH), the extra radius going to the shorter segments. */
export function segmentRadii(distance: number): number[] {
  const need = Math.max(0, distance - M + 1);
  const radii = SEGMENT_LENGTHS.map(() => Math.floor(need / M));
  for (let i = 0; i < need % M; i++) radii[M - 1 - i]!++;
  return radii;
}

function probeCount(length: number, radius: number): number {
  let n = 1;
  let c = 1;
  for (let k = 1; k <= radius; k++) {
    c = (c * (length - k + 1)) / k;
    n += c;
  }
  return n;
}

/** Segment s (bits 16s … 16s + 15) of the hash at words[base …]. */
function segmentValue(words: Uint32Array, base: number, s: number): number {
  return (words[base + (s >>> 1)]! >>> ((s & 1) << 4)) & 0xffff;
}

/** Table size for n entries: about one per bucket, at most the segment's 16 bits (2^16 buckets). */
function tableBitsFor(n: number, s: number): number {
  return Math.min(SEGMENT_LENGTHS[s]!, Math.max(MIN_TABLE_BITS, Math.ceil(Math.log2(Math.max(n, 1)))));
}

export class PdqIndex {
  readonly maxDistance: number;
  private readonly radii: number[];
  private readonly masks: Int32Array[];
  private readonly maskCache = new Map<number, Int32Array>();
  private readonly segmentEnds = new Int32Array(M);
  private readonly probeSets: Int32Array[] = [];
  // storage
  private capacity: number;
  private words: Uint32Array;
  private keys: Uint32Array;
  private live: Uint8Array;
  private slots = 0;
  private count = 0;
  private dead = 0;
  // base, covering slots [0, baseSlots): per segment a bucket table (region offsets; per bucket its
  // entries' partner segments, the filters read before any hash is, then their slots)
  private baseSlots = 0;
  private baseBits: number[];
  private baseOffsets: Uint32Array[];
  private baseRegions: Uint32Array[];
  // delta (chains), covering slots [baseSlots, slots)
  private deltaBits: number[];
  private deltaHeads: Int32Array[];
  private deltaNext: Int32Array[];
  // query scratch
  private starts: Uint32Array;
  private ends: Uint32Array;
  private candidates: Int32Array<ArrayBuffer> = new Int32Array(1 << 14);
  /** Sink for the prefetching loop, so the engine cannot drop it. */
  private touched = 0;

  constructor(options: PdqIndexOptions = {}) {
    const maxDistance = options.maxDistance ?? 31;
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 43) throw new RangeError(`maxDistance must be an integer 0–43, not ${maxDistance}`);
    this.maxDistance = maxDistance;
    this.radii = segmentRadii(maxDistance);
    this.masks = SEGMENT_LENGTHS.map((length, s) => probeMasks(length, this.radii[s]!));
    const total = SEGMENT_LENGTHS.reduce((a, l, s) => a + probeCount(l, this.radii[s]!), 0);
    this.starts = new Uint32Array(total);
    this.ends = new Uint32Array(total);
    this.capacity = Math.max(16, options.capacity ?? 1024);
    this.words = new Uint32Array(this.capacity * 8);
    this.keys = new Uint32Array(this.capacity);
    this.live = new Uint8Array(this.capacity);
    this.baseBits = SEGMENT_LENGTHS.map(() => MIN_TABLE_BITS);
    this.baseOffsets = this.baseBits.map((b) => new Uint32Array((1 << b) + 1));
    this.baseRegions = SEGMENT_LENGTHS.map(() => new Uint32Array(0));
    this.deltaBits = SEGMENT_LENGTHS.map(() => MIN_TABLE_BITS);
    this.deltaHeads = this.deltaBits.map((b) => new Int32Array(1 << b).fill(-1));
    this.deltaNext = SEGMENT_LENGTHS.map(() => new Int32Array(256));
  }

  /** Number of live hashes. */
  get size(): number {
    return this.count;
  }

  /** Bytes held in typed arrays: the index's whole footprint bar a few small scratch arrays. */
  get memoryBytes(): number {
    let bytes = this.words.byteLength + this.keys.byteLength + this.live.byteLength;
    for (let s = 0; s < M; s++) {
      bytes += this.baseOffsets[s]!.byteLength + this.baseRegions[s]!.byteLength + this.deltaHeads[s]!.byteLength + this.deltaNext[s]!.byteLength;
    }
    return bytes;
  }

  /** Adds a hash under `key` (a uint32 the caller maps to its record, e.g. a bank signal id). */
  add(hash: PdqHash | string | Uint32Array, key: number): void {
    checkKey(key);
    const words = toWords(hash);
    this.ensureCapacity(this.slots + 1);
    const slot = this.slots++;
    this.words.set(words, slot * 8);
    this.keys[slot] = key;
    this.live[slot] = 1;
    this.count++;
    this.linkDelta(slot);
    this.maybeCompact();
  }

  /**
   * Bulk load: `words` holds n packed hashes (8 words each, see PdqHash.toWords), `keys` their keys.
   * One compaction at the end: 10M hashes load in seconds.
   */
  addPacked(words: Uint32Array, keys: Uint32Array): void {
    const n = keys.length;
    if (words.length !== n * 8) throw new RangeError(`words must hold 8 × ${n} values, not ${words.length}`);
    this.ensureCapacity(this.slots + n);
    this.words.set(words, this.slots * 8);
    this.keys.set(keys, this.slots);
    this.live.fill(1, this.slots, this.slots + n);
    this.slots += n;
    this.count += n;
    this.compact();
  }

  /** Removes the entry with this hash and key; false when there is none. */
  remove(hash: PdqHash | string, key: number): boolean {
    checkKey(key);
    for (const slot of this.search(toWords(hash), 0)) {
      if (this.keys[slot] === key) {
        this.live[slot] = 0;
        this.count--;
        this.dead++;
        this.maybeCompact();
        return true;
      }
    }
    return false;
  }

  /** Every live entry within `maxDistance` bits of `hash` (default: the index's maxDistance). */
  query(hash: PdqHash | string | Uint32Array, maxDistance = this.maxDistance): IndexMatch[] {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > this.maxDistance) {
      throw new RangeError(`maxDistance must be an integer 0–${this.maxDistance}, not ${maxDistance}`);
    }
    const q = hash instanceof Uint32Array ? hash : toWords(hash);
    if (q.length !== 8) throw new RangeError('a packed PDQ hash is 8 words');
    return this.search(q, maxDistance).map((slot) => ({ key: this.keys[slot]!, distance: distance256(this.words, slot, q, 0) }));
  }

  /**
   * The index as flat arrays, to store and reopen without a rebuild (pdqIndexFile.ts). Compacts first,
   * so everything is in the base tables.
   */
  toSnapshot(): PdqIndexSnapshot {
    if (this.slots > this.baseSlots || this.dead > 0) this.compact();
    const n = this.slots;
    return {
      maxDistance: this.maxDistance,
      count: this.count,
      baseBits: [...this.baseBits],
      arrays: [this.words.subarray(0, n * 8), this.keys.subarray(0, n), ...this.baseOffsets, ...this.baseRegions],
    };
  }

  /**
   * Reopens a snapshot (its arrays are adopted, not copied). The structure is checked (sizes, region
   * offsets); the slots inside the regions are not (a stored index is the matcher's own file), but a slot
   * out of range is skipped by the search rather than read.
   */
  static fromSnapshot(snapshot: PdqIndexSnapshot): PdqIndex {
    const { maxDistance, count, baseBits, arrays } = snapshot;
    if (baseBits.length !== M || arrays.length !== 2 + 2 * M || !arrays.every((a) => a instanceof Uint32Array)) throw new RangeError('not a PdqIndex snapshot');
    const index = new PdqIndex({ maxDistance, capacity: 16 });
    const words = arrays[0]!;
    const keys = arrays[1]!;
    const n = keys.length;
    if (words.length !== n * 8 || count !== n) throw new RangeError('PdqIndex snapshot: hashes and keys disagree');
    for (let s = 0; s < M; s++) {
      const offsets = arrays[2 + s]!;
      const regions = arrays[2 + M + s]!;
      const bits = baseBits[s]!;
      if (!Number.isInteger(bits) || bits < MIN_TABLE_BITS || bits > SEGMENT_LENGTHS[s]! || offsets.length !== (1 << bits) + 1) throw new RangeError(`PdqIndex snapshot: segment ${s} offsets`);
      let entries = 0;
      for (let b = 0; b < 1 << bits; b++) {
        const size = offsets[b + 1]! - offsets[b]!;
        if (size < 0 || size % 3 === 1) throw new RangeError(`PdqIndex snapshot: segment ${s} bucket ${b}`);
        entries += regionEntries(size);
      }
      if (offsets[0] !== 0 || offsets[1 << bits] !== regions.length || entries !== n) throw new RangeError(`PdqIndex snapshot: segment ${s} regions`);
      index.baseBits[s] = bits;
      index.baseOffsets[s] = offsets;
      index.baseRegions[s] = regions;
    }
    index.adoptStorage(words, keys);
    index.baseSlots = n;
    index.resetDelta(0);
    return index;
  }

  /**
   * Builds an index over n packed hashes (`words`: 8 words each, see PdqHash.toWords) under `keys`,
   * adopting both arrays rather than copying them: the caller hands them over and must not change them.
   * What a bulk load should use when it assembled the arrays for the index anyway (no second 320 MB at
   * 10M hashes, and none of its page faults).
   */
  static fromPacked(words: Uint32Array, keys: Uint32Array, options: Omit<PdqIndexOptions, 'capacity'> = {}): PdqIndex {
    const n = keys.length;
    if (words.length !== n * 8) throw new RangeError(`words must hold 8 × ${n} values, not ${words.length}`);
    const index = new PdqIndex({ ...options, capacity: 16 });
    index.adoptStorage(words, keys);
    index.compact();
    return index;
  }

  /** Takes n hashes and keys as the storage (every slot live, none indexed yet). */
  private adoptStorage(words: Uint32Array, keys: Uint32Array): void {
    const n = keys.length;
    // capacity is what the storage arrays hold: growth (ensureCapacity) copies them when adds need room
    this.capacity = Math.max(16, n);
    this.words = n >= 16 ? words : Uint32Array.from({ length: 16 * 8 }, (_, i) => words[i] ?? 0);
    this.keys = n >= 16 ? keys : Uint32Array.from({ length: 16 }, (_, i) => keys[i] ?? 0);
    this.live = new Uint8Array(this.capacity).fill(1, 0, n);
    this.slots = this.count = n;
    this.dead = 0;
  }

  /** Rebuilds the base tables over every live hash, emptying the delta and reclaiming dead slots. */
  compact(): void {
    if (this.dead > 0) {
      let to = 0;
      for (let from = 0; from < this.slots; from++) {
        if (!this.live[from]) continue;
        if (to !== from) {
          this.words.copyWithin(to * 8, from * 8, from * 8 + 8);
          this.keys[to] = this.keys[from]!;
          this.live[to] = 1;
        }
        to++;
      }
      this.live.fill(0, to, this.slots);
      this.slots = to;
      this.dead = 0;
    }
    const n = this.slots;
    const words = this.words;
    // Two passes a segment, no per-bucket arrays: per pair of segments (one word of each hash) a scatter
    // of (slot, word) by each segment's group (its bucket's high byte: 256 output streams each), then per
    // segment and group a counting sort by the low byte straight into the group's regions (~0.2 MB at
    // 10M hashes, so those writes stay in cache). The group counts each scatter needs are taken in the
    // pass before (the next pair's word sits in the same cache line), so nothing reads the hashes twice.
    const bits = tableBitsFor(n, 0); // every segment is 16 bits: one table width
    const lowBits = Math.max(0, bits - 8);
    const groups = 1 << (bits - lowBits);
    // scratch with every element written before it is read: not zero-filled
    const temps = [uninitialisedUint32(2 * n), uninitialisedUint32(2 * n)] as const;
    let counts = [new Uint32Array(groups), new Uint32Array(groups)] as const;
    countGroups(words, n, 0, bits, lowBits, counts[0], counts[1]);
    for (let w = 0; w < M / 2; w++) {
      const starts = [groupStarts(counts[0]), groupStarts(counts[1])] as const;
      const next = [new Uint32Array(groups), new Uint32Array(groups)] as const;
      scatterPair(words, n, w, Math.min(w + 1, M / 2 - 1), bits, lowBits, starts, temps, next);
      for (let half = 0; half < 2; half++) {
        const s = 2 * w + half;
        const { offsets, regions } = placeSegment(temps[half]!, starts[half]!, half, bits, lowBits, n);
        this.baseBits[s] = bits;
        this.baseOffsets[s] = offsets;
        this.baseRegions[s] = regions;
      }
      counts = next;
    }
    this.baseSlots = n;
    this.resetDelta(0);
  }

  /** Slots of live entries within maxDistance of q, each once. */
  private search(q: Uint32Array, maxDistance: number): number[] {
    // Phase 1: bucket bounds of every probe in the base tables (independent loads: the CPU overlaps their
    // cache misses; the probes of one segment differ in a few bits, so they share pages).
    const radii = maxDistance === this.maxDistance ? this.radii : segmentRadii(maxDistance);
    const probes = this.probeSets;
    for (let s = 0; s < M; s++) probes[s] = this.bucketMasks(s, radii[s]!, this.baseBits[s]!);
    let np = 0;
    const starts = this.starts;
    const ends = this.ends;
    const segmentEnds = this.segmentEnds;
    for (let s = 0; s < M; s++) {
      const bits = this.baseBits[s]!;
      const masks = probes[s]!;
      const offsets = this.baseOffsets[s]!;
      const vb = segmentValue(q, 0, s) & ((1 << bits) - 1);
      for (let p = 0; p < masks.length; p++) {
        const b = vb ^ masks[p]!;
        starts[np] = offsets[b]!;
        ends[np++] = offsets[b + 1]!;
      }
      segmentEnds[s] = np;
    }
    // Phase 2: the pair filter. Segments are paired (PARTNER); by the pigeonhole principle over pairs, a
    // hash within maxDistance has a pair (a, b) with d_a + d_b ≤ r_a + r_b + 1, and so d_a ≤ r_a or
    // d_b ≤ r_b: it is in a bucket probed for a (or b), where its partner segment gives d_b (d_a is at
    // least the bits the probe flipped). Random entries fail this bound ~99% of the time, so their hashes
    // are never fetched: the filters lie in bucket order, next to each other.
    let candidates = this.candidates;
    let nc = 0;
    for (let s = 0, p = 0; s < M; s++) {
      const regions = this.baseRegions[s]!;
      const masks = probes[s]!;
      const partner = PARTNER[s]!;
      const first = p;
      const end = segmentEnds[s]!;
      const qf = segmentValue(q, 0, partner) & 0xffff;
      const qq = qf | (qf << 16);
      const bound = radii[s]! + radii[partner]! + 1;
      // every cache line of every probed bucket's filters, loaded together before the scan needs them
      let touch = 0;
      for (let i = first; i < end; i++) {
        const start = starts[i]!;
        const filterEnd = start + filterWords(ends[i]! - start);
        for (let k = start; k < filterEnd; k += 16) touch ^= regions[k]!;
      }
      this.touched ^= touch;
      for (; p < end; p++) {
        const budget = bound - popcount32(masks[p - first]!);
        const start = starts[p]!;
        const size = ends[p]! - start;
        const c = regionEntries(size);
        const full = start + (c >>> 1);
        // a bucket's slots follow its ⌈c/2⌉ filter words: the halves of word w (low first) are filters
        // 2(w − start) and 2(w − start) + 1, whose slots are at 2w + slotOffset and 2w + slotOffset + 1
        const slotOffset = size - c - start;
        let w = start;
        if (budget === 2 || budget === 3) {
          // Both halves at once: clearing the lowest set bit `budget` times leaves a half non-zero exactly
          // when it has more bits than the budget (a half that reaches zero borrows from the other one:
          // the rare survivors are re-checked half by half).
          if (budget === 2) {
            // four words a step (radius 31's 1-flip probes, 16 of 17): one branch for eight filters
            for (; w + 3 < full; w += 4) {
              let a = regions[w]! ^ qq;
              let b = regions[w + 1]! ^ qq;
              let cc = regions[w + 2]! ^ qq;
              let d = regions[w + 3]! ^ qq;
              a &= (a - 0x10001) | 0;
              b &= (b - 0x10001) | 0;
              cc &= (cc - 0x10001) | 0;
              d &= (d - 0x10001) | 0;
              a &= (a - 0x10001) | 0;
              b &= (b - 0x10001) | 0;
              cc &= (cc - 0x10001) | 0;
              d &= (d - 0x10001) | 0;
              if ((a & 0xffff) !== 0 && (a & 0xffff0000) !== 0 && (b & 0xffff) !== 0 && (b & 0xffff0000) !== 0 && (cc & 0xffff) !== 0 && (cc & 0xffff0000) !== 0 && (d & 0xffff) !== 0 && (d & 0xffff0000) !== 0) continue;
              for (let k = w; k < w + 4; k++) nc = this.keepHalves(regions, k, slotOffset, qf, budget, nc);
              candidates = this.candidates;
            }
          }
          const three = budget === 3;
          for (; w < full; w++) {
            let x = regions[w]! ^ qq;
            x &= (x - 0x10001) | 0;
            x &= (x - 0x10001) | 0;
            if (three) x &= (x - 0x10001) | 0;
            if ((x & 0xffff) !== 0 && (x & 0xffff0000) !== 0) continue;
            nc = this.keepHalves(regions, w, slotOffset, qf, budget, nc);
            candidates = this.candidates;
          }
        } else {
          // Two filters per step: a SWAR popcount gives each half's distance (≤ 16, in 5 bits); adding
          // 15 − budget sets bit 4 of a half exactly when its distance exceeds the budget.
          const over = (15 - budget) * 0x00010001;
          for (; w < full; w++) {
            let x = regions[w]! ^ qq;
            x -= (x >>> 1) & 0x55555555;
            x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
            x = (x + (x >>> 4)) & 0x0f0f0f0f;
            x = ((x + (x >>> 8)) & 0x001f001f) + over;
            if ((x & 0x00100010) === 0x00100010) continue;
            nc = this.keepHalves(regions, w, slotOffset, qf, budget, nc);
            candidates = this.candidates;
          }
        }
        // an odd bucket's last filter is the low half of its last filter word (the high half is padding)
        if (c & 1 && POPCOUNT16[(regions[full]! & 0xffff) ^ qf]! <= budget) {
          if (nc === candidates.length) candidates = this.candidates = growInt32(candidates, nc * 2);
          candidates[nc++] = regions[2 * full + slotOffset]!;
        }
      }
    }
    if (this.slots > this.baseSlots) {
      for (let s = 0; s < M; s++) {
        const bits = this.deltaBits[s]!;
        const vb = segmentValue(q, 0, s) & ((1 << bits) - 1);
        const masks = this.bucketMasks(s, radii[s]!, bits);
        const heads = this.deltaHeads[s]!;
        const next = this.deltaNext[s]!;
        for (let p = 0; p < masks.length; p++) {
          for (let d = heads[vb ^ masks[p]!]!; d >= 0; d = next[d]!) {
            if (nc === candidates.length) candidates = this.candidates = growInt32(candidates, nc * 2);
            candidates[nc++] = this.baseSlots + d;
          }
        }
      }
    }
    // Phase 3: touch each candidate's hash (overlapping the misses), then verify with popcounts.
    const words = this.words;
    let touch = 0;
    for (let c = 0; c < nc; c++) touch ^= words[candidates[c]! * 8]!;
    this.touched = touch;
    const out: number[] = [];
    for (let c = 0; c < nc; c++) {
      const slot = candidates[c]!;
      if (slot >= this.slots) continue; // only a damaged stored index has one
      // half the words first: a random candidate already differs in ~64 of those 128 bits
      const w = slot * 8;
      const half = popcount32(words[w]! ^ q[0]!) + popcount32(words[w + 1]! ^ q[1]!) + popcount32(words[w + 2]! ^ q[2]!) + popcount32(words[w + 3]! ^ q[3]!);
      if (half > maxDistance) continue;
      if (half + popcount32(words[w + 4]! ^ q[4]!) + popcount32(words[w + 5]! ^ q[5]!) + popcount32(words[w + 6]! ^ q[6]!) + popcount32(words[w + 7]! ^ q[7]!) > maxDistance) continue;
      if (!this.live[slot]) continue;
      // A near neighbour turns up once per segment it is close in: keep it once.
      if (out.length === 0 || !out.includes(slot)) out.push(slot);
    }
    return out;
  }

  /** Keeps the slots of filter word w's halves that are within the budget (a scan's rare survivors). */
  private keepHalves(regions: Uint32Array, w: number, slotOffset: number, qf: number, budget: number, nc: number): number {
    let candidates = this.candidates;
    if (nc + 2 > candidates.length) candidates = this.candidates = growInt32(candidates, nc * 2 + 2);
    const f = regions[w]!;
    if (POPCOUNT16[(f & 0xffff) ^ qf]! <= budget) candidates[nc++] = regions[2 * w + slotOffset]!;
    if (POPCOUNT16[(f >>> 16) ^ qf]! <= budget) candidates[nc++] = regions[2 * w + slotOffset + 1]!;
    return nc;
  }

  /**
   * The distinct buckets to probe in a table of `bits` bits for segment s at radius r: the flip masks cut
   * to the table's width, duplicates removed (a table narrower than its segment would otherwise scan
   * some buckets several times). Cached: there are only a few (segment, radius, width) combinations.
   */
  private bucketMasks(s: number, r: number, bits: number): Int32Array {
    const key = (s * 8 + r) * 32 + bits;
    let masks = this.maskCache.get(key);
    if (!masks) {
      const full = this.masks[s]!.subarray(0, probeCount(SEGMENT_LENGTHS[s]!, r));
      masks = Int32Array.from(new Set(Array.from(full, (m) => m & ((1 << bits) - 1))));
      this.maskCache.set(key, masks);
      const total = SEGMENT_LENGTHS.reduce((a, l, i) => a + probeCount(l, Math.max(r, this.radii[i]!)), 0);
      if (this.starts.length < total) {
        this.starts = new Uint32Array(total);
        this.ends = new Uint32Array(total);
      }
    }
    return masks;
  }

  private linkDelta(slot: number): void {
    const d = slot - this.baseSlots;
    if (d >= this.deltaNext[0]!.length) this.deltaNext = this.deltaNext.map((a) => growInt32(a, (d + 1) * 2));
    if (d + 1 > 1 << this.deltaBits[0]!) {
      this.resetDelta(d + 1);
      for (let i = 0; i < d; i++) this.linkDeltaEntry(i);
    }
    this.linkDeltaEntry(d);
  }

  private linkDeltaEntry(d: number): void {
    const slot = this.baseSlots + d;
    for (let s = 0; s < M; s++) {
      const b = segmentValue(this.words, slot * 8, s) & ((1 << this.deltaBits[s]!) - 1);
      this.deltaNext[s]![d] = this.deltaHeads[s]![b]!;
      this.deltaHeads[s]![b] = d;
    }
  }

  private resetDelta(entries: number): void {
    this.deltaBits = SEGMENT_LENGTHS.map((_, s) => tableBitsFor(entries * 2, s));
    this.deltaHeads = this.deltaBits.map((b) => new Int32Array(1 << b).fill(-1));
    if (entries === 0) this.deltaNext = SEGMENT_LENGTHS.map(() => new Int32Array(256));
  }

  private maybeCompact(): void {
    const limit = Math.max(MIN_COMPACT, this.count >> 2);
    if (this.slots - this.baseSlots > limit || this.dead > limit) this.compact();
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.capacity) return;
    // doubling while small; a quarter more once large, so the first add after a 10M-hash load does
    // not double the hashes' 320 MB (still amortised O(1) a slot)
    let capacity = this.capacity;
    while (capacity < needed) capacity += capacity < 1 << 20 ? capacity : capacity >>> 2;
    const words = new Uint32Array(capacity * 8);
    words.set(this.words);
    const keys = new Uint32Array(capacity);
    keys.set(this.keys);
    const live = new Uint8Array(capacity);
    live.set(this.live);
    this.words = words;
    this.keys = keys;
    this.live = live;
    this.capacity = capacity;
  }
}

/** A Uint32Array whose memory is not zero-filled: for arrays the caller writes in full before reading. */
function uninitialisedUint32(length: number): Uint32Array {
  return new Uint32Array(Buffer.allocUnsafeSlow(length * 4).buffer, 0, length);
}

/** Per group (bucket >>> lowBits), the entries of segments 2w and 2w + 1 of n hashes. */
function countGroups(words: Uint32Array, n: number, w: number, bits: number, lowBits: number, even: Uint32Array, odd: Uint32Array): void {
  const mask = (1 << bits) - 1;
  for (let slot = 0; slot < n; slot++) {
    const x = words[slot * 8 + w]!;
    even[(x & mask) >>> lowBits]!++;
    odd[((x >>> 16) & mask) >>> lowBits]!++;
  }
}

/** Each group's first entry (and, last, the total): the prefix sums of the counts. */
function groupStarts(counts: Uint32Array): Uint32Array {
  const starts = new Uint32Array(counts.length + 1);
  for (let g = 0; g < counts.length; g++) starts[g + 1] = starts[g]! + counts[g]!;
  return starts;
}

/**
 * The build's first pass for the pair of segments in word w: (slot, word) of every hash into each
 * segment's scratch, grouped by the segment's group (stable: slots ascend within a group). It also counts
 * the groups of word `nextW` for the next pair's pass.
 */
function scatterPair(words: Uint32Array, n: number, w: number, nextW: number, bits: number, lowBits: number, starts: readonly [Uint32Array, Uint32Array], temps: readonly [Uint32Array, Uint32Array], next: readonly [Uint32Array, Uint32Array]): void {
  const mask = (1 << bits) - 1;
  const evenAt = starts[0].slice();
  const oddAt = starts[1].slice();
  const [evenTemp, oddTemp] = temps;
  const [nextEven, nextOdd] = next;
  for (let slot = 0; slot < n; slot++) {
    const x = words[slot * 8 + w]!;
    const a = evenAt[(x & mask) >>> lowBits]!++ * 2;
    evenTemp[a] = slot;
    evenTemp[a + 1] = x;
    const b = oddAt[((x >>> 16) & mask) >>> lowBits]!++ * 2;
    oddTemp[b] = slot;
    oddTemp[b + 1] = x;
    const y = words[slot * 8 + nextW]!;
    nextEven[(y & mask) >>> lowBits]!++;
    nextOdd[((y >>> 16) & mask) >>> lowBits]!++;
  }
}

/**
 * The build's second pass for one segment (`half` of its word: 0 low, 1 high): group by group, count the
 * buckets, lay out their regions (c + ⌈c/2⌉ words: the partner segments as 16-bit filters, then the
 * slots) and place the group's entries. The regions array is allocated for the most it can need (every
 * bucket odd) and returned as a view of what is used: the untouched tail is never paged in.
 */
function placeSegment(temp: Uint32Array, starts: Uint32Array, half: number, bits: number, lowBits: number, n: number): { offsets: Uint32Array; regions: Uint32Array } {
  const buckets = 1 << bits;
  const shift = half * 16;
  const partnerShift = 16 - shift;
  const lowMask = (1 << lowBits) - 1;
  const capacity = n + ((n + buckets) >>> 1);
  const regions = uninitialisedUint32(capacity);
  const filters = new Uint16Array(regions.buffer, 0, capacity * 2);
  const offsets = new Uint32Array(buckets + 1);
  const counts = new Int32Array(lowMask + 1);
  const filterAt = new Int32Array(lowMask + 1);
  const slotAt = new Int32Array(lowMask + 1);
  let at = 0;
  for (let g = 0; g < starts.length - 1; g++) {
    const from = starts[g]!;
    const end = starts[g + 1]!;
    counts.fill(0);
    for (let i = from; i < end; i++) counts[(temp[2 * i + 1]! >>> shift) & lowMask]!++;
    const first = g << lowBits;
    for (let v = 0; v <= lowMask; v++) {
      const c = counts[v]!;
      offsets[first + v] = at;
      filterAt[v] = at * 2;
      slotAt[v] = at + ((c + 1) >>> 1);
      at += c + ((c + 1) >>> 1);
    }
    for (let i = from; i < end; i++) {
      const x = temp[2 * i + 1]!;
      const v = (x >>> shift) & lowMask;
      filters[filterAt[v]!++] = (x >>> partnerShift) & 0xffff;
      regions[slotAt[v]!++] = temp[2 * i]!;
    }
    // an odd bucket's last filter word has a padding half: zero, as the stored format always had
    for (let v = 0; v <= lowMask; v++) if (counts[v]! & 1) filters[filterAt[v]!] = 0;
  }
  offsets[buckets] = at;
  return { offsets, regions: regions.subarray(0, at) };
}

/** Entries in a bucket region of `size` words (size = c + ⌈c/2⌉). */
function regionEntries(size: number): number {
  return ((size * 2) / 3) | 0;
}

/** Filter words at the start of a bucket region of `size` words. */
function filterWords(size: number): number {
  return size - regionEntries(size);
}

function growInt32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}

function checkKey(key: number): void {
  if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw new RangeError(`index keys are uint32, not ${key}`);
}

function toWords(hash: PdqHash | string | Uint32Array): Uint32Array {
  if (hash instanceof Uint32Array) {
    if (hash.length !== 8) throw new RangeError('a packed PDQ hash is 8 words');
    return hash;
  }
  if (typeof hash === 'string') {
    if (!PdqHash.isHex(hash)) throw new TypeError(`a PDQ hash is 64 hex digits, got "${hash.slice(0, 80)}"`);
    const words = new Uint32Array(8);
    hexToWords(hash, words, 0);
    return words;
  }
  return hash.toWords();
}

/** The reference answer: a linear scan over n packed hashes. Returns [index, distance] pairs. */
export function bruteForceSearch(words: Uint32Array, n: number, query: Uint32Array, maxDistance: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const d = distance256(words, i, query, 0);
    if (d <= maxDistance) out.push([i, d]);
  }
  return out;
}
