/**
 * The "invisible salamanders" attack (Dodis, Grubbs, Ristenpart, Woodage, CRYPTO 2018), mounted for real
 * on the AEAD under the envelope: XChaCha20-Poly1305 is not key-committing, so one ciphertext can verify
 * under two keys. We build such a ciphertext with the multi-key collision of Len, Grubbs and Ristenpart
 * ("Partitioning Oracle Attacks", USENIX Security 2021, §3: solve the Poly1305 equations for one free
 * ciphertext block), check that the bare AEAD really opens it under both keys to two different
 * plaintexts, and then that the envelope's committing AEAD (committingAead.ts) opens it under one key
 * only — which is what keeps an escrowed K (or a franking report) from opening a different message than
 * the one the recipient saw.
 */
import { xchacha20, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { DecryptionFailed, NONCE_BYTES, open, seal } from '../src/envelope/committingAead.ts';

const P = (1n << 130n) - 5n;
const CLAMP = 0x0ffffffc0ffffffc0ffffffc0fffffffn;
const le = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
const toLe = (n: bigint, length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const mod = (a: bigint) => ((a % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  for (b = mod(b); e > 0n; e >>= 1n, b = mod(b * b)) if (e & 1n) r = mod(r * b);
  return r;
}
const inv = (a: bigint) => pow(a, P - 2n);

/** Poly1305 one-time key (r, s) of XChaCha20-Poly1305 for (key, nonce): the first 32 keystream bytes. */
function polyKey(key: Uint8Array, nonce: Uint8Array) {
  const block = xchacha20(key, nonce, new Uint8Array(32));
  return { r: le(block.subarray(0, 16)) & CLAMP, s: le(block.subarray(16, 32)) };
}

/** The 16-byte blocks Poly1305 authenticates (RFC 8439 §2.8): aad, padded; ciphertext, padded; lengths. */
function macBlocks(aad: Uint8Array, ct: Uint8Array): bigint[] {
  const pad = (b: Uint8Array) => {
    const out = new Uint8Array(Math.ceil(b.length / 16) * 16);
    out.set(b);
    return out;
  };
  const data = new Uint8Array([...pad(aad), ...pad(ct), ...toLe(BigInt(aad.length), 8), ...toLe(BigInt(ct.length), 8)]);
  return Array.from({ length: data.length / 16 }, (_, j) => le(data.subarray(16 * j, 16 * j + 16)) + (1n << 128n));
}

const tagOf = (blocks: bigint[], r: bigint, s: bigint) => (blocks.reduce((h, n) => mod((h + n) * r), 0n) + s) % (1n << 128n);

/** One 32-byte ciphertext and tag that XChaCha20-Poly1305 accepts under both keys (same nonce, aad). */
function twoKeyCiphertext(k1: Uint8Array, k2: Uint8Array, nonce: Uint8Array, aad: Uint8Array): Uint8Array {
  const a = polyKey(k1, nonce);
  const b = polyKey(k2, nonce);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const ct = new Uint8Array([...randomBytes(16), ...new Uint8Array(16)]);
    const blocks = macBlocks(aad, ct);
    const k = blocks.length - 2; // the free block: the second ciphertext block
    const e = BigInt(blocks.length - k); // its power of r
    // h(r) = base(r) + x·r^e with the free block's value x (its 2^128 bit is in base)
    const base = (r: bigint) => blocks.reduce((h, n, j) => mod((h + (j === k ? 1n << 128n : n)) * r), 0n);
    const x = mod((b.s - a.s - base(a.r) + base(b.r)) * inv(pow(a.r, e) - pow(b.r, e)));
    if (x >= 1n << 128n) continue; // not a 16-byte block
    ct.set(toLe(x, 16), 16);
    const blocksX = macBlocks(aad, ct);
    const t1 = tagOf(blocksX, a.r, a.s);
    if (t1 !== tagOf(blocksX, b.r, b.s)) continue; // equal mod p but not mod 2^128: try another block
    return new Uint8Array([...ct, ...toLe(t1, 16)]);
  }
  throw new Error('no two-key ciphertext found');
}

describe('invisible salamanders: one ciphertext, two keys', () => {
  it('the bare AEAD opens a crafted ciphertext under two keys; the committing AEAD under one only', () => {
    const aad = new TextEncoder().encode('doublelock/envelope-context/v1 group alice device msg');
    const nonce = randomBytes(NONCE_BYTES);
    // Two content keys, and the XChaCha20 keys the committing AEAD derives from them for this nonce.
    const K1 = randomBytes(32);
    const K2 = randomBytes(32);
    const encKey = (K: Uint8Array) => hmac(sha256, K, new Uint8Array([...new TextEncoder().encode('doublelock/commit-aead/v1/enc'), ...nonce]));
    const commitment = (K: Uint8Array) => hmac(sha256, K, new Uint8Array([...new TextEncoder().encode('doublelock/commit-aead/v1/com'), ...nonce]));
    const inner = twoKeyCiphertext(encKey(K1), encKey(K2), nonce, aad);

    // The attack works on the bare AEAD: two keys, two different plaintexts, one ciphertext.
    const p1 = xchacha20poly1305(encKey(K1), nonce, aad).decrypt(inner);
    const p2 = xchacha20poly1305(encKey(K2), nonce, aad).decrypt(inner);
    expect(p1).not.toEqual(p2);

    // Wrapped as the envelope does (nonce ‖ commitment ‖ AEAD ciphertext): whichever key the commitment
    // names opens it; the other key — for which the bare AEAD verifies — is refused by the commitment.
    const forK1 = new Uint8Array([...nonce, ...commitment(K1), ...inner]);
    expect(open(K1, forK1, aad)).toEqual(p1);
    expect(() => open(K2, forK1, aad)).toThrow(/key commitment does not match/);
    const forK2 = new Uint8Array([...nonce, ...commitment(K2), ...inner]);
    expect(open(K2, forK2, aad)).toEqual(p2);
    expect(() => open(K1, forK2, aad)).toThrow(DecryptionFailed);
    // And an honest seal is unaffected.
    expect(open(K1, seal(K1, p1, aad), aad)).toEqual(p1);
  });
});
