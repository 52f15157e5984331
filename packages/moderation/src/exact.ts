/**
 * Exact hashers: SHA-256 (our own lists) and MD5 (interchange with existing industry lists, which are
 * keyed by MD5). Both stream, so a large video never sits in memory.
 *
 * Both come from @noble/hashes, as all our hashing does: SHA-256 from `sha2`, MD5 from `legacy` (present
 * in @noble/hashes 2.x for exactly this kind of interchange). MD5 here is an identifier for list
 * interchange, never a security boundary.
 */
import { createReadStream } from 'node:fs';
import { md5 as md5Hash } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface ExactHashes {
  md5: string;
  sha256: string;
  bytes: number;
}

/** MD5 and SHA-256 of bytes or of a stream of chunks, in one pass. */
export async function exactHashes(input: Uint8Array | AsyncIterable<Uint8Array>): Promise<ExactHashes> {
  const md5 = md5Hash.create();
  const sha = sha256.create();
  let bytes = 0;
  const chunks: AsyncIterable<Uint8Array> | Uint8Array[] = input instanceof Uint8Array ? [input] : input;
  for await (const chunk of chunks) {
    md5.update(chunk);
    sha.update(chunk);
    bytes += chunk.length;
  }
  return { md5: bytesToHex(md5.digest()), sha256: bytesToHex(sha.digest()), bytes };
}

/** Streams a file through both hashes. */
export function exactHashesOfFile(path: string): Promise<ExactHashes> {
  return exactHashes(createReadStream(path, { highWaterMark: 1 << 20 }));
}

const HEX = { md5: /^[0-9a-f]{32}$/, sha256: /^[0-9a-f]{64}$/ } as const;

/** Lower-cases and checks an exact hash from a list. */
export function normaliseExactHash(type: 'md5' | 'sha256', value: string): string {
  const v = value.trim().toLowerCase();
  if (!HEX[type].test(v)) throw new TypeError(`an ${type.toUpperCase()} hash is ${type === 'md5' ? 32 : 64} hex digits, got "${value.slice(0, 80)}"`);
  return v;
}
