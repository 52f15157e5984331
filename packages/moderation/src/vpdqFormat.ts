/**
 * vPDQ features, their file formats, and the vPDQ match rule.
 *
 * Spec: Meta's vPDQ (facebook/ThreatExchange `vpdq/`): a video is PDQ-hashed frame by frame at a fixed
 * sampling interval; two videos are compared by the share of their unique, good-quality frames that have
 * a near match in the other (vpdq/cpp/vpdq/cpp/hashing/matchTwoHash.cpp and python-threatexchange
 * extensions/vpdq/vpdq_brute_matcher.py: dedupe by exact hash, drop frames with quality < 50, a frame
 * matches at Hamming distance ≤ 31, and the videos match when both percentages reach 80%).
 *
 * Formats:
 *   - hash file (vpdq-hash-video output, vpdq/cpp/vpdq/cpp/io/vpdqio.cpp): one frame a line,
 *     `frame_number,quality,pdq_hex,timestamp_seconds` with the timestamp to 3 decimals;
 *   - signal string (HMA / python-threatexchange vpdq_util.vpdq_to_json): a JSON array of
 *     "pdq_hex,quality,timestamp" strings, the form banks store and exchange.
 */
import { FormatError } from './errors.ts';
import { PDQ_MATCH_THRESHOLD, PDQ_QUALITY_THRESHOLD } from './pdq.ts';
import { PdqHash } from './pdqHash.ts';

export interface VpdqFeature {
  frame: number;
  quality: number;
  hash: PdqHash;
  /** seconds from the start of the video */
  timestamp: number;
}

export const VPDQ_MATCH_PERCENT = 80;

function checkFeature(frame: number, quality: number, timestamp: number, line?: number): void {
  if (!Number.isInteger(frame) || frame < 0) throw new FormatError(`frame number must be a non-negative integer, not ${frame}`, line);
  if (!Number.isInteger(quality) || quality < 0 || quality > 100) throw new FormatError(`quality must be an integer 0–100, not ${quality}`, line);
  if (!Number.isFinite(timestamp) || timestamp < 0) throw new FormatError(`timestamp must be a non-negative number, not ${timestamp}`, line);
}

function parseHash(hex: string | undefined, line?: number): PdqHash {
  if (!hex || !PdqHash.isHex(hex.trim())) throw new FormatError(`not a 64-hex-digit PDQ hash: "${(hex ?? '').slice(0, 80)}"`, line);
  return PdqHash.fromHex(hex.trim());
}

/** Reads a vpdq-hash-video hash file. */
export function parseVpdqHashFile(text: string): VpdqFeature[] {
  const features: VpdqFeature[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    const parts = raw.split(',');
    if (parts.length < 4) throw new FormatError('expected frame,quality,pdq_hex,timestamp', i + 1);
    const frame = Number(parts[0]);
    const quality = Number(parts[1]);
    const timestamp = Number(parts[3]);
    checkFeature(frame, quality, timestamp, i + 1);
    features.push({ frame, quality, hash: parseHash(parts[2], i + 1), timestamp });
  });
  if (features.length === 0) throw new FormatError('empty vPDQ hash file');
  return features;
}

/** Writes the vpdq-hash-video hash file format. */
export function formatVpdqHashFile(features: readonly VpdqFeature[]): string {
  return features.map((f) => `${f.frame},${f.quality},${f.hash.toHex()},${f.timestamp.toFixed(3)}\n`).join('');
}

/** Reads HMA's vPDQ signal string (JSON array of "hex,quality,timestamp"); frames are numbered in order. */
export function parseVpdqSignal(value: string): VpdqFeature[] {
  let items: unknown;
  try {
    items = JSON.parse(value);
  } catch {
    throw new TypeError('a vpdq value is a JSON array of "pdq_hex,quality,timestamp" strings');
  }
  if (!Array.isArray(items) || items.length === 0) throw new TypeError('a vpdq value is a non-empty JSON array of "pdq_hex,quality,timestamp" strings');
  return items.map((item, frame) => {
    if (typeof item !== 'string') throw new TypeError(`vpdq feature ${frame} is not a string`);
    const [hex, q, t, extra] = item.split(',');
    if (extra !== undefined || t === undefined) throw new TypeError(`vpdq feature ${frame} is not "pdq_hex,quality,timestamp"`);
    const quality = Number(q);
    const timestamp = Number(t);
    checkFeature(frame, quality, timestamp);
    return { frame, quality, hash: parseHash(hex), timestamp };
  });
}

export function formatVpdqSignal(features: readonly VpdqFeature[]): string {
  return JSON.stringify(features.map((f) => `${f.hash.toHex()},${f.quality},${f.timestamp.toFixed(3)}`));
}

/** Keeps the first frame of each distinct hash (vPDQ's dedupe). */
export function dedupeFeatures(features: readonly VpdqFeature[]): VpdqFeature[] {
  const seen = new Set<string>();
  return features.filter((f) => {
    const hex = f.hash.toHex();
    if (seen.has(hex)) return false;
    seen.add(hex);
    return true;
  });
}

export interface VpdqMatchOptions {
  distance?: number;
  quality?: number;
  percent?: number;
}

export interface VpdqMatchResult {
  /** % of the query's unique good frames with a match in the target */
  queryMatchPercent: number;
  /** % of the target's unique good frames with a match in the query */
  targetMatchPercent: number;
  /** both percentages ≥ the threshold (80%) */
  match: boolean;
}

/** vPDQ's brute-force video-to-video comparison. */
export function matchVpdq(query: readonly VpdqFeature[], target: readonly VpdqFeature[], options: VpdqMatchOptions = {}): VpdqMatchResult {
  const distance = options.distance ?? PDQ_MATCH_THRESHOLD;
  const quality = options.quality ?? PDQ_QUALITY_THRESHOLD;
  const percent = options.percent ?? VPDQ_MATCH_PERCENT;
  const q = dedupeFeatures(query).filter((f) => f.quality >= quality);
  const t = dedupeFeatures(target).filter((f) => f.quality >= quality);
  if (q.length === 0 || t.length === 0) return { queryMatchPercent: 0, targetMatchPercent: 0, match: false };
  const share = (a: VpdqFeature[], b: VpdqFeature[]) => (100 * a.filter((x) => b.some((y) => x.hash.distance(y.hash) <= distance)).length) / a.length;
  const queryMatchPercent = share(q, t);
  const targetMatchPercent = share(t, q);
  return { queryMatchPercent, targetMatchPercent, match: queryMatchPercent >= percent && targetMatchPercent >= percent };
}
