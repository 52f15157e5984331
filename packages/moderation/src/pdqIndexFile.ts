/**
 * A PdqIndex stored in a file, so a matcher reopens a 10M-hash bank in about a second instead of
 * reading every row and rebuilding (the tables are what the build computes; reading them back is a copy).
 *
 * Format (little-endian, this machine's typed-array order): "DLPDQIX1", a uint32 header length, the header
 * (JSON: the snapshot's numbers, each array's type and length, and the caller's `about`: what the
 * index holds, so the caller can tell whether it is still current), then each array's bytes, each
 * starting at a multiple of 8. Written to a temporary name and renamed, so a reader never sees half a file.
 */
import { closeSync, openSync, readSync, renameSync, writeSync, fstatSync } from 'node:fs';
import type { PdqIndexSnapshot } from './pdqIndex.ts';
import { PdqIndex } from './pdqIndex.ts';

const MAGIC = 'DLPDQIX1';

interface Header {
  maxDistance: number;
  count: number;
  baseBits: number[];
  arrays: Array<{ type: 'u32' | 'u16'; length: number }>;
  about: unknown;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function writePdqIndexFile(path: string, index: PdqIndex, about: unknown): void {
  const snapshot = index.toSnapshot();
  const header: Header = {
    maxDistance: snapshot.maxDistance,
    count: snapshot.count,
    baseBits: snapshot.baseBits,
    arrays: snapshot.arrays.map((a) => ({ type: a instanceof Uint16Array ? 'u16' : 'u32', length: a.length })),
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
    let at = 12 + jsonLength + pad8(12 + jsonLength);
    const arrays: Array<Uint32Array | Uint16Array> = [];
    for (const spec of header.arrays) {
      const a = spec.type === 'u16' ? new Uint16Array(spec.length) : new Uint32Array(spec.length);
      const bytes = new Uint8Array(a.buffer);
      if (at + bytes.length > size) return undefined;
      for (let done = 0; done < bytes.length; ) {
        const n = readSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 28), at + done);
        if (n <= 0) return undefined;
        done += n;
      }
      arrays.push(a);
      at += bytes.length + pad8(bytes.length);
    }
    const snapshot: PdqIndexSnapshot = { maxDistance: header.maxDistance, count: header.count, baseBits: header.baseBits, arrays };
    return { index: PdqIndex.fromSnapshot(snapshot), about: header.about };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
