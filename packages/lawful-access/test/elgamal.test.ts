/** Threshold ElGamal, DLEQ proofs and the escrow field: properties over random keys and sharings. */
import { randomBytes } from '@noble/hashes/utils.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { proveDleq, verifyDleq } from '../src/dleq.ts';
import { combineShares, createDecryptionShare, decryptWithSharedPoint, encryptKey, verifyDecryptionShare } from '../src/elgamal.ts';
import type { EscrowContext } from '@doublelock/protocol';
import { DAY_MS, EPOCH_SKEW_MS, escrowEpochAccepted } from '../src/epoch.ts';
import { createEscrowField, escrowFieldProvider, escrowFieldValid, escrowLabel, parseEscrowField, prepareEpochKey, verifyEscrowField } from '../src/escrow.ts';
import { tdh2Encrypt } from '../src/tdh2.ts';
import { Fn, Point, USES_BEFORE_TABLE, decodeScalar, evaluatePolynomial, randomScalar } from '../src/group.ts';

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

describe('escrow access field (TDH2, labelled with the message context)', () => {
  const d = dealer(2, 3);
  const epochKey = { epoch: 20415, publicKey: d.publicKey };
  const K = randomBytes(32);
  const ctx: EscrowContext = { groupId: 'Z3JvdXAtYWJj', senderUsername: 'alice', senderDevice: 'dev-alice', recipientDevices: ['dev-bob', 'dev-carol'], clientMessageId: 'msg-00000001' };
  const dayOf = (epoch: number) => epoch * DAY_MS + 12 * 3_600_000;

  it('is deterministic, 165 bytes, names its epoch, and decrypts to K with the whole secret under its label', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(field).toHaveLength(165);
    expect(createEscrowField(epochKey, K, ctx)).toEqual(field);
    // the recipients' order does not matter: the label sorts them
    expect(createEscrowField(epochKey, K, { ...ctx, recipientDevices: ['dev-carol', 'dev-bob'] })).toEqual(field);
    const parsed = parseEscrowField(field);
    expect(parsed.epoch).toBe(20415);
    const label = escrowLabel(ctx, 20415);
    expect(escrowFieldValid(d.publicKey, parsed, label)).toBe(true);
    const shared = Point.fromBytes(parsed.u).multiply(d.secret).toBytes();
    expect(decryptWithSharedPoint(d.publicKey, parsed, shared, label)).toEqual(K);
  });

  // Pinned bytes: the field is a function of (Y, epoch, K, label) alone, so however its multiplications are
  // computed (tables, windows, which copy of G) it must come out exactly so — the recipients' check is equality.
  it('matches its known answer, with and without a prepared epoch key', () => {
    const x = Fn.create(BigInt(`0x${bytesToHex(sha512(bind('doublelock eaf known answer: epoch secret')))}`));
    const key = { epoch: 20415, publicKey: hexToBytes('b88ceff92facabfdc83fda167a71cb04eecb18e6b322d69aece824f8790a550d') };
    expect(Point.BASE.multiply(x).toBytes()).toEqual(key.publicKey);
    const contentKey = hexToBytes('1dfbb35428c31a5b1b046235fd3d9cd2c42c00a689c22478bfe9ba44c4d34f9a');
    const expected = hexToBytes(
      '0200004fbf8eec3ed387bb6f461d3ec9a6ab2484c27a6d6a175faef41116d8f9b36c74e550e6372ff1fefd543907d3d88427e03ff5b54b' +
        'f77d04f35dec74c50171618a1a4d86053ffbfa660dbaa553ef10f7e802adae8da17c05ea31f33346d74f425392a1e12168e60311850044' +
        '0b76ce55bb12f4201a55967fccd08bc1e9b4c446ea110b59d3fae2a3a03b838519ded152ca00562a2af38ea8c88cd8bf9975d79a8f3f06',
    );
    expect(createEscrowField(key, contentKey, ctx)).toEqual(expected);
    // before, at and after the point where the prepared key (and G, Ḡ) get their tables
    const prepared = prepareEpochKey(key);
    for (let i = 0; i <= USES_BEFORE_TABLE; i++) {
      expect(prepared.point.tabled).toBe(i >= USES_BEFORE_TABLE);
      expect(createEscrowField(prepared, contentKey, ctx)).toEqual(expected);
      if (i % 16 === 0) expect(escrowFieldValid(key.publicKey, parseEscrowField(expected), escrowLabel(ctx, 20415))).toBe(true);
    }
    expect(prepared.point.tabled).toBe(true);
    expect(escrowFieldProvider({ current: key }).create(contentKey, ctx)).toEqual(expected);
    expect(verifyEscrowField(key, expected, contentKey, ctx)).toBe(true);
    const parsed = parseEscrowField(expected);
    const label = escrowLabel(ctx, 20415);
    expect(escrowFieldValid(key.publicKey, parsed, label)).toBe(true);
    expect(decryptWithSharedPoint(key.publicKey, parsed, Point.fromBytes(parsed.u).multiply(x).toBytes(), label)).toEqual(contentKey);
  });

  it('is valid (for custodians) under its own label only: every part of the context is bound', () => {
    const parsed = parseEscrowField(createEscrowField(epochKey, K, ctx));
    const others: EscrowContext[] = [
      { ...ctx, groupId: 'Z3JvdXAtb3RoZXI' },
      { ...ctx, senderUsername: 'mallory' },
      { ...ctx, senderDevice: 'dev-mallory' },
      { ...ctx, recipientDevices: ['dev-bob', 'dev-carol', 'dev-ghost'] },
      { ...ctx, recipientDevices: ['dev-bob'] },
      { ...ctx, clientMessageId: 'msg-00000002' },
    ];
    for (const other of others) expect(escrowFieldValid(d.publicKey, parsed, escrowLabel(other, 20415))).toBe(false);
    expect(escrowFieldValid(d.publicKey, parsed, escrowLabel(ctx, 20416))).toBe(false);
    expect(escrowFieldValid(dealer(2, 3).publicKey, parsed, escrowLabel(ctx, 20415))).toBe(false);
  });

  it('cannot be re-labelled or re-masked without the randomness: the lifted-field and random-mask attacks', () => {
    // The agency holds a field between two non-targets and wants it opened as a message to its target.
    const victim = parseEscrowField(createEscrowField(epochKey, K, ctx));
    const targetCtx: EscrowContext = { groupId: 'Z3JvdXAtYWdlbnQ', senderUsername: 'agent', senderDevice: 'dev-agent', recipientDevices: ['dev-target'], clientMessageId: 'msg-agent-0001' };
    const targetLabel = escrowLabel(targetCtx, 20415);
    expect(escrowFieldValid(d.publicKey, victim, targetLabel)).toBe(false);
    // random mask bytes around the lifted u (the decryption would still be x·u: that is what it wants)
    expect(escrowFieldValid(d.publicKey, { ...victim, masked: randomBytes(32) }, escrowLabel(ctx, 20415))).toBe(false);
    // a fresh proof for the lifted u cannot be made without r: a proof made with a random r' and s'
    // (which is all the agency can do) proves knowledge of r', not of log u
    const r2 = randomScalar();
    const s2 = randomScalar();
    const own = tdh2Encrypt(d.publicKey, randomBytes(32), targetLabel, r2, s2);
    expect(escrowFieldValid(d.publicKey, own, targetLabel)).toBe(true);
    expect(escrowFieldValid(d.publicKey, { ...own, u: victim.u }, targetLabel)).toBe(false);
    expect(escrowFieldValid(d.publicKey, { ...own, u: victim.u, uBar: victim.uBar }, targetLabel)).toBe(false);
    // nor by mixing the victim's proof with the agency's mask
    expect(escrowFieldValid(d.publicKey, { ...victim, masked: own.masked }, targetLabel)).toBe(false);
  });

  it('is verified by recipients for the right K and context only', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(verifyEscrowField(epochKey, field, K, ctx)).toBe(true);
    expect(verifyEscrowField(epochKey, field, randomBytes(32), ctx)).toBe(false);
    expect(verifyEscrowField(epochKey, field, K, { ...ctx, clientMessageId: 'another' })).toBe(false);
    expect(verifyEscrowField(epochKey, field, K, { ...ctx, recipientDevices: ['dev-bob'] })).toBe(false);
    expect(verifyEscrowField({ ...epochKey, epoch: 20416 }, field, K, ctx)).toBe(false);
  });

  it('rejects stripped, truncated, corrupted and re-randomised fields', () => {
    const field = createEscrowField(epochKey, K, ctx);
    expect(verifyEscrowField(epochKey, new Uint8Array(0), K, ctx)).toBe(false);
    expect(verifyEscrowField(epochKey, field.subarray(0, 164), K, ctx)).toBe(false);
    const label = escrowLabel(ctx, 20415);
    for (let i = 0; i < field.length; i += 5) {
      const bad = field.slice();
      bad[i]! ^= 0x01;
      expect(verifyEscrowField(epochKey, bad, K, ctx)).toBe(false);
      if (i >= 5) {
        let parsed;
        try {
          parsed = parseEscrowField(bad);
        } catch {
          continue; // not a point any more
        }
        expect(escrowFieldValid(d.publicKey, parsed, label)).toBe(false);
      }
    }
    // Re-randomisation: u' = u + s·G still decrypts to K under the mask of (u', S')… but is not the field.
    const parsed = parseEscrowField(field);
    const u2 = Point.fromBytes(parsed.u).add(Point.BASE.multiply(randomScalar())).toBytes();
    const re = field.slice();
    re.set(u2, 5);
    expect(verifyEscrowField(epochKey, re, K, ctx)).toBe(false);
    // a valid TDH2 ciphertext of K under honest but non-derived randomness is refused by recipients
    const honestButRandom = tdh2Encrypt(d.publicKey, K, label, randomScalar(), randomScalar());
    const alt = field.slice();
    alt.set(honestButRandom.u, 5);
    alt.set(honestButRandom.uBar, 37);
    alt.set(honestButRandom.masked, 69);
    alt.set(honestButRandom.e, 101);
    alt.set(honestButRandom.f, 133);
    expect(escrowFieldValid(d.publicKey, parseEscrowField(alt), label)).toBe(true);
    expect(verifyEscrowField(epochKey, alt, K, ctx)).toBe(false);
  });

  it('provides the messenger extension point: fields are accepted only for an epoch that fits the delivery time', () => {
    const yesterday = { epoch: 20414, publicKey: dealer(2, 3).publicKey };
    const tomorrow = { epoch: 20416, publicKey: dealer(2, 3).publicKey };
    const keys = new Map([yesterday, tomorrow].map((k) => [k.epoch, k]));
    const provider = escrowFieldProvider({ current: epochKey, lookup: (e) => keys.get(e) });
    expect(provider.scheme).toBe('doublelock-eaf-v2/20415');
    const field = provider.create(K, ctx);
    expect(provider.verify(field, K, ctx, dayOf(20415))).toBe(true);
    expect(provider.verify(createEscrowField(yesterday, K, ctx), K, ctx, dayOf(20415))).toBe(true);
    expect(provider.verify(field, K, { ...ctx, senderDevice: 'other' }, dayOf(20415))).toBe(false);
    // a modified sender using tomorrow's key (which custodians refuse today): the recipient holds that key, and refuses
    expect(provider.verify(createEscrowField(tomorrow, K, ctx), K, ctx, dayOf(20415))).toBe(false);
    // …and today's key for a message delivered two days later
    expect(provider.verify(field, K, ctx, dayOf(20417))).toBe(false);
    expect(provider.verify(createEscrowField({ epoch: 1, publicKey: d.publicKey }, K, ctx), K, ctx, dayOf(1))).toBe(false);
  });

  it('one epoch rule for recipients and custodians', () => {
    const E = 20415;
    expect(escrowEpochAccepted(E, dayOf(E))).toBe(true);
    expect(escrowEpochAccepted(E - 1, dayOf(E))).toBe(true);
    expect(escrowEpochAccepted(E + 1, dayOf(E))).toBe(false);
    expect(escrowEpochAccepted(E - 2, dayOf(E))).toBe(false);
    expect(escrowEpochAccepted(E + 1, (E + 1) * DAY_MS - EPOCH_SKEW_MS)).toBe(true); // a sender's clock just past midnight
    expect(escrowEpochAccepted(E + 1, (E + 1) * DAY_MS - EPOCH_SKEW_MS - 1)).toBe(false);
    expect(escrowEpochAccepted(E, -1)).toBe(false);
  });

  it('rejects malformed fields with precise errors', () => {
    const field = createEscrowField(epochKey, K, ctx);
    const v1 = field.slice();
    v1[0] = 1;
    expect(() => parseEscrowField(v1)).toThrow(/version 1/);
    expect(() => parseEscrowField(field.subarray(1))).toThrow(/165 bytes/);
    expect(() => createEscrowField(epochKey, K.subarray(1), ctx)).toThrow(/32 bytes/);
    expect(decodeScalar(hexToBytes('01'.padEnd(64, '0')))).toBe(1n);
  });
});
