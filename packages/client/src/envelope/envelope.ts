/**
 * The envelope (docs/MESSENGER.md): every chat message is
 *  - its payload (the franked bytes) sealed under a fresh content key K with a key-committing AEAD
 *    (committingAead.ts), bound to the message context (group, sender, message id);
 *  - the envelope keys — K, the franking key and commitment, and hashes binding the sealed payload and the
 *    escrow field — carried inside an MLS application message (RFC 9420 §6.3), so only members read them;
 *  - an optional escrow access field from an EscrowFieldProvider (lawful access, packages/lawful-access):
 *    deterministic in K and the context, so each recipient recomputes it and refuses a mismatch.
 * The sealed payload and the escrow field sit outside MLS in the transport frame (frame.ts), where a
 * server retaining a warranted account's traffic can keep them; without K they are opaque.
 */
import { lengthPrefixed, toBase64Url, utf8, type EscrowContext, type EscrowFieldProvider } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { equalBytes, splitLengthPrefixed } from './bytes.ts';
import { KEY_BYTES, NONCE_BYTES, open, seal } from './committingAead.ts';
import { FRANKING_KEY_BYTES, frankingCommitment, opensCommitment } from './franking.ts';

const ENVELOPE_LABEL = utf8('doublelock/envelope/v1');
const CONTEXT_LABEL = utf8('doublelock/envelope-context/v1');
const NO_BYTES = new Uint8Array(0);
const decoder = new TextDecoder();

export interface EnvelopeContext {
  groupId: Uint8Array;
  senderUsername: string;
  senderDeviceId: string;
  clientMessageId: string;
  /**
   * The devices the message is for (the group's other member devices, from MLS): part of the escrow
   * field's label only, not of the AEAD's context.
   */
  recipientDevices?: readonly string[];
}

/** The bytes the AEAD is bound to. */
export function envelopeContextBytes(c: EnvelopeContext): Uint8Array {
  return lengthPrefixed(CONTEXT_LABEL, c.groupId, c.senderUsername, c.senderDeviceId, c.clientMessageId);
}

/** What the escrow field is labelled with (packages/lawful-access escrow.ts): the context and the recipients. */
export function escrowContextOf(c: EnvelopeContext): EscrowContext {
  return { groupId: toBase64Url(c.groupId), senderUsername: c.senderUsername, senderDevice: c.senderDeviceId, recipientDevices: c.recipientDevices ?? [], clientMessageId: c.clientMessageId };
}

export interface SealedEnvelope {
  /** Goes inside the MLS application message. */
  keys: Uint8Array;
  /** Goes beside it, in the transport frame. */
  sealedPayload: Uint8Array;
  escrow: { scheme: string; field: Uint8Array } | undefined;
  /** Sent to the server in clear, for its franking tag. */
  frankingCommitment: Uint8Array;
  /** The sender's own copy, so its history can hold the message as sent. */
  frankingKey: Uint8Array;
}

export interface OpenedEnvelope {
  payload: Uint8Array;
  frankingKey: Uint8Array;
  frankingCommitment: Uint8Array;
}

export class EnvelopeRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeRejected';
  }
}

export function sealEnvelope(payload: Uint8Array, context: EnvelopeContext, escrow?: EscrowFieldProvider): SealedEnvelope {
  // One call to the system's random source for the message's three secrets (each call has a fixed cost).
  const random = randomBytes(KEY_BYTES + FRANKING_KEY_BYTES + NONCE_BYTES);
  const contentKey = random.subarray(0, KEY_BYTES);
  const frankingKey = random.subarray(KEY_BYTES, KEY_BYTES + FRANKING_KEY_BYTES);
  const commitment = frankingCommitment(frankingKey, payload);
  const contextBytes = envelopeContextBytes(context);
  const sealedPayload = seal(contentKey, payload, contextBytes, random.subarray(KEY_BYTES + FRANKING_KEY_BYTES));
  const field = escrow ? { scheme: escrow.scheme, field: escrow.create(contentKey, escrowContextOf(context)) } : undefined;
  const keys = lengthPrefixed(
    ENVELOPE_LABEL,
    contentKey,
    frankingKey,
    commitment,
    sha256(sealedPayload),
    field?.scheme ?? NO_BYTES,
    field ? sha256(field.field) : NO_BYTES,
  );
  // A copy, so the sender's history never holds a view onto the buffer that also holds K.
  return { keys, sealedPayload, escrow: field, frankingCommitment: commitment, frankingKey: frankingKey.slice() };
}

/**
 * Opens and checks an envelope. `serverCommitment` is the commitment the server tagged (from the mailbox
 * item): it must be the one inside the envelope, else a report could not prove what we received.
 * `deliveryTime` is the server's time for the mailbox item: the escrow field's epoch must fit it.
 */
export function openEnvelope(
  keys: Uint8Array,
  sealedPayload: Uint8Array,
  outerEscrow: { scheme: string; field: Uint8Array } | undefined,
  context: EnvelopeContext,
  serverCommitment: Uint8Array | undefined,
  escrow?: EscrowFieldProvider,
  deliveryTime?: number,
): OpenedEnvelope {
  let fields: Uint8Array[];
  try {
    fields = splitLengthPrefixed(keys, 7);
  } catch (error) {
    throw new EnvelopeRejected(`malformed envelope: ${(error as Error).message}`);
  }
  const [label, contentKey, frankingKey, commitment, sealedHash, scheme, fieldHash] = fields as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  if (!equalBytes(label, ENVELOPE_LABEL)) throw new EnvelopeRejected('unknown envelope version');
  if (contentKey.length !== KEY_BYTES || frankingKey.length !== FRANKING_KEY_BYTES || commitment.length !== 32) throw new EnvelopeRejected('malformed envelope keys');
  if (!equalBytes(sha256(sealedPayload), sealedHash)) throw new EnvelopeRejected('the sealed payload is not the one the sender bound into the MLS message');
  const schemeText = scheme.length === 0 ? '' : decoder.decode(scheme);
  if (schemeText === '' ? outerEscrow !== undefined : !outerEscrow || outerEscrow.scheme !== schemeText || !equalBytes(sha256(outerEscrow.field), fieldHash)) {
    throw new EnvelopeRejected('the escrow field beside the message is not the one the sender bound into it');
  }
  const contextBytes = envelopeContextBytes(context);
  if (escrow) {
    if (!outerEscrow) throw new EnvelopeRejected('lawful access is on in this deployment and the message has no escrow access field');
    // The scheme may name another epoch than the provider's current one (keys rotate): the provider's
    // verify decides which keys it accepts.
    if (!escrow.verify(outerEscrow.field, contentKey, escrowContextOf(context), deliveryTime ?? -1))
      throw new EnvelopeRejected('the escrow access field does not match the content key and context, or its epoch does not fit the delivery time');
  }
  let payload: Uint8Array;
  try {
    payload = open(contentKey, sealedPayload, contextBytes);
  } catch (error) {
    throw new EnvelopeRejected(`payload does not decrypt: ${(error as Error).message}`);
  }
  if (!opensCommitment(commitment, frankingKey, payload)) throw new EnvelopeRejected('the franking commitment does not open to the payload');
  if (serverCommitment && !equalBytes(serverCommitment, commitment)) throw new EnvelopeRejected('the server tagged a different franking commitment than the sender made');
  if (!serverCommitment) throw new EnvelopeRejected('the message has no server franking tag');
  return { payload, frankingKey, frankingCommitment: commitment };
}
