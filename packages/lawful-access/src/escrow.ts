/**
 * The escrow access field (EAF): the envelope's content key K encrypted to the custodians' threshold
 * public key for the current epoch (threshold hashed ElGamal, elgamal.ts), with its randomness derived
 * deterministically from K and the message context:
 *
 *   r   = hash_to_scalar("doublelock/eaf/v1/r", Y ‖ epoch ‖ K ‖ context)       (RFC 9380, ristretto255)
 *   EAF = 0x01 ‖ epoch (uint32 BE) ‖ U = r·G ‖ K ⊕ H(Y, U, r·Y, context)        (69 bytes)
 *
 * Because the field is a deterministic function of (Y, epoch, K, context), every recipient — who holds K
 * and the context — recomputes it byte for byte and rejects a message whose field differs. This is the
 * lesson of the Clipper chip's LEAF (Blaze, "Protocol Failure in the Escrowed Encryption Standard", 1994):
 * its 16-bit checksum was forged in 2^16 tries. Here a field that passes the check *is* the encryption of
 * K, exactly (no checksum to brute-force: forging means finding (K', ctx') ≠ (K, ctx) with the same
 * 256-bit r and mask); a stripped, truncated, corrupted or re-randomised field fails.
 * Determinism leaks only equality of (K, context) pairs, and K is a fresh random 256-bit key per message.
 */
import { lengthPrefixed, type EscrowFieldProvider } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertEpoch } from './epoch.ts';
import { type ElGamalCiphertext, KEY_BYTES, encryptKey } from './elgamal.ts';
import { type Point, assertBytes, decodePoint, equalBytes, hashToScalar } from './group.ts';

export const EAF_VERSION = 1;
export const EAF_BYTES = 1 + 4 + 32 + 32;
export const EAF_SCHEME = 'doublelock-eaf-v1';
const R_DST = 'doublelock/eaf/v1/r';

export interface EpochPublicKey {
  epoch: number;
  /** the threshold public key Y (32 bytes) */
  publicKey: Uint8Array;
}

/** An epoch key decoded once, with a precomputed multiplication table (4x faster field creation). */
export interface PreparedEpochKey extends EpochPublicKey {
  point: Point;
}

export function prepareEpochKey(key: EpochPublicKey): PreparedEpochKey {
  assertEpoch(key.epoch);
  const point = decodePoint(key.publicKey, 'epoch public key');
  point.precompute(8, false);
  return { epoch: key.epoch, publicKey: key.publicKey, point };
}

export interface ParsedEscrowField extends ElGamalCiphertext {
  epoch: number;
}

function epochBytes(epoch: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, epoch);
  return out;
}

/** The deterministic ElGamal randomness: never zero (a zero scalar is re-hashed with a counter). */
export function deriveEscrowRandomness(key: EpochPublicKey, contentKey: Uint8Array, context: Uint8Array): bigint {
  for (let counter = 0; ; counter++) {
    const r = hashToScalar(R_DST, lengthPrefixed(key.publicKey, epochBytes(key.epoch), contentKey, context, String(counter)));
    if (r !== 0n) return r;
  }
}

/** Builds the EAF for content key K bound to `context` under the epoch key. */
export function createEscrowField(key: EpochPublicKey | PreparedEpochKey, contentKey: Uint8Array, context: Uint8Array): Uint8Array {
  assertEpoch(key.epoch);
  const point = 'point' in key ? key.point : decodePoint(key.publicKey, 'epoch public key');
  assertBytes(contentKey, KEY_BYTES, 'content key');
  assertBytes(context, undefined, 'context');
  const r = deriveEscrowRandomness(key, contentKey, context);
  const ct = encryptKey(key.publicKey, contentKey, r, context, point);
  const out = new Uint8Array(EAF_BYTES);
  out[0] = EAF_VERSION;
  out.set(epochBytes(key.epoch), 1);
  out.set(ct.u, 5);
  out.set(ct.masked, 37);
  return out;
}

/** Splits a field into its parts; throws a precise error for a malformed one. */
export function parseEscrowField(field: Uint8Array): ParsedEscrowField {
  assertBytes(field, EAF_BYTES, 'escrow field');
  if (field[0] !== EAF_VERSION) throw new Error(`unknown escrow field version ${field[0]}`);
  const epoch = new DataView(field.buffer, field.byteOffset, field.byteLength).getUint32(1);
  const u = field.slice(5, 37);
  decodePoint(u, 'escrow field point');
  return { epoch, u, masked: field.slice(37, 69) };
}

/** Recomputes the field from K and the context and compares in constant time. */
export function verifyEscrowField(key: EpochPublicKey | PreparedEpochKey, field: Uint8Array, contentKey: Uint8Array, context: Uint8Array): boolean {
  if (!(field instanceof Uint8Array) || field.length !== EAF_BYTES) return false;
  if (!(contentKey instanceof Uint8Array) || contentKey.length !== KEY_BYTES || !(context instanceof Uint8Array)) return false;
  try {
    return equalBytes(field, createEscrowField(key, contentKey, context));
  } catch {
    return false;
  }
}

/** SHA-256 of the field: what the server's signed delivery record names, so metadata and field are bound. */
export const escrowFieldDigest = (field: Uint8Array): Uint8Array => sha256(field);

export interface EscrowProviderOptions {
  /** the key new fields are made with (the current epoch's, certified by every custodian) */
  current: EpochPublicKey;
  /** keys of other epochs a recipient accepts (e.g. yesterday's, across midnight) */
  lookup?: (epoch: number) => EpochPublicKey | undefined;
}

/**
 * The messenger's extension point (packages/protocol EscrowFieldProvider). Recipients verify with the key
 * of the epoch named in the field; a field for an epoch they do not know is rejected.
 */
export function escrowFieldProvider(options: EscrowProviderOptions): EscrowFieldProvider {
  const current = prepareEpochKey(options.current);
  const prepared = new Map<number, PreparedEpochKey>([[current.epoch, current]]);
  const keyFor = (epoch: number): PreparedEpochKey | undefined => {
    let key = prepared.get(epoch);
    if (!key) {
      const found = options.lookup?.(epoch);
      if (!found || found.epoch !== epoch) return undefined;
      key = prepareEpochKey(found);
      prepared.set(epoch, key);
    }
    return key;
  };
  return {
    scheme: `${EAF_SCHEME}/${current.epoch}`,
    create: (contentKey, context) => createEscrowField(current, contentKey, context),
    verify(field, contentKey, context) {
      if (!(field instanceof Uint8Array) || field.length !== EAF_BYTES) return false;
      const key = keyFor(new DataView(field.buffer, field.byteOffset, field.byteLength).getUint32(1));
      return key !== undefined && verifyEscrowField(key, field, contentKey, context);
    },
  };
}
