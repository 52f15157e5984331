/**
 * Threshold hashed ElGamal on ristretto255 (RFC 9496) for one 32-byte content key K — a KEM+DEM in the
 * style of DHIES (Abdalla, Bellare, Rogaway 2001): the KEM part is U = r·G with shared point S = r·Y, the
 * DEM part masks K with SHA-512 of the whole KEM transcript. Decryption is shared (Desmedt & Frankel,
 * "Threshold cryptosystems", CRYPTO '89; Shoup & Gennaro 1998): custodian i with Shamir share x_i of the
 * epoch secret x returns D_i = x_i·U with a Chaum–Pedersen proof (dleq.ts) against its verification key
 * Y_i = x_i·G; any t valid shares combine by Lagrange interpolation in the exponent (RFC 9591 §4.2) to
 * S = Σ λ_i·D_i = x·U = r·Y.
 *
 * Randomness r is supplied by the caller: the escrow field (escrow.ts) derives it from K and the context.
 */
import { lengthPrefixed } from '@doublelock/protocol';
import { sha512 } from '@noble/hashes/sha2.js';
import { proveDleq, verifyDleq } from './dleq.ts';
import { Point, Fn, assertBytes, assertIndex, decodePoint, encodePoint, generator, lagrangeAtZero } from './group.ts';

const MASK_LABEL = 'doublelock/elgamal/v1/mask';
export const KEY_BYTES = 32;

export interface ElGamalCiphertext {
  /** U = r·G (32 bytes) */
  u: Uint8Array;
  /** K ⊕ H(Y, U, S, context) (32 bytes) */
  masked: Uint8Array;
}

function mask(publicKey: Uint8Array, u: Uint8Array, shared: Uint8Array, context: Uint8Array): Uint8Array {
  return sha512(lengthPrefixed(MASK_LABEL, publicKey, u, shared, context)).subarray(0, KEY_BYTES);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Encrypts a 32-byte key to the (threshold) public key with the given non-zero randomness r.
 * `prepared` may pass the decoded key with a precomputed table (escrow.ts does, per epoch).
 */
export function encryptKey(publicKey: Uint8Array, key: Uint8Array, r: bigint, context: Uint8Array, prepared?: Point): ElGamalCiphertext {
  const Y = prepared ?? decodePoint(publicKey, 'public key');
  assertBytes(key, KEY_BYTES, 'key');
  assertBytes(context, undefined, 'context');
  if (r <= 0n || r >= Fn.ORDER) throw new RangeError('randomness must be a non-zero scalar');
  const u = generator().multiply(r).toBytes();
  const shared = Y.multiply(r).toBytes();
  return { u, masked: xor(key, mask(publicKey, u, shared, context)) };
}

/** Recovers K from the shared point S = x·U (after combining shares, or with the whole secret in tests). */
export function decryptWithSharedPoint(publicKey: Uint8Array, ct: ElGamalCiphertext, shared: Uint8Array, context: Uint8Array): Uint8Array {
  assertBytes(ct.masked, KEY_BYTES, 'masked key');
  return xor(ct.masked, mask(publicKey, ct.u, shared, context));
}

export interface DecryptionShare {
  /** the custodian's Shamir index, 1..n */
  index: number;
  /** D_i = x_i·U */
  share: Uint8Array;
  /** Chaum–Pedersen proof that log_G(Y_i) = log_U(D_i), bound to `binding` */
  proof: Uint8Array;
}

/** Custodian side: D_i = x_i·U and its proof. `binding` names the warrant, custodian and ciphertext. */
export function createDecryptionShare(index: number, secretShare: bigint, u: Uint8Array, binding: Uint8Array): DecryptionShare {
  assertIndex(index);
  const U = decodePoint(u, 'ciphertext point');
  const D = U.multiply(secretShare);
  const Y = Point.BASE.multiply(secretShare);
  return { index, share: D.toBytes(), proof: proveDleq(secretShare, { publicKey: Y, base: U, result: D, binding }) };
}

/** Agency side: checks one share against the custodian's verification key Y_i. */
export function verifyDecryptionShare(share: DecryptionShare, verificationKey: Uint8Array, u: Uint8Array, binding: Uint8Array): boolean {
  try {
    assertIndex(share.index);
    return verifyDleq(share.proof, {
      publicKey: decodePoint(verificationKey, 'verification key'),
      base: decodePoint(u, 'ciphertext point'),
      result: decodePoint(share.share, 'decryption share'),
      binding,
    });
  } catch {
    return false;
  }
}

/**
 * Lagrange combination of exactly the given shares (callers pass ≥ t shares that they have verified):
 * S = Σ λ_i·D_i. With fewer than t shares the result is a meaningless point, which is why callers check
 * the recovered key (the escrow field is re-derivable from K, so a wrong K is always detected).
 */
export function combineShares(shares: readonly DecryptionShare[]): Uint8Array {
  if (shares.length === 0) throw new Error('no decryption shares to combine');
  const indices = shares.map((s) => s.index);
  let S = Point.ZERO;
  for (const s of shares) S = S.add(decodePoint(s.share, `share ${s.index}`).multiplyUnsafe(lagrangeAtZero(s.index, indices)));
  return encodePoint(S);
}
