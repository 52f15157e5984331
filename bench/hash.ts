/**
 * Hashing and matching benchmark (`npm run bench:hash`):
 *   - PDQ images/s by image size (JPEG decode with sharp + the reference's 512 px pre-resize + PDQ), and
 *     the same without the decode (resize + PDQ on decoded pixels); the headline `pdq_images_per_s` is decode+hash over Meta's reference
 *     test images in ../shared/pdq-reference (all sizes, up to 12 MP), or 1024² JPEGs when absent;
 *   - Meta's reference implementation, if one can be installed from a package registry here (it is
 *     looked for, and the reason is printed and `reference_images_per_s` is null when it cannot be);
 *   - the matcher (PdqIndex, radius 31) at 1M and 10M hashes, 80% random and 20% near duplicates (0–31
 *     bits from another stored hash): load time, queries/s on one core (half the queries near
 *     duplicates of stored hashes, half random), recall against a brute-force scan on a sample of
 *     queries, and memory (the index's typed arrays, and the process RSS growth).
 * Rates are per CPU-second of this process (process.cpuUsage, sharp held to one thread), since the 2-core
 * machine is shared and wall time would count other people's work; wall-clock rates are reported beside.
 *   - a bank in the store: importing PDQ signals into SQLite, and loading them into a Matcher (wall time),
 *     by the packed fast path (Matcher.load) and by the former row-object path for comparison.
 * HASH_BENCH_SIZES=1000000 (comma-separated) runs fewer index sizes, HASH_BENCH_QUERIES the query count,
 * HASH_BENCH_STORE_SIZES the bank sizes (default 1000000; HASH_BENCH_STORE_SIZES=1000000,10000000 adds
 * the 10M bank, about 3 more minutes, most of it filling the SQLite file); HASH_BENCH_STORE_POSTGRES=1
 * also loads the first size from a PostgreSQL started for the run.
 * Writes bench/results/hash.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { BankStore, Matcher, PdqIndex, bruteForceSearch, hexToWords, lumaFromPixels, pdqFromLuma, pdqHashImage, prepareSignal, referenceResize } from '@doublelock/moderation';
import { openDb } from '@doublelock/store';
import { findPostgresBin, startPostgres, type RunningPostgres } from '@doublelock/store/test-postgres';
import { printTable, writeResults } from './lib/report.ts';

const SIZES = (process.env.HASH_BENCH_SIZES ?? '1000000,10000000').split(',').map(Number);
const STORE_SIZES = (process.env.HASH_BENCH_STORE_SIZES ?? '1000000').split(',').map(Number);
const QUERIES = Number(process.env.HASH_BENCH_QUERIES ?? 5000);
const REFERENCE = join(fileURLToPath(new URL('../../shared/pdq-reference', import.meta.url)));

function xorshift(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** CPU seconds used by this process since `from` (all its threads: sharp is held to one below). */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
}

function perturb(words: Uint32Array, at: number, bits: number, next: () => number): void {
  for (let f = 0; f < bits; f++) {
    const bit = next() % 256;
    words[at + (bit >> 5)]! ^= 1 << (bit & 31);
  }
}

async function pdqBySize() {
  const rows: Array<{ size: string; decode_and_hash_per_s: number; decode_and_hash_per_wall_s: number; hash_only_per_s: number }> = [];
  for (const side of [256, 512, 1024, 2048, 4000]) {
    // a textured picture (mandelbrot from ffmpeg's lavfi when available, else noise), as JPEG q90
    let raw: Buffer;
    try {
      raw = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `mandelbrot=size=${side}x${Math.round(side * 0.75)}`, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'], { maxBuffer: 1 << 28 });
    } catch {
      raw = await sharp({ create: { width: side, height: Math.round(side * 0.75), channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
    }
    const jpeg = await sharp(raw).jpeg({ quality: 90 }).toBuffer();
    const { data, info } = await sharp(raw).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const reps = Math.max(3, Math.round(2e7 / (side * side)));
    await pdqHashImage(jpeg);
    let cpu = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < reps; i++) await pdqHashImage(jpeg);
    const fullWall = reps / ((performance.now() - t) / 1000);
    const full = reps / cpuSeconds(cpu);
    const small = Math.min(info.width, 512) === info.width && info.height <= 512;
    const decoded = { pixels: data, width: info.width, height: info.height, channels: 3, format: 'raw' };
    cpu = process.cpuUsage();
    for (let i = 0; i < reps; i++) {
      const s = referenceResize(decoded);
      pdqFromLuma(lumaFromPixels(s.pixels, s.width, s.height, 3), s.width, s.height);
    }
    const hashOnly = reps / cpuSeconds(cpu);
    rows.push({ size: `${info.width}×${info.height}${small ? '' : ' (→512²)'}`, decode_and_hash_per_s: full, decode_and_hash_per_wall_s: fullWall, hash_only_per_s: hashOnly });
  }
  return rows;
}

async function pdqOnReferenceSet(): Promise<{ imagesPerS: number; wallImagesPerS: number; images: number; source: string }> {
  const files: string[] = [];
  if (existsSync(join(REFERENCE, 'README.md'))) {
    for (const folder of ['synthetic', 'meta']) {
      for (const line of readFileSync(join(REFERENCE, folder, 'expected.csv'), 'utf8').split(/\r?\n/)) {
        const file = line.split(',')[2];
        if (file) files.push(join(REFERENCE, folder, file));
      }
    }
  }
  if (!files.length) {
    const jpeg = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    const cpu = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < 20; i++) await pdqHashImage(jpeg);
    return { imagesPerS: 20 / cpuSeconds(cpu), wallImagesPerS: 20 / ((performance.now() - t) / 1000), images: 20, source: '1024² noise JPEG (reference images absent)' };
  }
  const bytes = files.map((f) => readFileSync(f));
  for (const b of bytes.slice(0, 10)) await pdqHashImage(b);
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (const b of bytes) await pdqHashImage(b);
  const wall = bytes.length / ((performance.now() - t) / 1000);
  return { imagesPerS: bytes.length / cpuSeconds(cpu), wallImagesPerS: wall, images: bytes.length, source: `${bytes.length} images of ../shared/pdq-reference (PNG and JPEG, 4 px to 12 MP)` };
}

/** Looks for Meta's reference PDQ in the registries reachable here; returns why not when absent. */
function referenceImplementation(): { available: false; reason: string } {
  const tried: string[] = [];
  for (const name of ['pdq-wasm', 'pdqhash', 'pdq']) {
    try {
      execFileSync('npm', ['view', name, 'name'], { stdio: 'pipe', timeout: 20_000 });
      tried.push(`npm "${name}" exists but is not Meta's reference`);
    } catch {
      tried.push(`npm has no "${name}"`);
    }
  }
  try {
    const apt = execFileSync('apt-cache', ['search', '--names-only', 'pdq'], { stdio: 'pipe', timeout: 20_000 }).toString().trim();
    tried.push(apt ? `Debian: only ${apt.split('\n').map((l) => l.split(' ')[0]).join(', ')}` : 'Debian has no pdq package');
  } catch {
    tried.push('apt-cache unavailable');
  }
  try {
    execFileSync('python3', ['-m', 'pip', 'download', '--no-deps', '--retries', '0', '--timeout', '5', '-q', '-d', '/tmp/dl-pdq-probe', 'pdqhash'], { stdio: 'pipe', timeout: 60_000 });
    tried.push('PyPI pdqhash downloadable, but it wraps Meta C++ without the reference file loader (not run)');
  } catch {
    tried.push('PyPI (pdqhash, the Python binding of Meta C++) is not reachable from here');
  }
  return { available: false, reason: tried.join('; ') };
}

function matcherAt(n: number) {
  const next = xorshift(0x9e3779b9 ^ n);
  const t0 = performance.now();
  const words = new Uint32Array(n * 8);
  for (let i = 0; i < n; i++) {
    if (i > 1000 && next() % 5 === 0) {
      const from = next() % i;
      words.copyWithin(i * 8, from * 8, from * 8 + 8);
      perturb(words, i * 8, next() % 32, next);
    } else {
      for (let w = 0; w < 8; w++) words[i * 8 + w] = next();
    }
  }
  const generateS = (performance.now() - t0) / 1000;
  const rssBefore = process.memoryUsage().rss;
  const index = new PdqIndex({ capacity: n });
  const loadCpu = process.cpuUsage();
  let t = performance.now();
  index.addPacked(words, Uint32Array.from({ length: n }, (_, i) => i));
  const loadWallS = (performance.now() - t) / 1000;
  const loadUsed = process.cpuUsage(loadCpu);
  const loadS = (loadUsed.user + loadUsed.system) / 1e6;
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1e6;

  const queries = new Uint32Array(QUERIES * 8);
  for (let q = 0; q < QUERIES; q++) {
    if (q % 2 === 0) {
      const from = next() % n;
      queries.set(words.subarray(from * 8, from * 8 + 8), q * 8);
      perturb(queries, q * 8, next() % 32, next);
    } else {
      for (let w = 0; w < 8; w++) queries[q * 8 + w] = next();
    }
  }
  for (let q = 0; q < 200; q++) index.query(queries.subarray(q * 8, q * 8 + 8)); // warm-up
  // CPU time of this process (the machine is shared: wall time would count other people's work)
  const cpu = process.cpuUsage();
  t = performance.now();
  let found = 0;
  for (let q = 0; q < QUERIES; q++) found += index.query(queries.subarray(q * 8, q * 8 + 8)).length;
  const wallS = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const queriesPerS = QUERIES / ((used.user + used.system) / 1e6);

  let expected = 0;
  let matched = 0;
  // brute force costs ~0.3 s a query at 10M: 100 sampled queries at 1M, 40 at 10M (half near, half random)
  const half = n > 2_000_000 ? 20 : 50;
  const sample = [...Array.from({ length: half }, (_, i) => i * 2), ...Array.from({ length: half }, (_, i) => i * 2 + 1)];
  for (const q of sample) {
    const query = queries.subarray(q * 8, q * 8 + 8);
    const want = new Set(bruteForceSearch(words, n, query, 31).map(([i, d]) => `${i}:${d}`));
    const got = new Set(index.query(query).map((m) => `${m.key}:${m.distance}`));
    expected += want.size;
    for (const k of want) if (got.has(k)) matched++;
    if (got.size !== want.size) throw new Error(`recall mismatch at ${n} hashes, query ${q}: got ${got.size}, brute force ${want.size}`);
  }
  return {
    index_size: n,
    queries_per_s: Math.round(queriesPerS),
    queries_per_wall_s: Math.round(QUERIES / wallS),
    recall: expected ? matched / expected : 1,
    memory_mb: Math.round(index.memoryBytes / 1e6),
    rss_growth_mb: Math.round(rssGrowthMb),
    load_cpu_s: Number(loadS.toFixed(2)),
    load_wall_s: Number(loadWallS.toFixed(2)),
    generate_s: Number(generateS.toFixed(2)),
    recall_sample: `${sample.length} queries, ${expected} true pairs`,
    matches_per_query: Number((found / QUERIES).toFixed(2)),
  };
}

/**
 * The former PDQ load path (kept here as the "before" figure): pages of {id, value} row objects, each
 * hex value parsed into words, then one addPacked.
 */
async function rowPathLoad(banks: BankStore, bank: string): Promise<number> {
  const chunks: Array<{ words: Uint32Array; ids: Uint32Array }> = [];
  let n = 0;
  for await (const page of banks.signalValues(bank, 'pdq')) {
    const words = new Uint32Array(page.length * 8);
    const ids = new Uint32Array(page.length);
    page.forEach((row, i) => {
      hexToWords(row.value, words, i * 8);
      ids[i] = Number(row.id);
    });
    chunks.push({ words, ids });
    n += page.length;
  }
  const words = new Uint32Array(n * 8);
  const ids = new Uint32Array(n);
  let at = 0;
  for (const c of chunks) {
    words.set(c.words, at * 8);
    ids.set(c.ids, at);
    at += c.ids.length;
  }
  const index = new PdqIndex({ capacity: n });
  index.addPacked(words, ids);
  return index.size;
}

/**
 * Fills a bank in a fresh SQLite file with n PDQ signals (multi-row INSERTs through the Db seam; the
 * per-signal import rate is measured on the first 100,000 through importSignals), then loads it into a
 * Matcher (the packed fast path), and through the former row path for comparison. Wall time.
 */
async function bankLoad(n: number, postgres?: RunningPostgres) {
  const dir = mkdtempSync(join(tmpdir(), 'dl-bench-hash-'));
  const db = postgres ? await openDb({ databaseUrl: await postgres.createDatabase(`bench_hash_${n}`) }) : await openDb({ dataDir: dir });
  try {
    const banks = new BankStore(db);
    await banks.createBank('bench');
    const next = xorshift(7);
    const hex = () => {
      let h = '';
      for (let w = 0; w < 8; w++) h += next().toString(16).padStart(8, '0');
      return h;
    };
    const imported = Math.min(n, 100_000);
    async function* signals() {
      for (let i = 0; i < imported; i++) yield prepareSignal({ type: 'pdq', value: hex(), labels: ['tvec:glorification'], addedAt: 1 });
    }
    let t = performance.now();
    await banks.importSignals('bench', signals());
    const importPerS = imported / ((performance.now() - t) / 1000);
    const ROWS = 500;
    const insert = `INSERT INTO moderation_signals (bank, signal_type, value, value_key, labels, source, quality, added_at, removed_at) VALUES ${Array(ROWS).fill("('bench', 'pdq', ?, ?, 'tvec:glorification', '', 90, 1, NULL)").join(', ')}`;
    for (let done = imported; done < n; ) {
      await db.transaction(async (tx) => {
        for (let k = 0; k < 200 && done < n; k++, done += ROWS) {
          const params: string[] = [];
          for (let r = 0; r < ROWS; r++) {
            const v = hex();
            params.push(v, bytesToHex(sha256(new TextEncoder().encode(v))));
          }
          await tx.run(insert, params);
        }
      });
    }
    n = Math.ceil((n - imported) / ROWS) * ROWS + imported;
    if (typeof globalThis.gc === 'function') globalThis.gc();
    t = performance.now();
    const matcher = await Matcher.load(banks, ['bench']);
    const loadS = (performance.now() - t) / 1000;
    if (matcher.size !== n) throw new Error(`loaded ${matcher.size} of ${n}`);
    if (typeof globalThis.gc === 'function') globalThis.gc();
    t = performance.now();
    const rowLoaded = await rowPathLoad(banks, 'bench');
    const rowS = (performance.now() - t) / 1000;
    if (rowLoaded !== n) throw new Error(`row path loaded ${rowLoaded} of ${n}`);
    return {
      store: db.dialect,
      signals: n,
      load_s: Number(loadS.toFixed(2)),
      load_per_s: Math.round(n / loadS),
      row_path_load_s: Number(rowS.toFixed(2)),
      row_path_per_s: Math.round(n / rowS),
      import_per_s: Math.round(importPerS),
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = performance.now();
// One core: libvips may otherwise decode one image on several threads.
sharp.concurrency(1);
console.log('PDQ by image size (JPEG q90 of a textured picture):');
const bySize = await pdqBySize();
printTable(bySize);
const referenceSet = await pdqOnReferenceSet();
console.log(`\nPDQ on ${referenceSet.source}: ${referenceSet.imagesPerS.toFixed(1)} images per CPU-second (decode + hash, one core; ${referenceSet.wallImagesPerS.toFixed(1)}/s wall-clock)`);
const reference = referenceImplementation();
console.log(`Meta's reference implementation: not run — ${reference.reason}`);

console.log('\nMatcher (PdqIndex, radius 31, one core):');
const matcher = [];
for (const n of SIZES) {
  matcher.push(matcherAt(n));
  if (typeof globalThis.gc === 'function') globalThis.gc();
}
printTable(matcher);

console.log('\nBank in the store (SQLite file) → Matcher (wall time; row path = the former loader):');
const storeLoad = [];
for (const n of STORE_SIZES) {
  storeLoad.push(await bankLoad(n));
  if (typeof globalThis.gc === 'function') globalThis.gc();
}
if (process.env.HASH_BENCH_STORE_POSTGRES === '1') {
  const postgres = findPostgresBin() ? await startPostgres() : undefined;
  if (!postgres) console.log('PostgreSQL not installed: skipping the postgres bank load (install it, see .ci/run).');
  try {
    if (postgres) storeLoad.push(await bankLoad(STORE_SIZES[0]!, postgres));
  } finally {
    await postgres?.stop();
  }
}
printTable(storeLoad);

const results = {
  pdq_images_per_s: Number(referenceSet.imagesPerS.toFixed(1)),
  pdq_images_per_wall_s: Number(referenceSet.wallImagesPerS.toFixed(1)),
  pdq_images_source: referenceSet.source,
  pdq_by_size: bySize.map((r) => ({
    size: r.size,
    decode_and_hash_per_s: Number(r.decode_and_hash_per_s.toFixed(1)),
    decode_and_hash_per_wall_s: Number(r.decode_and_hash_per_wall_s.toFixed(1)),
    hash_only_per_s: Number(r.hash_only_per_s.toFixed(1)),
  })),
  reference_images_per_s: null,
  reference_unavailable_reason: reference.reason,
  matcher,
  // the first size's row in the former shape, kept for readers of earlier results
  store_load: { ...storeLoad[0]!, load_10m_estimate_s: Math.round(10_000_000 / storeLoad[0]!.load_per_s) },
  bank_load: storeLoad,
  bank_load_into_matcher_s: Object.fromEntries(storeLoad.map((r) => [`${r.store} ${r.signals}`, r.load_s])),
  run_seconds: Math.round((performance.now() - started) / 1000),
};
console.log(`\nwrote ${writeResults('hash', results)} in ${results.run_seconds} s`);
