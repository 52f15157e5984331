/**
 * A 256-bit PDQ hash. Canonical text form is the reference's: 64 lowercase hex digits, the sixteen 16-bit
 * words from most to least significant (pdqhashtypes.cpp `Hash256::format`), which is the same as the 32
 * bytes big-endian. Bit k of the reference (DCT coefficient k = 16·row + column) is bit k mod 8 of byte
 * 31 − ⌊k/8⌋.
 */
import { popcount32 } from './hamming.ts';

const HEX = /^[0-9a-fA-F]{64}$/;

export class PdqHash {
  private constructor(readonly bytes: Uint8Array) {}

  static fromBytes(bytes: Uint8Array): PdqHash {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw new TypeError('a PDQ hash is exactly 32 bytes');
    return new PdqHash(Uint8Array.from(bytes));
  }

  static fromHex(hex: string): PdqHash {
    if (typeof hex !== 'string' || !HEX.test(hex)) throw new TypeError(`a PDQ hash is 64 hex digits, got "${String(hex).slice(0, 80)}"`);
    return new PdqHash(Uint8Array.from(Buffer.from(hex, 'hex')));
  }

  static isHex(value: string): boolean {
    return HEX.test(value);
  }

  static zero(): PdqHash {
    return new PdqHash(new Uint8Array(32));
  }

  toHex(): string {
    return Buffer.from(this.bytes).toString('hex');
  }

  toString(): string {
    return this.toHex();
  }

  /** The hash as eight 32-bit words (big-endian), the matcher's packed form. */
  toWords(): Uint32Array {
    const words = new Uint32Array(8);
    writeWords(this.bytes, words, 0);
    return words;
  }

  /** Reference bit numbering (k = 16·row + column of the DCT). */
  bit(k: number): 0 | 1 {
    return ((this.bytes[31 - (k >> 3)]! >> (k & 7)) & 1) as 0 | 1;
  }

  distance(other: PdqHash): number {
    let d = 0;
    for (let i = 0; i < 32; i++) d += popcount32(this.bytes[i]! ^ other.bytes[i]!);
    return d;
  }

  equals(other: PdqHash): boolean {
    return this.distance(other) === 0;
  }
}

/** Packs 32 hash bytes into words[offset..offset+8) big-endian. */
export function writeWords(bytes: Uint8Array, words: Uint32Array, offset: number): void {
  for (let w = 0; w < 8; w++) {
    const b = w * 4;
    words[offset + w] = ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) >>> 0;
  }
}

/** Parses 64 hex digits straight into words[offset..offset+8), without allocating (bulk loading). */
export function hexToWords(hex: string, words: Uint32Array, offset: number): void {
  if (hex.length !== 64) throw new TypeError(`a PDQ hash is 64 hex digits, got ${hex.length}`);
  for (let w = 0; w < 8; w++) {
    let v = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const c = hex.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) throw new TypeError(`not a hex PDQ hash: "${hex}"`);
      v = (v << 4) | d;
    }
    words[offset + w] = v >>> 0;
  }
}

export function wordsToHex(words: Uint32Array, offset: number): string {
  let s = '';
  for (let w = 0; w < 8; w++) s += words[offset + w]!.toString(16).padStart(8, '0');
  return s;
}
