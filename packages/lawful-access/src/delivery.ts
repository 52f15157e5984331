/**
 * The provider's signed delivery record: who sent a message, to whom, when the server accepted it, and
 * the digest of its escrow field. It is the intercept-related information (IRI, ETSI TS 102 232 / HI2)
 * for one message, and it is what binds an escrow field to metadata a custodian can check: a custodian
 * releases a share only for a field whose digest the provider signed, with a target as sender or
 * recipient and a server time inside the warrant's window. It also carries every part of the escrow
 * field's TDH2 label (group, sender device, recipient devices, client message id: escrow.ts), so a
 * custodian derives the label of *this* message from what the provider signed, and a field made for
 * another message is refused.
 */
import { toBase64Url } from '@doublelock/protocol';
import { z } from 'zod';
import type { EscrowContext } from '@doublelock/protocol';
import { escrowFieldDigest, escrowLabel } from './escrow.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { type TrustConfig, findKey } from './trust.ts';

export const DELIVERY_LABEL = 'doublelock/lawful-access/delivery-record/v1';
const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/, 'identifier');

export const deliveryRecordSchema = z.object({
  messageId: z.string().min(1).max(128),
  sender: identifier,
  recipients: z.array(identifier).min(1).max(10_000),
  /** the group (base64url), as the server names it */
  groupId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  /** the sending device */
  senderDevice: z.string().min(1).max(128),
  /** the devices the server delivered to (the group's other member devices) */
  recipientDevices: z.array(z.string().min(1).max(128)).max(10_000),
  /** the sender's message id */
  clientMessageId: z.string().min(1).max(128),
  serverTime: z.number().int().nonnegative(),
  /** ciphertext size in bytes (IRI) */
  size: z.number().int().nonnegative(),
  /** base64url SHA-256 of the escrow access field */
  fieldDigest: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
export type DeliveryRecord = z.infer<typeof deliveryRecordSchema>;

export const signedDeliveryRecordSchema = z.object({ record: deliveryRecordSchema, signer: identifier, signature: z.string() });
export type SignedDeliveryRecord = z.infer<typeof signedDeliveryRecordSchema>;

export function deliveryRecordFor(message: Omit<DeliveryRecord, 'fieldDigest'>, field: Uint8Array): DeliveryRecord {
  return deliveryRecordSchema.parse({ ...message, fieldDigest: toBase64Url(escrowFieldDigest(field)) });
}

export function signDeliveryRecord(record: DeliveryRecord, signer: string, secretKey: Uint8Array): SignedDeliveryRecord {
  const parsed = deliveryRecordSchema.parse(record);
  return { record: parsed, signer, signature: signDocument(DELIVERY_LABEL, parsed, secretKey) };
}

export function verifyDeliveryRecord(signed: SignedDeliveryRecord, trust: TrustConfig): boolean {
  const key = findKey(trust.provider, signed.signer);
  return key !== undefined && verifyDocument(DELIVERY_LABEL, signed.record, signed.signature, key.publicKey);
}

/** The context the escrow field must be labelled with, as the provider's record states it. */
export function escrowContextOf(record: DeliveryRecord): EscrowContext {
  return { groupId: record.groupId, senderUsername: record.sender, senderDevice: record.senderDevice, recipientDevices: record.recipientDevices, clientMessageId: record.clientMessageId };
}

/** The TDH2 label of the delivered message for a field of `epoch`: what custodians check the field under. */
export const deliveryLabel = (record: DeliveryRecord, epoch: number): Uint8Array => escrowLabel(escrowContextOf(record), epoch);
