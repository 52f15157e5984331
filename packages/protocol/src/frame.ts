/**
 * The transport frame: the bytes of `sendMessageRequest.ciphertext`.
 *   lengthPrefixed("doublelock/frame/v1", mlsPrivateMessage, sealedPayload, escrowScheme, escrowField)
 * Only the MLS message is readable by members alone; the payload sealed under the content key K and the
 * escrow access field sit beside it, so a server retaining a warranted account's traffic can keep them
 * (and sign the field's digest) without any MLS state. Without K they are opaque.
 */
import { lengthPrefixed, splitLengthPrefixed } from './encoding.ts';

export const FRAME_LABEL = 'doublelock/frame/v1';

export interface Frame {
  mlsMessage: Uint8Array;
  sealedPayload: Uint8Array;
  escrow: { scheme: string; field: Uint8Array } | undefined;
}

export function encodeFrame(f: Frame): Uint8Array {
  return lengthPrefixed(FRAME_LABEL, f.mlsMessage, f.sealedPayload, f.escrow?.scheme ?? '', f.escrow?.field ?? new Uint8Array(0));
}

/** Throws RangeError on anything that is not a frame. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const [label, mlsMessage, sealedPayload, scheme, field] = splitLengthPrefixed(bytes, 5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (new TextDecoder().decode(label) !== FRAME_LABEL) throw new RangeError('not a Doublelock message frame');
  const schemeText = new TextDecoder().decode(scheme);
  return { mlsMessage, sealedPayload, escrow: schemeText === '' ? undefined : { scheme: schemeText, field } };
}
