import { expand } from '@noble/hashes/hkdf.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { keyedExpand } from '../src/mls/keyedExpand.ts';

describe('keyedExpand (HKDF-Expand with HMAC keyed once per key)', () => {
  it('gives RFC 5869 test case 1 (A.1)', () => {
    const prk = hexToBytes('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    const info = hexToBytes('f0f1f2f3f4f5f6f7f8f9');
    // The test case's OKM is 42 bytes (two blocks, noble's path); its first 32 are T(1), our fast path.
    const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
    const fast = keyedExpand(sha256);
    expect(Buffer.from(fast(prk, info, 32)).toString('hex')).toBe(okm.slice(0, 64));
    expect(Buffer.from(fast(prk, info, 42)).toString('hex')).toBe(okm);
  });

  it('matches noble for every length, key and info, across cache hits, misses and a key array rewritten in place', () => {
    for (const hash of [sha256, sha512]) {
      const fast = keyedExpand(hash, 2);
      const keys = Array.from({ length: 5 }, (_, i) => new Uint8Array(hash.outputLen).fill(i + 1));
      for (let round = 0; round < 3; round++) {
        for (const key of keys) {
          for (const length of [1, 12, 16, 32, hash.outputLen, hash.outputLen + 1]) {
            const info = new Uint8Array(round * 7 + length).fill(length);
            expect(fast(key, info, length)).toEqual(expand(hash, key, info, length));
          }
        }
        // The same array now holds another key: the cached keyed state must not be used for it.
        keys[0]![0]! ^= 0xff;
        expect(fast(keys[0]!, new Uint8Array(3), 16)).toEqual(expand(hash, keys[0]!, new Uint8Array(3), 16));
      }
    }
  });
});
