/**
 * Distributed key generation for the custodians' epoch keys: C2SP COCKTAIL-DKG v0.0.1
 * (https://c2sp.org/cocktail-dkg), ciphersuite COCKTAIL(Ristretto255, SHA-512), itself derived from
 * ChillDKG (SimplPedPop + EncPedPop + CertEq):
 *   round 1  each custodian i samples a degree t−1 polynomial f_i, publishes Feldman commitments
 *            C_i = (a_{i,k}·B), a proof of possession of a_{i,0} (a Schnorr signature over the session
 *            context), an ephemeral key E_i, and the shares s_{i,j} = f_i(j) encrypted to every custodian
 *            j's static key P_j: (key ‖ nonce) = H6(e_i·P_j, E_i, P_j, context), XChaCha20-Poly1305.
 *   round 2  each custodian checks every PoP, decrypts its shares, checks each against the dealer's
 *            commitment (s_{j,i}·B = Σ i^k·C_{j,k}; a cheating dealer is named), sums them into x_i,
 *            derives Y = Σ C_{j,0} and every verification key Y_j, and signs the transcript with d_i.
 *   certify  every custodian checks all n transcript signatures (the "success certificate"), stores its
 *            share durably and signs a *completion* over the transcript with d_i;
 *   activate every custodian checks all n completions before it uses or serves the epoch key. Clients,
 *            the agency and auditors accept an epoch key only with all n transcript signatures *and* all
 *            n completions, so certification is atomic: a ceremony that stopped part-way (or a coordinator
 *            that certified at only some custodians) leaves no key anyone will encrypt to.
 * Polynomial sampling, commitments and the Schnorr signatures (PoP, transcript) are @noble/curves'
 * FROST(ristretto255, SHA-512) (RFC 9591) utilities; noble's own DKG.round1–3 is not used because it
 * sends shares in the clear and keeps its state as in-memory objects, where COCKTAIL encrypts them in
 * round 1. Scalars are encoded little-endian as RFC 9496/9591 do for ristretto255.
 */
import { lengthPrefixed } from '@doublelock/protocol';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ristretto255_FROST as FROST } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { assertEpoch } from './epoch.ts';
import {
  type Point,
  Point as G,
  equalBytes,
  Fn,
  assertBytes,
  assertIndex,
  decodePoint,
  decodeScalar,
  encodePoint,
  encodeScalar,
  evaluateCommitment,
  evaluatePolynomial,
  randomScalar,
} from './group.ts';

const H6_PREFIX = utf8ToBytes('COCKTAIL-DKG-Ristretto255-SHA512-H6');
const CONTEXT_LABEL = 'doublelock/custodian-dkg/v1/context';
const POP_LABEL = 'doublelock/custodian-dkg/v1/pop';
const TRANSCRIPT_LABEL = 'doublelock/custodian-dkg/v1/transcript';
const COMPLETION_LABEL = 'doublelock/custodian-dkg/v1/completion';
const SHARE_CIPHERTEXT_BYTES = 32 + 16;

/** A participant misbehaved; `participant` is the index to blame (COCKTAIL "Blame-Finding"). */
export class DkgFault extends Error {
  constructor(
    readonly participant: number,
    readonly reason: string,
  ) {
    super(`custodian ${participant}: ${reason}`);
    this.name = 'DkgFault';
  }
}

export interface DkgSession {
  /** names the deployment, so a transcript from one deployment means nothing in another */
  deployment: string;
  epoch: number;
  threshold: number;
  /** static public keys P_1..P_n of the custodians, in index order (index = position + 1) */
  staticKeys: readonly Uint8Array[];
}

export interface Round1Message {
  index: number;
  /** C_{i,0..t−1} */
  commitment: Uint8Array[];
  /** Schnorr signature by a_{i,0} over the session context and index */
  pop: Uint8Array;
  /** E_i */
  ephemeral: Uint8Array;
  /** c_{i,1..n}, one per custodian in index order (including i itself) */
  encryptedShares: Uint8Array[];
}

/** Round-1 secrets; kept in memory only, for the few seconds of the ceremony. */
export interface Round1State {
  index: number;
  coefficients: bigint[];
}

export interface DkgOutput {
  index: number;
  /** x_i: this custodian's long-lived share (secret) */
  secretShare: bigint;
  publicKey: Uint8Array;
  verificationKeys: Uint8Array[];
  /** the canonical transcript T that every custodian signs */
  transcript: Uint8Array;
  /** sig_i over T */
  transcriptSignature: Uint8Array;
}

export interface EpochCertificate {
  deployment: string;
  epoch: number;
  threshold: number;
  staticKeys: Uint8Array[];
  commitments: Uint8Array[][];
  pops: Uint8Array[];
  ephemerals: Uint8Array[];
  /** sig_1..sig_n over the transcript */
  signatures: Uint8Array[];
  /** completion_1..completion_n: each custodian's signature (static key) that it stored its share */
  completions: Uint8Array[];
}

export interface EpochKey {
  epoch: number;
  threshold: number;
  publicKey: Uint8Array;
  /** Y_1..Y_n: custodian j's decryption shares are checked against verificationKeys[j − 1] */
  verificationKeys: Uint8Array[];
}

function checkSession(s: DkgSession): void {
  assertEpoch(s.epoch);
  if (typeof s.deployment !== 'string' || s.deployment.length === 0) throw new Error('deployment must be a non-empty string');
  const n = s.staticKeys.length;
  if (n < 1 || n > 255) throw new RangeError(`number of custodians must be 1..255, got ${n}`);
  if (!Number.isSafeInteger(s.threshold) || s.threshold < 1 || s.threshold > n) throw new RangeError(`threshold must be 1..${n}, got ${s.threshold}`);
  s.staticKeys.forEach((k, i) => decodePoint(k, `static key ${i + 1}`));
  if (new Set(s.staticKeys.map((k) => bytesToHex(k))).size !== n) throw new Error('static keys must be distinct');
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function le64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}

export function sessionContext(s: DkgSession): Uint8Array {
  checkSession(s);
  return lengthPrefixed(CONTEXT_LABEL, s.deployment, u32(s.epoch), u32(s.threshold), u32(s.staticKeys.length), ...s.staticKeys);
}

/** COCKTAIL H6(x, pk1, pk2, extra) = SHA-512(prefix ‖ x ‖ pk1 ‖ pk2 ‖ le64(len(extra)) ‖ extra): key ‖ nonce. */
function h6(x: Uint8Array, pk1: Uint8Array, pk2: Uint8Array, extra: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const out = sha512(concatBytes(H6_PREFIX, x, pk1, pk2, le64(extra.length), extra));
  return { key: out.slice(0, 32), nonce: out.slice(32, 56) };
}

/** RFC 9591 single-key Schnorr verification; false (not a throw) for malformed signatures. */
function schnorrVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return signature instanceof Uint8Array && signature.length === 64 && FROST.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

const popMessage = (context: Uint8Array, index: number) => lengthPrefixed(POP_LABEL, context, u32(index));

/** A custodian's static key pair (d_i, P_i) for DKG encryption and transcript signatures. */
export function generateStaticKey(): { secret: Uint8Array; publicKey: Uint8Array } {
  const d = randomScalar();
  return { secret: encodeScalar(d), publicKey: G.BASE.multiply(d).toBytes() };
}

export function staticPublicKey(secret: Uint8Array): Uint8Array {
  return G.BASE.multiply(decodeScalar(secret, 'static secret')).toBytes();
}

/** Round 1 for custodian `index` (1-based). */
export function dkgRound1(session: DkgSession, index: number): { message: Round1Message; state: Round1State } {
  const context = sessionContext(session);
  const n = session.staticKeys.length;
  assertIndex(index);
  if (index > n) throw new RangeError(`index ${index} is beyond ${n} custodians`);
  const { coefficients, commitment } = FROST.utils.generateSecretPolynomial({ min: session.threshold, max: n });
  const pop = FROST.sign(popMessage(context, index), encodeScalar(coefficients[0]!));
  const e = randomScalar();
  const E = G.BASE.multiply(e).toBytes();
  const encryptedShares = session.staticKeys.map((P, j) => {
    const share = encodeScalar(evaluatePolynomial(coefficients, j + 1));
    const { key, nonce } = h6(decodePoint(P).multiply(e).toBytes(), E, P, context);
    return xchacha20poly1305(key, nonce).encrypt(share);
  });
  return { message: { index, commitment, pop, ephemeral: E, encryptedShares }, state: { index, coefficients } };
}

function checkRound1Messages(session: DkgSession, context: Uint8Array, messages: readonly Round1Message[]): Point[][] {
  const n = session.staticKeys.length;
  if (messages.length !== n) throw new Error(`expected ${n} round-1 messages, got ${messages.length}`);
  return messages.map((m, position) => {
    const j = position + 1;
    if (m.index !== j) throw new Error(`round-1 messages must be in index order: position ${j} holds ${m.index}`);
    if (m.commitment.length !== session.threshold) throw new DkgFault(j, `commitment has ${m.commitment.length} points, not ${session.threshold}`);
    let C: Point[];
    try {
      C = m.commitment.map((c, k) => decodePoint(c, `C_${j},${k}`));
      decodePoint(m.ephemeral, `E_${j}`);
      assertBytes(m.pop, 64, 'proof of possession');
    } catch (error) {
      throw new DkgFault(j, (error as Error).message);
    }
    if (m.encryptedShares.length !== n || m.encryptedShares.some((c) => !(c instanceof Uint8Array) || c.length !== SHARE_CIPHERTEXT_BYTES))
      throw new DkgFault(j, 'malformed encrypted shares');
    if (!schnorrVerify(m.pop, popMessage(context, j), m.commitment[0]!)) throw new DkgFault(j, 'invalid proof of possession');
    return C;
  });
}

function transcriptBytes(context: Uint8Array, session: DkgSession, messages: readonly { commitment: Uint8Array[]; pop: Uint8Array; ephemeral: Uint8Array }[]): Uint8Array {
  return lengthPrefixed(
    TRANSCRIPT_LABEL,
    context,
    ...session.staticKeys,
    ...messages.flatMap((m) => m.commitment),
    ...messages.map((m) => m.pop),
    ...messages.map((m) => m.ephemeral),
  );
}

function deriveKeys(commitments: Point[][], threshold: number): { publicKey: Point; verificationKeys: Point[] } {
  const aggregate = Array.from({ length: threshold }, (_, k) => commitments.reduce((acc, C) => acc.add(C[k]!), G.ZERO));
  return { publicKey: aggregate[0]!, verificationKeys: commitments.map((_, j) => evaluateCommitment(aggregate, j + 1)) };
}

/**
 * Round 2 for custodian `index`: verifies everything it received, derives its share and the epoch key,
 * and signs the transcript. Throws DkgFault naming a cheating dealer.
 */
export function dkgRound2(session: DkgSession, staticSecret: Uint8Array, state: Round1State, messages: readonly Round1Message[]): DkgOutput {
  const context = sessionContext(session);
  const i = state.index;
  const d = decodeScalar(staticSecret, 'static secret');
  const P = session.staticKeys[i - 1];
  if (!P || !G.BASE.multiply(d).equals(decodePoint(P))) throw new Error(`static secret does not match static key ${i}`);
  const mine = messages[i - 1];
  if (!mine || mine.commitment.some((c, k) => !G.BASE.multiply(state.coefficients[k]!).equals(decodePoint(c))))
    throw new Error('the coordinator altered this custodian’s own round-1 message');
  const commitments = checkRound1Messages(session, context, messages);
  let x = 0n;
  messages.forEach((m, position) => {
    const j = position + 1;
    const { key, nonce } = h6(decodePoint(m.ephemeral).multiply(d).toBytes(), m.ephemeral, P, context);
    let plain: Uint8Array;
    try {
      plain = xchacha20poly1305(key, nonce).decrypt(m.encryptedShares[i - 1]!);
    } catch {
      throw new DkgFault(j, 'encrypted share does not decrypt');
    }
    let s: bigint;
    try {
      s = decodeScalar(plain, 'share', true);
    } catch {
      throw new DkgFault(j, 'share is not a canonical scalar');
    }
    if (!G.BASE.multiply(s).equals(evaluateCommitment(commitments[position]!, i))) throw new DkgFault(j, `share for custodian ${i} does not match the dealer’s commitment`);
    x = Fn.add(x, s);
  });
  const { publicKey, verificationKeys } = deriveKeys(commitments, session.threshold);
  if (!G.BASE.multiply(x).equals(verificationKeys[i - 1]!)) throw new Error('final share does not match its verification key');
  if (publicKey.is0()) throw new Error('the epoch public key is the identity');
  const transcript = transcriptBytes(context, session, messages);
  return {
    index: i,
    secretShare: x,
    publicKey: encodePoint(publicKey),
    verificationKeys: verificationKeys.map(encodePoint),
    transcript,
    transcriptSignature: FROST.sign(transcript, staticSecret),
  };
}

/** Certification: all n custodians must have signed the same transcript (detects a split view). */
export function checkTranscriptSignatures(session: DkgSession, transcript: Uint8Array, signatures: readonly Uint8Array[]): void {
  const n = session.staticKeys.length;
  if (signatures.length !== n) throw new Error(`expected ${n} transcript signatures, got ${signatures.length}`);
  signatures.forEach((sig, position) => {
    if (!schnorrVerify(sig, transcript, session.staticKeys[position]!))
      throw new DkgFault(position + 1, 'transcript signature does not verify (split view or forgery)');
  });
}

const completionMessage = (transcript: Uint8Array) => lengthPrefixed(COMPLETION_LABEL, transcript);

/** A custodian's completion: signed with its static key once its share for this transcript is stored durably. */
export function signCompletion(transcript: Uint8Array, staticSecret: Uint8Array): Uint8Array {
  return FROST.sign(completionMessage(transcript), staticSecret);
}

/** Activation: all n custodians must have signed a completion for the same transcript. */
export function checkCompletions(session: DkgSession, transcript: Uint8Array, completions: readonly Uint8Array[]): void {
  const n = session.staticKeys.length;
  if (completions.length !== n) throw new Error(`expected ${n} completions, got ${completions.length}: the ceremony is not complete`);
  completions.forEach((sig, position) => {
    if (!schnorrVerify(sig, completionMessage(transcript), session.staticKeys[position]!)) throw new DkgFault(position + 1, 'completion does not verify');
  });
}

export function epochCertificate(
  session: DkgSession,
  messages: readonly Round1Message[],
  signatures: readonly Uint8Array[],
  completions: readonly Uint8Array[] = [],
): EpochCertificate {
  return {
    deployment: session.deployment,
    epoch: session.epoch,
    threshold: session.threshold,
    staticKeys: [...session.staticKeys],
    commitments: messages.map((m) => [...m.commitment]),
    pops: messages.map((m) => m.pop),
    ephemerals: messages.map((m) => m.ephemeral),
    signatures: [...signatures],
    completions: [...completions],
  };
}

/**
 * Verifies a success certificate against the custodians' pinned static keys and derives the epoch key
 * from it, requiring all n completions (the ceremony finished everywhere). This is what clients do before
 * they encrypt to an epoch key, and what the agency does before it trusts a verification key.
 */
export function openEpochCertificate(cert: EpochCertificate, pinnedStaticKeys: readonly Uint8Array[], deployment: string, threshold: number): EpochKey {
  const { key, session, transcript } = openCertificate(cert, pinnedStaticKeys, deployment, threshold);
  checkCompletions(session, transcript, cert.completions);
  return key;
}

/** The transcript signatures only (what a custodian checks at certification, before completions exist). */
export function openTranscriptCertificate(
  cert: EpochCertificate,
  pinnedStaticKeys: readonly Uint8Array[],
  deployment: string,
  threshold: number,
): { key: EpochKey; transcript: Uint8Array } {
  const { key, transcript } = openCertificate(cert, pinnedStaticKeys, deployment, threshold);
  return { key, transcript };
}

function openCertificate(cert: EpochCertificate, pinnedStaticKeys: readonly Uint8Array[], deployment: string, threshold: number) {
  if (cert.deployment !== deployment) throw new Error(`certificate is for deployment ${JSON.stringify(cert.deployment)}`);
  if (cert.threshold !== threshold) throw new Error(`certificate threshold ${cert.threshold} is not the configured ${threshold}`);
  if (cert.staticKeys.length !== pinnedStaticKeys.length || cert.staticKeys.some((k, i) => !equalBytes(k, pinnedStaticKeys[i]!)))
    throw new Error('certificate custodians are not the pinned custodians');
  const session: DkgSession = { deployment, epoch: cert.epoch, threshold, staticKeys: pinnedStaticKeys };
  const context = sessionContext(session);
  const n = pinnedStaticKeys.length;
  if (cert.commitments.length !== n || cert.pops.length !== n || cert.ephemerals.length !== n) throw new Error('certificate is incomplete');
  const commitments = cert.commitments.map((C, position) => {
    if (C.length !== threshold) throw new DkgFault(position + 1, 'commitment has the wrong length');
    if (!schnorrVerify(cert.pops[position]!, popMessage(context, position + 1), C[0]!)) throw new DkgFault(position + 1, 'invalid proof of possession');
    return C.map((c) => decodePoint(c, 'commitment'));
  });
  const messages = cert.commitments.map((commitment, k) => ({ commitment, pop: cert.pops[k]!, ephemeral: cert.ephemerals[k]! }));
  const transcript = transcriptBytes(context, session, messages);
  checkTranscriptSignatures(session, transcript, cert.signatures);
  const { publicKey, verificationKeys } = deriveKeys(commitments, threshold);
  return { session, transcript, key: { epoch: cert.epoch, threshold, publicKey: encodePoint(publicKey), verificationKeys: verificationKeys.map(encodePoint) } };
}
