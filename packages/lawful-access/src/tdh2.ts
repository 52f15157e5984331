/**
 * TDH2, the labelled threshold cryptosystem secure against adaptive chosen-ciphertext attack of
 * V. Shoup and R. Gennaro, "Securing Threshold Cryptosystems against Chosen Ciphertext Attack",
 * J. Cryptology 15(2):75–96, 2002 (EUROCRYPT '98), §5 ("TDH2"), on ristretto255 (RFC 9496).
 *
 * Public parameters: the base point G and a second generator Ḡ whose discrete log to G nobody knows
 * (RFC 9380 hash_to_ristretto255 of a fixed string). Public key Y = x·G, shared t-of-n among custodians.
 * Encryption of a 32-byte key K under a label L, with randomness r, s:
 *   u = r·G,  ū = r·Ḡ,  c = K ⊕ H₁(Y, u, r·Y, L)          (the hashed ElGamal part: elgamal.ts)
 *   w = s·G,  w̄ = s·Ḡ,  e = H₂(Y, c, L, u, w, ū, w̄),  f = s + r·e
 * The ciphertext is (u, ū, c, e, f). Anyone holding L checks it is *valid* —
 *   e = H₂(Y, c, L, u, f·G − e·u, ū, f·Ḡ − e·ū)
 * — a non-interactive proof that whoever made it knew r (log_G u = log_Ḡ ū), bound to c and to L. A
 * decryption server (custodian) checks validity under the label it derives itself before returning its
 * share x_i·u, so a ciphertext moved to another label, or with c or u altered (say random mask bytes
 * around a lifted u), is refused: no share is ever computed on it. H₁ is elgamal.ts's mask (SHA-512);
 * H₂ is hash-to-scalar (RFC 9380, SHA-512) with its own domain-separation tag.
 *
 * The caller supplies r and s: the escrow field (escrow.ts) derives both from K and the label, so honest
 * recipients, who hold K and the label, recompute the whole ciphertext byte for byte.
 */
import { lengthPrefixed } from '@doublelock/protocol';
import { ristretto255_hasher } from '@noble/curves/ed25519.js';
import { type ElGamalCiphertext, KEY_BYTES, encryptKey } from './elgamal.ts';
import { Fn, HotPoint, type Point, assertBytes, decodePoint, decodeScalar, encodeScalar, generator, hashToScalar } from './group.ts';

const GENERATOR_DST = 'doublelock/tdh2/v1/generator';
const CHALLENGE_DST = 'doublelock/tdh2/v1/challenge';
export const TDH2_PROOF_BYTES = 32 + 32 + 32;

let generatorBar: HotPoint | undefined;
/** Ḡ: hash_to_ristretto255 (RFC 9380 §6.8.1 / RFC 9496 §4.3.4) of a fixed string; nobody knows log_G Ḡ. */
export function tdh2Generator(): Point {
  generatorBar ??= new HotPoint(
    ristretto255_hasher.hashToCurve(new TextEncoder().encode('doublelock TDH2 second generator'), { DST: GENERATOR_DST }) as unknown as Point,
  );
  return generatorBar.get();
}

export interface Tdh2Ciphertext extends ElGamalCiphertext {
  /** ū = r·Ḡ */
  uBar: Uint8Array;
  /** e, f: the proof of knowledge of r, bound to c and the label */
  e: Uint8Array;
  f: Uint8Array;
}

function challenge(publicKey: Uint8Array, masked: Uint8Array, label: Uint8Array, u: Uint8Array, w: Point, uBar: Uint8Array, wBar: Point): bigint {
  return hashToScalar(CHALLENGE_DST, lengthPrefixed(publicKey, masked, label, u, w.toBytes(), uBar, wBar.toBytes()));
}

/** Encrypts K under `label` with the given non-zero scalars r and s. `prepared` is the decoded key Y (with its table). */
export function tdh2Encrypt(publicKey: Uint8Array, key: Uint8Array, label: Uint8Array, r: bigint, s: bigint, prepared?: Point): Tdh2Ciphertext {
  assertBytes(label, undefined, 'label');
  if (s <= 0n || s >= Fn.ORDER) throw new RangeError('s must be a non-zero scalar');
  const { u, masked } = encryptKey(publicKey, key, r, label, prepared);
  const uBar = tdh2Generator().multiply(r).toBytes();
  const e = challenge(publicKey, masked, label, u, generator().multiply(s), uBar, tdh2Generator().multiply(s));
  return { u, masked, uBar, e: encodeScalar(e), f: encodeScalar(Fn.add(s, Fn.mul(r, e))) };
}

/** The public validity check under `label`; false (never a throw) for anything malformed or invalid. */
export function tdh2Valid(publicKey: Uint8Array, ct: Tdh2Ciphertext, label: Uint8Array): boolean {
  try {
    assertBytes(ct.masked, KEY_BYTES, 'masked key');
    assertBytes(label, undefined, 'label');
    const U = decodePoint(ct.u, 'u');
    const UBar = decodePoint(ct.uBar, 'ū');
    const e = decodeScalar(ct.e, 'e', true);
    const f = decodeScalar(ct.f, 'f', true);
    const w = generator().multiplyUnsafe(f).subtract(U.multiplyUnsafe(e)); // public values: variable time is fine
    const wBar = tdh2Generator().multiplyUnsafe(f).subtract(UBar.multiplyUnsafe(e));
    return challenge(publicKey, ct.masked, label, ct.u, w, ct.uBar, wBar) === e;
  } catch {
    return false;
  }
}
