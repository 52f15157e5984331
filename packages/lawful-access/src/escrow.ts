/**
 * The escrow access field (EAF): the envelope's content key K encrypted to the custodians' threshold
 * public key for the current epoch under TDH2 (tdh2.ts; Shoup–Gennaro 2002), labelled with the message
 * context, with its randomness derived deterministically from K and that label:
 *
 *   L    = SHA-256("doublelock/eaf/v2/label" ‖ group ‖ sender ‖ sender device ‖ sorted recipient devices
 *                  ‖ client message id ‖ epoch)                                        (length-prefixed)
 *   r, s = hash_to_scalar("doublelock/eaf/v2/r" | ".../s", Y ‖ epoch ‖ K ‖ L)           (RFC 9380, ristretto255)
 *   EAF  = 0x02 ‖ epoch (uint32 BE) ‖ u ‖ ū ‖ c ‖ e ‖ f                                (165 bytes)
 *
 * Two properties, two readers:
 *  - *Verifiable by recipients.* The field is a deterministic function of (Y, epoch, K, L): every recipient
 *    — who holds K and the context — recomputes it byte for byte and rejects a message whose field differs.
 *    This is the lesson of the Clipper chip's LEAF (Blaze, "Protocol Failure in the Escrowed Encryption
 *    Standard", 1994): its 16-bit checksum was forged in 2^16 tries; here there is no checksum to forge.
 *  - *Bound to its message for custodians (particularity).* Every part of L is in the provider's signed
 *    delivery record (delivery.ts), so a custodian recomputes L from the record of the message it is asked
 *    about and checks TDH2 validity under it before releasing anything. A field lifted from a message
 *    between two non-targets into a message to a target fails that check: the custodians are no oracle.
 * Determinism leaks only equality of (K, label) pairs, and K is a fresh random 256-bit key per message.
 */
import { lengthPrefixed, type EscrowContext, type EscrowFieldProvider } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { DAY_MS, assertEpoch, escrowEpochAccepted } from './epoch.ts';
import { KEY_BYTES } from './elgamal.ts';
import { HotPoint, assertBytes, decodePoint, equalBytes, hashToScalar } from './group.ts';
import { type Tdh2Ciphertext, tdh2Encrypt, tdh2Valid } from './tdh2.ts';

export const EAF_VERSION = 2;
export const EAF_BYTES = 1 + 4 + 5 * 32;
export const EAF_SCHEME = 'doublelock-eaf-v2';
const LABEL_DST = 'doublelock/eaf/v2/label';
const R_DST = 'doublelock/eaf/v2/r';
const S_DST = 'doublelock/eaf/v2/s';

export interface EpochPublicKey {
  epoch: number;
  /** the threshold public key Y (32 bytes) */
  publicKey: Uint8Array;
}

/**
 * An epoch key decoded once, for the many fields made and checked with it; its multiplication table is
 * built once it has been used enough to pay for it (HotPoint, group.ts), then fields cost 6× less in r·Y.
 */
export interface PreparedEpochKey extends EpochPublicKey {
  point: HotPoint;
}

export function prepareEpochKey(key: EpochPublicKey): PreparedEpochKey {
  assertEpoch(key.epoch);
  return { epoch: key.epoch, publicKey: key.publicKey, point: new HotPoint(decodePoint(key.publicKey, 'epoch public key')) };
}

export interface ParsedEscrowField extends Tdh2Ciphertext {
  epoch: number;
}

function epochBytes(epoch: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, epoch);
  return out;
}

/** The TDH2 label of a message: what custodians recompute from the provider's signed delivery record. */
export function escrowLabel(context: EscrowContext, epoch: number): Uint8Array {
  assertEpoch(epoch);
  const recipients = [...context.recipientDevices].sort();
  return sha256(
    lengthPrefixed(LABEL_DST, context.groupId, context.senderUsername, context.senderDevice, lengthPrefixed(...recipients), context.clientMessageId, epochBytes(epoch)),
  );
}

/** The deterministic TDH2 randomness (r, s): never zero (a zero scalar is re-hashed with a counter). */
export function deriveEscrowRandomness(key: EpochPublicKey, contentKey: Uint8Array, label: Uint8Array): { r: bigint; s: bigint } {
  const scalar = (dst: string) => {
    for (let counter = 0; ; counter++) {
      const x = hashToScalar(dst, lengthPrefixed(key.publicKey, epochBytes(key.epoch), contentKey, label, String(counter)));
      if (x !== 0n) return x;
    }
  };
  return { r: scalar(R_DST), s: scalar(S_DST) };
}

/** Builds the EAF for content key K bound to the message context under the epoch key. */
export function createEscrowField(key: EpochPublicKey | PreparedEpochKey, contentKey: Uint8Array, context: EscrowContext): Uint8Array {
  assertEpoch(key.epoch);
  return createEscrowFieldWithLabel(key, contentKey, escrowLabel(context, key.epoch));
}

/** As createEscrowField, from the label itself (the agency and evidence checks derive it from a delivery record). */
export function createEscrowFieldWithLabel(key: EpochPublicKey | PreparedEpochKey, contentKey: Uint8Array, label: Uint8Array): Uint8Array {
  assertEpoch(key.epoch);
  const point = 'point' in key && key.point instanceof HotPoint ? key.point.get() : decodePoint(key.publicKey, 'epoch public key');
  assertBytes(contentKey, KEY_BYTES, 'content key');
  assertBytes(label, 32, 'label');
  const { r, s } = deriveEscrowRandomness(key, contentKey, label);
  const ct = tdh2Encrypt(key.publicKey, contentKey, label, r, s, point);
  const out = new Uint8Array(EAF_BYTES);
  out[0] = EAF_VERSION;
  out.set(epochBytes(key.epoch), 1);
  out.set(ct.u, 5);
  out.set(ct.uBar, 37);
  out.set(ct.masked, 69);
  out.set(ct.e, 101);
  out.set(ct.f, 133);
  return out;
}

/** The epoch a field names, without parsing the rest (undefined for anything that is not a field). */
export function escrowFieldEpoch(field: Uint8Array): number | undefined {
  return field instanceof Uint8Array && field.length === EAF_BYTES && field[0] === EAF_VERSION
    ? new DataView(field.buffer, field.byteOffset, field.byteLength).getUint32(1)
    : undefined;
}

/** Splits a field into its parts; throws a precise error for a malformed one. Validity is `escrowFieldValid`. */
export function parseEscrowField(field: Uint8Array): ParsedEscrowField {
  assertBytes(field, EAF_BYTES, 'escrow field');
  if (field[0] !== EAF_VERSION) throw new Error(`unknown escrow field version ${field[0]}`);
  const epoch = new DataView(field.buffer, field.byteOffset, field.byteLength).getUint32(1);
  const u = field.slice(5, 37);
  decodePoint(u, 'escrow field point');
  return { epoch, u, uBar: field.slice(37, 69), masked: field.slice(69, 101), e: field.slice(101, 133), f: field.slice(133, 165) };
}

/**
 * The custodians' check (TDH2 validity under the label they derived from the delivery record): the field
 * was made, by someone who knew its randomness, for exactly this label and this epoch key.
 */
export function escrowFieldValid(epochPublicKey: Uint8Array, field: Tdh2Ciphertext, label: Uint8Array): boolean {
  return tdh2Valid(epochPublicKey, field, label);
}

/** The recipients' check: recomputes the field from K and the context and compares in constant time. */
export function verifyEscrowField(key: EpochPublicKey | PreparedEpochKey, field: Uint8Array, contentKey: Uint8Array, context: EscrowContext): boolean {
  try {
    return verifyEscrowFieldWithLabel(key, field, contentKey, escrowLabel(context, key.epoch));
  } catch {
    return false;
  }
}

export function verifyEscrowFieldWithLabel(key: EpochPublicKey | PreparedEpochKey, field: Uint8Array, contentKey: Uint8Array, label: Uint8Array): boolean {
  if (!(field instanceof Uint8Array) || field.length !== EAF_BYTES) return false;
  if (!(contentKey instanceof Uint8Array) || contentKey.length !== KEY_BYTES || !(label instanceof Uint8Array)) return false;
  try {
    return equalBytes(field, createEscrowFieldWithLabel(key, contentKey, label));
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
  /** the deployment's epoch length (default a day) */
  epochLengthMs?: number;
}

/**
 * The messenger's extension point (packages/protocol EscrowFieldProvider) over fixed keys. Recipients
 * verify with the key of the epoch named in the field, only when that epoch fits the delivery time
 * (escrowEpochAccepted, the custodians' rule); a field for an epoch they do not know is rejected.
 */
export function escrowFieldProvider(options: EscrowProviderOptions): EscrowFieldProvider {
  const current = prepareEpochKey(options.current);
  const epochLengthMs = options.epochLengthMs ?? DAY_MS;
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
    verify(field, contentKey, context, deliveryTime) {
      const epoch = escrowFieldEpoch(field);
      if (epoch === undefined || !escrowEpochAccepted(epoch, deliveryTime, epochLengthMs)) return false;
      const key = keyFor(epoch);
      return key !== undefined && verifyEscrowField(key, field, contentKey, context);
    },
  };
}
