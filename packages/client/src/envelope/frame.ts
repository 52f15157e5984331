/**
 * The transport frame: the bytes of `sendMessageRequest.ciphertext` (opaque to the server's schema).
 *   lengthPrefixed("doublelock/frame/v1", mlsPrivateMessage, sealedPayload, escrowScheme, escrowField)
 * Lawful-access retention can read sealedPayload and the escrow field from here without any MLS state.
 */
import { lengthPrefixed } from '@doublelock/protocol';
import { splitLengthPrefixed } from './bytes.ts';

const FRAME_LABEL = 'doublelock/frame/v1';

export interface Frame {
  mlsMessage: Uint8Array;
  sealedPayload: Uint8Array;
  escrow: { scheme: string; field: Uint8Array } | undefined;
}

export function encodeFrame(f: Frame): Uint8Array {
  return lengthPrefixed(FRAME_LABEL, f.mlsMessage, f.sealedPayload, f.escrow?.scheme ?? '', f.escrow?.field ?? new Uint8Array(0));
}

export function decodeFrame(bytes: Uint8Array): Frame {
  const [label, mlsMessage, sealedPayload, scheme, field] = splitLengthPrefixed(bytes, 5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (new TextDecoder().decode(label) !== FRAME_LABEL) throw new RangeError('not a Doublelock message frame');
  const schemeText = new TextDecoder().decode(scheme);
  return { mlsMessage, sealedPayload, escrow: schemeText === '' ? undefined : { scheme: schemeText, field } };
}
