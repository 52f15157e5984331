/**
 * A PdqIndex stored in a file, so a matcher reopens a 10M-hash bank in about a second instead of
 * reading every row and rebuilding (the tables are what the build computes; reading them back is a copy).
 *
 * Format (little-endian, this machine's typed-array order): "DLPDQIX2", a uint32 header length, the header
 * (JSON: the snapshot's numbers, each array's type and length, and the caller's `about`: what the
 * index holds, so the caller can tell whether it is still current), then each array's bytes, each
 * starting at a multiple of 8. Written to a temporary name and renamed, so a reader never sees half a file.
 */
import { closeSync, openSync, readSync, renameSync, writeSync, fstatSync } from 'node:fs';
import type { PdqIndexSnapshot } from './pdqIndex.ts';
import { PdqIndex } from './pdqIndex.ts';

// version 3: 16 segments of 16 bits, each bucket's filters and slots in one region (an older file is not
// read: the matcher rebuilds and rewrites it)
const MAGIC = 'DLPDQIX3';

interface Header {
  maxDistance: number;
  count: number;
  baseBits: number[];
  arrays: Array<{ type: 'u32'; length: number }>;
  about: unknown;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function writePdqIndexFile(path: string, index: PdqIndex, about: unknown): void {
  const snapshot = index.toSnapshot();
  const header: Header = {
    maxDistance: snapshot.maxDistance,
    count: snapshot.count,
    baseBits: snapshot.baseBits,
    arrays: snapshot.arrays.map((a) => ({ type: 'u32' as const, length: a.length })),
    about,
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8 + 4 + json.length + pad8(12 + json.length));
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  json.copy(head, 12);
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, head);
    const zeros = Buffer.alloc(8);
    for (const a of snapshot.arrays) {
      const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      // large writes in pieces (a single write is capped near 2 GB)
      for (let at = 0; at < bytes.length; at += 1 << 28) writeSync(fd, bytes.subarray(at, Math.min(bytes.length, at + (1 << 28))));
      writeSync(fd, zeros, 0, pad8(bytes.length));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** The index and its `about`, or undefined when the file is missing, truncated or not an index file. */
export function readPdqIndexFile(path: string): { index: PdqIndex; about: unknown } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const start = Buffer.alloc(12);
    if (readSync(fd, start, 0, 12, 0) !== 12 || start.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const jsonLength = start.readUInt32LE(8);
    if (jsonLength > 1 << 20 || 12 + jsonLength > size) return undefined;
    const json = Buffer.alloc(jsonLength);
    readSync(fd, json, 0, jsonLength, 12);
    const header = JSON.parse(json.toString()) as Header;
    // Every array in one buffer read in one go, not zero-filled first (the read overwrites all of it),
    // each array a view at its 8-aligned place.
    const first = 12 + jsonLength + pad8(12 + jsonLength);
    let total = 0;
    for (const spec of header.arrays) {
      if (spec.type !== 'u32' || !Number.isSafeInteger(spec.length) || spec.length < 0) return undefined;
      const bytes = spec.length * 4;
      total += bytes + pad8(bytes);
    }
    if (first + total > size) return undefined;
    const buffer = Buffer.allocUnsafeSlow(total);
    for (let done = 0; done < total; ) {
      const n = readSync(fd, buffer, done, Math.min(total - done, 1 << 30), first + done);
      if (n <= 0) return undefined;
      done += n;
    }
    const arrays: Uint32Array[] = [];
    let at = buffer.byteOffset;
    for (const spec of header.arrays) {
      const a = new Uint32Array(buffer.buffer, at, spec.length);
      arrays.push(a);
      at += a.byteLength + pad8(a.byteLength);
    }
    const snapshot: PdqIndexSnapshot = { maxDistance: header.maxDistance, count: header.count, baseBits: header.baseBits, arrays };
    return { index: PdqIndex.fromSnapshot(snapshot), about: header.about };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
