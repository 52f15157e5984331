/**
 * Chaum–Pedersen proof of discrete-log equality (Chaum & Pedersen, "Wallet Databases with Observers",
 * CRYPTO '92), made non-interactive with Fiat–Shamir, on ristretto255 (RFC 9496). It proves that
 * log_G(Y) = log_U(D) — here: that a custodian's decryption share D = x·U used the same secret x as its
 * public verification key Y = x·G — without revealing x. The challenge hashes the whole statement and a
 * caller-supplied `binding` (warrant id, custodian id, ciphertext), so a proof for one release can never
 * be replayed as a proof for another. Same shape as RFC 9497 §2.2's proofs, with our own tags.
 *
 * proof = c ‖ z (64 bytes); A = z·G − c·Y, B = z·U − c·D, c = H(G, Y, U, D, A, B, binding).
 */
import { lengthPrefixed } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { Point, Fn, encodePoint, encodeScalar, decodeScalar, hashToScalar, assertBytes } from './group.ts';

const CHALLENGE_DST = 'doublelock/dleq/v1/challenge';
const NONCE_DST = 'doublelock/dleq/v1/nonce';
export const DLEQ_PROOF_BYTES = 64;

export interface DleqStatement {
  /** Y = x·G */
  publicKey: Point;
  /** the base of the second relation */
  base: Point;
  /** D = x·U */
  result: Point;
  /** context bound into the challenge */
  binding: Uint8Array;
}

function challenge(s: DleqStatement, A: Point, B: Point): bigint {
  return hashToScalar(
    CHALLENGE_DST,
    lengthPrefixed(encodePoint(s.publicKey), encodePoint(s.base), encodePoint(s.result), encodePoint(A), encodePoint(B), s.binding),
  );
}

/** Proves log_G(publicKey) = log_base(result) = secret. The nonce is hedged: secret, statement and fresh randomness. */
export function proveDleq(secret: bigint, s: DleqStatement): Uint8Array {
  if (secret <= 0n || secret >= Fn.ORDER) throw new RangeError('secret must be a non-zero scalar');
  assertBytes(s.binding, undefined, 'binding');
  const k = hashToScalar(NONCE_DST, lengthPrefixed(encodeScalar(secret), encodePoint(s.base), s.binding, randomBytes(32)));
  const A = Point.BASE.multiply(k);
  const B = s.base.multiply(k);
  const c = challenge(s, A, B);
  const z = Fn.add(k, Fn.mul(c, secret));
  const out = new Uint8Array(DLEQ_PROOF_BYTES);
  out.set(encodeScalar(c), 0);
  out.set(encodeScalar(z), 32);
  return out;
}

/** Checks a proof; false (never a throw) for any malformed or wrong proof. */
export function verifyDleq(proof: Uint8Array, s: DleqStatement): boolean {
  if (!(proof instanceof Uint8Array) || proof.length !== DLEQ_PROOF_BYTES) return false;
  let c: bigint;
  let z: bigint;
  try {
    c = decodeScalar(proof.subarray(0, 32), 'c', true);
    z = decodeScalar(proof.subarray(32, 64), 'z', true);
  } catch {
    return false;
  }
  if (s.publicKey.is0() || s.base.is0() || s.result.is0()) return false;
  const A = Point.BASE.multiplyUnsafe(z).subtract(s.publicKey.multiplyUnsafe(c));
  const B = s.base.multiplyUnsafe(z).subtract(s.result.multiplyUnsafe(c));
  return challenge(s, A, B) === c;
}
