/** Threshold ElGamal, DLEQ proofs and the escrow field: properties over random keys and sharings. */
import { randomBytes } from '@noble/hashes/utils.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { proveDleq, verifyDleq } from '../src/dleq.ts';
import { combineShares, createDecryptionShare, decryptWithSharedPoint, encryptKey, verifyDecryptionShare } from '../src/elgamal.ts';
import { createEscrowField, escrowFieldProvider, parseEscrowField, verifyEscrowField } from '../src/escrow.ts';
import { Fn, Point, decodeScalar, evaluatePolynomial, randomScalar } from '../src/group.ts';

function dealer(t: number, n: number) {
  const coefficients = Array.from({ length: t }, () => randomScalar());
  const shares = Array.from({ length: n }, (_, i) => evaluatePolynomial(coefficients, i + 1));
  return {
    secret: coefficients[0]!,
    publicKey: Point.BASE.multiply(coefficients[0]!).toBytes(),
    shares,
    verificationKeys: shares.map((s) => Point.BASE.multiply(s).toBytes()),
  };
}

const bind = (s: string) => new TextEncoder().encode(s);

describe('Chaum–Pedersen DLEQ', () => {
  const x = randomScalar();
  const U = Point.BASE.multiply(randomScalar());
  const statement = { publicKey: Point.BASE.multiply(x), base: U, result: U.multiply(x), binding: bind('w1|c1|ct') };

  it('accepts an honest proof', () => {
    expect(verifyDleq(proveDleq(x, statement), statement)).toBe(true);
  });

  it('rejects a proof for another binding (warrant, custodian or ciphertext)', () => {
    const proof = proveDleq(x, statement);
    expect(verifyDleq(proof, { ...statement, binding: bind('w2|c1|ct') })).toBe(false);
  });

  it('rejects a wrong result, a wrong key, and flipped bits', () => {
    const proof = proveDleq(x, statement);
    expect(verifyDleq(proof, { ...statement, result: statement.result.add(Point.BASE) })).toBe(false);
    expect(verifyDleq(proof, { ...statement, publicKey: Point.BASE.multiply(Fn.add(x, 1n)) })).toBe(false);
    for (const i of [0, 31, 32, 63]) {
      const bad = proof.slice();
      bad[i]! ^= 1;
      expect(verifyDleq(bad, statement)).toBe(false);
    }
    expect(verifyDleq(proof.subarray(0, 63), statement)).toBe(false);
  });

  it('cannot be made for an unequal pair (a share with a different secret)', () => {
    const other = randomScalar();
    const cheat = { ...statement, result: U.multiply(other) };
    expect(verifyDleq(proveDleq(x, cheat), cheat)).toBe(false);
    expect(verifyDleq(proveDleq(other, cheat), cheat)).toBe(false);
  });
});

describe('threshold ElGamal', () => {
  const context = bind('ctx');

  it.each([[2, 3], [3, 5], [5, 9]])('decrypts with any %i of %i verified shares', (t, n) => {
    const d = dealer(t, n);
    const key = randomBytes(32);
    const ct = encryptKey(d.publicKey, key, randomScalar(), context);
    const binding = bind('warrant|ct');
    for (let trial = 0; trial < 3; trial++) {
      const chosen = [...Array(n).keys()].sort(() => Math.random() - 0.5).slice(0, t);
      const shares = chosen.map((i) => createDecryptionShare(i + 1, d.shares[i]!, ct.u, binding));
      shares.forEach((s) => expect(verifyDecryptionShare(s, d.verificationKeys[s.index - 1]!, ct.u, binding)).toBe(true));
      expect(decryptWithSharedPoint(d.publicKey, ct, combineShares(shares), context)).toEqual(key);
    }
  });

  it('t − 1 shares recover nothing useful', () => {
    const d = dealer(3, 5);
    const key = randomBytes(32);
    const ct = encryptKey(d.publicKey, key, randomScalar(), context);
    const shares = [0, 1].map((i) => createDecryptionShare(i + 1, d.shares[i]!, ct.u, bind('b')));
    expect(decryptWithSharedPoint(d.publicKey, ct, combineShares(shares), context)).not.toEqual(key);
  });

  it('a wrong share is caught by its proof, and would corrupt the key', () => {
    const d = dealer(2, 3);
    const key = randomBytes(32);
    const ct = encryptKey(d.publicKey, key, randomScalar(), context);
    const good = createDecryptionShare(2, d.shares[1]!, ct.u, bind('b'));
    const forged = { ...createDecryptionShare(1, d.shares[0]!, ct.u, bind('b')) };
    forged.share = Point.fromBytes(forged.share).add(Point.BASE).toBytes();
    expect(verifyDecryptionShare(forged, d.verificationKeys[0]!, ct.u, bind('b'))).toBe(false);
    expect(decryptWithSharedPoint(d.publicKey, ct, combineShares([forged, good]), context)).not.toEqual(key);
    // a share made with custodian 1's secret does not verify as custodian 3's
    const relabelled = { ...createDecryptionShare(1, d.shares[0]!, ct.u, bind('b')), index: 3 };
    expect(verifyDecryptionShare(relabelled, d.verificationKeys[2]!, ct.u, bind('b'))).toBe(false);
  });

  it('rejects bad inputs precisely', () => {
    const d = dealer(2, 3);
    expect(() => encryptKey(d.publicKey, new Uint8Array(31), 1n, context)).toThrow(/32 bytes/);
    expect(() => encryptKey(new Uint8Array(32), new Uint8Array(32), 1n, context)).toThrow(/identity/);
    expect(() => encryptKey(d.publicKey, new Uint8Array(32), 0n, context)).toThrow(/non-zero/);
    expect(() => combineShares([])).toThrow(/no decryption shares/);
  });
});

describe('escrow access field', () => {
  const d = dealer(2, 3);
  const epochKey = { epoch: 20415, publicKey: d.publicKey };
  const K = randomBytes(32);
  const ctx = bind('group:abc|sender:alice|epoch:7|msg:1');

  it('is deterministic, 69 bytes, names its epoch, and decrypts to K with the whole secret', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(field).toHaveLength(69);
    expect(createEscrowField(epochKey, K, ctx)).toEqual(field);
    const parsed = parseEscrowField(field);
    expect(parsed.epoch).toBe(20415);
    const shared = Point.fromBytes(parsed.u).multiply(d.secret).toBytes();
    expect(decryptWithSharedPoint(d.publicKey, parsed, shared, ctx)).toEqual(K);
  });

  it('verifies for the right K and context only', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(verifyEscrowField(epochKey, field, K, ctx)).toBe(true);
    expect(verifyEscrowField(epochKey, field, randomBytes(32), ctx)).toBe(false);
    expect(verifyEscrowField(epochKey, field, K, bind('another context'))).toBe(false);
    expect(verifyEscrowField({ ...epochKey, epoch: 20416 }, field, K, ctx)).toBe(false);
  });

  it('rejects stripped, truncated, corrupted and re-randomised fields', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(verifyEscrowField(epochKey, new Uint8Array(0), K, ctx)).toBe(false);
    expect(verifyEscrowField(epochKey, field.subarray(0, 68), K, ctx)).toBe(false);
    for (let i = 0; i < field.length; i += 7) {
      const bad = field.slice();
      bad[i]! ^= 0x01;
      expect(verifyEscrowField(epochKey, bad, K, ctx)).toBe(false);
    }
    // Re-randomisation: U' = U + s·G, S' = S + s·Y still decrypts to K under the mask of (U', S')… but is not the field.
    const parsed = parseEscrowField(field);
    const s = randomScalar();
    const u2 = Point.fromBytes(parsed.u).add(Point.BASE.multiply(s)).toBytes();
    const re = field.slice();
    re.set(u2, 5);
    expect(verifyEscrowField(epochKey, re, K, ctx)).toBe(false);
    // a field encrypting K under honest randomness but not the derived one is rejected too
    const honestButRandom = encryptKey(d.publicKey, K, randomScalar(), ctx);
    const alt = field.slice();
    alt.set(honestButRandom.u, 5);
    alt.set(honestButRandom.masked, 37);
    expect(verifyEscrowField(epochKey, alt, K, ctx)).toBe(false);
  });

  it('provides the messenger extension point, with a lookup for other epochs', () => {
    const yesterday = { epoch: 20414, publicKey: dealer(2, 3).publicKey };
    const provider = escrowFieldProvider({ current: epochKey, lookup: (e) => (e === 20414 ? yesterday : undefined) });
    expect(provider.scheme).toBe('doublelock-eaf-v1/20415');
    const field = provider.create(K, ctx);
    expect(provider.verify(field, K, ctx)).toBe(true);
    expect(provider.verify(createEscrowField(yesterday, K, ctx), K, ctx)).toBe(true);
    expect(provider.verify(createEscrowField({ epoch: 1, publicKey: d.publicKey }, K, ctx), K, ctx)).toBe(false);
    expect(provider.verify(field, K, bind('other'))).toBe(false);
  });

  it('rejects malformed fields with precise errors', () => {
    const field = createEscrowField(epochKey, K, ctx);
    const v2 = field.slice();
    v2[0] = 2;
    expect(() => parseEscrowField(v2)).toThrow(/version 2/);
    expect(() => parseEscrowField(field.subarray(1))).toThrow(/69 bytes/);
    expect(() => createEscrowField(epochKey, K.subarray(1), ctx)).toThrow(/32 bytes/);
    expect(decodeScalar(hexToBytes('01'.padEnd(64, '0')))).toBe(1n);
  });
});
