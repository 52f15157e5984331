/**
 * The agency's request to one custodian for a decryption share, and the custodian's answer. The request
 * carries everything the custodian checks by itself (release.ts): the double-locked warrant, the opening
 * of its log commitment with an inclusion proof, the provider-signed delivery record, and the escrow
 * field. It is signed by the agency key the trust configuration names for the warrant's agency, is
 * addressed to one custodian, and has a fresh id and time, so it cannot be replayed or redirected.
 */
import { z } from 'zod';
import { signedDeliveryRecordSchema } from './delivery.ts';
import { inclusionSchema, signedReleaseRecordSchema } from './logEntries.ts';
import { signDocument, verifyDocument } from './signature.ts';
import { type TrustConfig, findKey } from './trust.ts';
import { cancellationSchema, signedWarrantSchema } from './warrant.ts';

export const SHARE_REQUEST_LABEL = 'doublelock/lawful-access/share-request/v1';
const b64 = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');

export const shareRequestSchema = z.object({
  /** ≥ 128 random bits, base64url */
  requestId: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
  requestedAt: z.number().int().nonnegative(),
  custodian: z.number().int().min(1).max(255),
  warrant: signedWarrantSchema,
  /** base64url 32-byte nonce opening the warrant's log commitment */
  commitmentNonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  inclusion: inclusionSchema,
  delivery: signedDeliveryRecordSchema,
  /** base64url escrow access field */
  field: b64,
  cancellations: z.array(cancellationSchema).max(100),
});
export type ShareRequest = z.infer<typeof shareRequestSchema>;

export const signedShareRequestSchema = z.object({ request: shareRequestSchema, agency: z.string(), signature: b64 });
export type SignedShareRequest = z.infer<typeof signedShareRequestSchema>;

export function signShareRequest(request: ShareRequest, agency: string, secretKey: Uint8Array): SignedShareRequest {
  const parsed = shareRequestSchema.parse(request);
  return { request: parsed, agency, signature: signDocument(SHARE_REQUEST_LABEL, parsed, secretKey) };
}

export function verifyShareRequestSignature(signed: SignedShareRequest, trust: TrustConfig): boolean {
  const key = findKey(trust.agencies, signed.agency);
  return key !== undefined && verifyDocument(SHARE_REQUEST_LABEL, signed.request, signed.signature, key.publicKey);
}

export const shareResponseSchema = z.object({
  custodian: z.number().int().min(1).max(255),
  epoch: z.number().int().nonnegative(),
  /** D_i = x_i·U, base64url */
  share: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  /** Chaum–Pedersen proof, base64url (64 bytes) */
  proof: z.string().regex(/^[A-Za-z0-9_-]{86}$/),
  release: signedReleaseRecordSchema,
});
export type ShareResponse = z.infer<typeof shareResponseSchema>;
