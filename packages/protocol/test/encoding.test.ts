/** base64url: one canonical name per byte string (finding 8 of issue 15), the same bytes as RFC 4648 §5. */
import { describe, expect, it } from 'vitest';
import { bytes, findUnstorableText, fromBase64Url, groupId, isCanonicalBase64Url, toBase64Url } from '../src/index.ts';

describe('base64url', () => {
  it('matches RFC 4648 test vectors (§10, in the URL alphabet, unpadded)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64Url(encoded))).toBe(plain);
    }
    expect(toBase64Url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips every length and a subarray view, returning plain Uint8Arrays', () => {
    const big = new Uint8Array(3000).map((_, i) => (i * 37) & 0xff);
    for (let n = 0; n < 40; n++) expect(fromBase64Url(toBase64Url(big.subarray(7, 7 + n)))).toEqual(big.subarray(7, 7 + n));
    const decoded = fromBase64Url(toBase64Url(big));
    expect(decoded.constructor).toBe(Uint8Array);
    expect(decoded).toEqual(big);
  });

  it('refuses non-canonical encodings: unused trailing bits, padding, other alphabets, impossible lengths', () => {
    // 16 zero bytes are "AAAAAAAAAAAAAAAAAAAAAA"; the last character carries 4 unused bits, so "…AB" to "…AP" were aliases.
    const canonical = toBase64Url(new Uint8Array(16));
    expect(canonical).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    for (const alias of ['AAAAAAAAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAAAP', 'Zh', 'Zm9']) {
      expect(isCanonicalBase64Url(alias)).toBe(false);
      expect(() => fromBase64Url(alias)).toThrow(/canonical/);
    }
    expect(isCanonicalBase64Url('Zm8')).toBe(true);
    for (const bad of ['Zg==', 'Zm+v', 'Zm/v', 'Z', 'Zm9vY', ' Zg', 'Zg\n']) expect(() => fromBase64Url(bad)).toThrow();
  });

  it('the wire schemas accept only canonical bytes, so a group id has one name', () => {
    expect(groupId.safeParse('AAAAAAAAAAAAAAAAAAAAAA').success).toBe(true);
    expect(groupId.safeParse('AAAAAAAAAAAAAAAAAAAAAB').success).toBe(false);
    expect(bytes({ exact: 2 }).safeParse('Zm9').success).toBe(false);
    expect(bytes({ exact: 2 }).safeParse('Zm8').success).toBe(true);
  });
});

describe('text a store can hold', () => {
  it('finds U+0000 and lone surrogates anywhere in a parsed body, keys included', () => {
    expect(findUnstorableText({ a: ['ok', { b: 'x\u0000y' }] })).toEqual({ path: '/a/1/b', reason: 'must not contain U+0000' });
    expect(findUnstorableText({ name: 'bad \uD800 half' })?.reason).toBe('must be well-formed Unicode');
    expect(findUnstorableText({ ['k\u0000']: 1 })?.path).toBe('/k\u0000');
    expect(findUnstorableText({ name: 'emoji 😀 fine', n: 1, z: null })).toBeUndefined();
    // A streamed body (not parsed JSON) is left to its route: walking a stream's cyclic graph never ended.
    class Stream { self = this; text = 'x\u0000'; pipe() { return this; } }
    expect(findUnstorableText(new Stream())).toBeUndefined();
  });
});
