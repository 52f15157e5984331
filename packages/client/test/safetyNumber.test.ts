/**
 * Safety numbers against libsignal itself (@signalapp/libsignal-client, Signal's own library): the same
 * construction must give the same 60 digits for the same keys and stable ids, including libsignal's
 * published test keys (NumericFingerprintGeneratorTest: alice/bob identity keys, phone numbers as ids).
 */
import { Fingerprint, PrivateKey, PublicKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { numericFingerprint, safetyNumber } from '../src/safetyNumber.ts';

const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const libsignal = (aId: Uint8Array, aKey: PublicKey, bId: Uint8Array, bKey: PublicKey) =>
  Fingerprint.new(5200, 2, Buffer.from(aId), aKey, Buffer.from(bId), bKey).displayableFingerprint().toString();

describe('safety numbers', () => {
  it('match libsignal’s Fingerprint for its published test keys', () => {
    const alice = PublicKey.deserialize(Buffer.from(hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868')));
    const bob = PublicKey.deserialize(Buffer.from(hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b')));
    const aliceId = new TextEncoder().encode('+14152222222');
    const bobId = new TextEncoder().encode('+14153333333');
    const expected = libsignal(aliceId, alice, bobId, bob);
    // libsignal's published displayable fingerprint for these keys (DISPLAYABLE_FINGERPRINT in its tests).
    expect(expected).toBe('300354477692869396892869876765458257569162576843440918079131');
    expect(numericFingerprint({ key: alice.serialize(), id: aliceId }, { key: bob.serialize(), id: bobId })).toBe(expected);
    expect(numericFingerprint({ key: bob.serialize(), id: bobId }, { key: alice.serialize(), id: aliceId })).toBe(expected);
  });

  it('match libsignal for random keys and ids, and change with either key or either name', () => {
    for (let i = 0; i < 3; i++) {
      const a = PrivateKey.generate().getPublicKey();
      const b = PrivateKey.generate().getPublicKey();
      const aId = new TextEncoder().encode(`alice${i}`);
      const bId = new TextEncoder().encode(`bob${i}`);
      expect(numericFingerprint({ key: a.serialize(), id: aId }, { key: b.serialize(), id: bId })).toBe(libsignal(aId, a, bId, b));
    }
    const k = (n: number) => new Uint8Array(32).fill(n);
    const base = safetyNumber({ username: 'alice', identityKey: k(1) }, { username: 'bob', identityKey: k(2) });
    expect(base).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(safetyNumber({ username: 'bob', identityKey: k(2) }, { username: 'alice', identityKey: k(1) })).toBe(base);
    for (const other of [
      safetyNumber({ username: 'alice', identityKey: k(3) }, { username: 'bob', identityKey: k(2) }),
      safetyNumber({ username: 'alice', identityKey: k(1) }, { username: 'bob', identityKey: k(4) }),
      safetyNumber({ username: 'alicia', identityKey: k(1) }, { username: 'bob', identityKey: k(2) }),
    ]) expect(other).not.toBe(base);
  });
});
