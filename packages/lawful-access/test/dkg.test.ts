/** COCKTAIL-DKG among n custodians: honest runs, a cheating dealer named, split views and forgeries caught. */
import { ristretto255_FROST as FROST } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  DkgFault,
  type DkgSession,
  type Round1Message,
  checkTranscriptSignatures,
  dkgRound1,
  dkgRound2,
  epochCertificate,
  generateStaticKey,
  openEpochCertificate,
  signCompletion,
} from '../src/dkg.ts';
import { combineShares, createDecryptionShare, decryptWithSharedPoint, encryptKey, verifyDecryptionShare } from '../src/elgamal.ts';
import { Fn, Point, encodeScalar, lagrangeAtZero, randomScalar } from '../src/group.ts';

function setup(t: number, n: number) {
  const statics = Array.from({ length: n }, () => generateStaticKey());
  const session: DkgSession = { deployment: 'test', epoch: 20415, threshold: t, staticKeys: statics.map((s) => s.publicKey) };
  const round1 = statics.map((_, i) => dkgRound1(session, i + 1));
  return { statics, session, round1, messages: round1.map((r) => r.message) };
}

function run(t: number, n: number) {
  const s = setup(t, n);
  const outputs = s.statics.map((st, i) => dkgRound2(s.session, st.secret, s.round1[i]!.state, s.messages));
  return { ...s, outputs };
}

describe('COCKTAIL-DKG', () => {
  it.each([[2, 3], [3, 5]])('gives %i-of-%i custodians one key, consistent shares and a certificate', (t, n) => {
    const { session, messages, outputs, statics } = run(t, n);
    for (const o of outputs) {
      expect(o.publicKey).toEqual(outputs[0]!.publicKey);
      expect(o.transcript).toEqual(outputs[0]!.transcript);
      expect(Point.BASE.multiply(o.secretShare).toBytes()).toEqual(outputs[0]!.verificationKeys[o.index - 1]);
    }
    const signatures = outputs.map((o) => o.transcriptSignature);
    checkTranscriptSignatures(session, outputs[0]!.transcript, signatures);
    // every custodian stores its share and signs a completion; the key opens only with all n of them
    const completions = outputs.map((o, i) => signCompletion(o.transcript, statics[i]!.secret));
    expect(() => openEpochCertificate(epochCertificate(session, messages, signatures), session.staticKeys, 'test', t)).toThrow(/not complete/);
    expect(() => openEpochCertificate(epochCertificate(session, messages, signatures, completions.slice(1)), session.staticKeys, 'test', t)).toThrow(/not complete/);
    const forged = [...completions];
    forged[n - 1] = signCompletion(outputs[0]!.transcript, generateStaticKey().secret);
    expect(() => openEpochCertificate(epochCertificate(session, messages, signatures, forged), session.staticKeys, 'test', t)).toThrow(new RegExp(`custodian ${n}: completion`));
    const key = openEpochCertificate(epochCertificate(session, messages, signatures, completions), session.staticKeys, 'test', t);
    expect(key.publicKey).toEqual(outputs[0]!.publicKey);
    expect(key.verificationKeys).toEqual(outputs[0]!.verificationKeys);
    // any t shares interpolate to the secret behind the public key; the shares decrypt together
    const chosen = outputs.slice(n - t);
    const x = chosen.reduce((acc, o) => Fn.add(acc, Fn.mul(lagrangeAtZero(o.index, chosen.map((c) => c.index)), o.secretShare)), 0n);
    expect(Point.BASE.multiply(x).toBytes()).toEqual(key.publicKey);
    const K = randomBytes(32);
    const ct = encryptKey(key.publicKey, K, randomScalar(), new Uint8Array(0));
    const shares = chosen.map((o) => createDecryptionShare(o.index, o.secretShare, ct.u, new Uint8Array([1])));
    shares.forEach((sh) => expect(verifyDecryptionShare(sh, key.verificationKeys[sh.index - 1]!, ct.u, new Uint8Array([1]))).toBe(true));
    expect(decryptWithSharedPoint(key.publicKey, ct, combineShares(shares), new Uint8Array(0))).toEqual(K);
  });

  it('names a dealer whose share does not match its commitment', () => {
    const s = setup(2, 3);
    // dealer 2 re-encrypts a wrong share to custodian 1 under the real COCKTAIL channel: it knows e_2,
    // so it simply runs round 1 again and splices custodian 1's ciphertext from an unrelated polynomial.
    const other = dkgRound1(s.session, 2).message;
    const cheating: Round1Message = { ...s.messages[1]!, encryptedShares: [other.encryptedShares[0]!, ...s.messages[1]!.encryptedShares.slice(1)] };
    const forged = [s.messages[0]!, { ...cheating, ephemeral: other.ephemeral }, s.messages[2]!];
    const error = (() => {
      try {
        dkgRound2(s.session, s.statics[0]!.secret, s.round1[0]!.state, forged);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DkgFault);
    expect((error as DkgFault).participant).toBe(2);
    expect((error as DkgFault).message).toMatch(/does not match the dealer’s commitment/);
  });

  it('names a dealer whose ciphertext was tampered with or whose proof of possession is bad', () => {
    const s = setup(2, 3);
    const tampered = s.messages[2]!.encryptedShares.map((c) => c.slice());
    tampered[0]![0]! ^= 1;
    expect(() => dkgRound2(s.session, s.statics[0]!.secret, s.round1[0]!.state, [s.messages[0]!, s.messages[1]!, { ...s.messages[2]!, encryptedShares: tampered }])).toThrow(
      /custodian 3: encrypted share does not decrypt/,
    );
    // rogue key: a commitment whose constant term the dealer cannot sign for
    const rogue = { ...s.messages[1]!, commitment: [Point.BASE.multiply(randomScalar()).toBytes(), s.messages[1]!.commitment[1]!] };
    expect(() => dkgRound2(s.session, s.statics[0]!.secret, s.round1[0]!.state, [s.messages[0]!, rogue, s.messages[2]!])).toThrow(/custodian 2: invalid proof of possession/);
    // a proof of possession replayed from another session (another epoch) does not verify
    const other = setup(2, 3);
    const replay = { ...s.messages[1]!, pop: other.messages[1]!.pop };
    expect(() => dkgRound2(s.session, s.statics[0]!.secret, s.round1[0]!.state, [s.messages[0]!, replay, s.messages[2]!])).toThrow(/invalid proof of possession/);
  });

  it('detects a coordinator that altered this custodian’s own message or showed a split view', () => {
    const { session, messages, outputs, statics, round1 } = run(2, 3);
    const altered = { ...messages[0]!, commitment: messages[1]!.commitment };
    expect(() => dkgRound2(session, statics[0]!.secret, round1[0]!.state, [altered, messages[1]!, messages[2]!])).toThrow(/altered/);
    // custodian 3 saw a different round-1 set: its transcript signature does not verify over T
    const signatures = outputs.map((o) => o.transcriptSignature);
    signatures[2] = FROST.sign(randomBytes(10), statics[2]!.secret);
    expect(() => checkTranscriptSignatures(session, outputs[0]!.transcript, signatures)).toThrow(/custodian 3: transcript signature/);
  });

  it('rejects certificates for other custodians, deployments or thresholds', () => {
    const { session, messages, outputs } = run(2, 3);
    const cert = epochCertificate(session, messages, outputs.map((o) => o.transcriptSignature));
    expect(() => openEpochCertificate(cert, [generateStaticKey().publicKey, ...session.staticKeys.slice(1)], 'test', 2)).toThrow(/pinned custodians/);
    expect(() => openEpochCertificate(cert, session.staticKeys, 'other', 2)).toThrow(/deployment/);
    expect(() => openEpochCertificate(cert, session.staticKeys, 'test', 3)).toThrow(/threshold/);
    expect(() => openEpochCertificate({ ...cert, epoch: cert.epoch + 1 }, session.staticKeys, 'test', 2)).toThrow(/proof of possession|transcript/);
    const badSig = cert.signatures.map((s) => s.slice());
    badSig[1]![5]! ^= 1;
    expect(() => openEpochCertificate({ ...cert, signatures: badSig }, session.staticKeys, 'test', 2)).toThrow(/custodian 2/);
  });

  it('validates the session', () => {
    const k = generateStaticKey().publicKey;
    expect(() => dkgRound1({ deployment: 'x', epoch: 1, threshold: 3, staticKeys: [k, generateStaticKey().publicKey] }, 1)).toThrow(/threshold/);
    expect(() => dkgRound1({ deployment: 'x', epoch: 1, threshold: 1, staticKeys: [k, k] }, 1)).toThrow(/distinct/);
    expect(() => dkgRound1({ deployment: 'x', epoch: -1, threshold: 1, staticKeys: [k] }, 1)).toThrow(/uint32/);
    expect(encodeScalar(1n)).toHaveLength(32);
  });
});
