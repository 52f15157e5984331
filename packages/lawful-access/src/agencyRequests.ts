/**
 * The agency's requests to the provider's server (apps/server, /v1/lawful-access/*): a canonical-JSON
 * document signed with the agency key the trust configuration names, fresh (requestedAt within minutes)
 * and used once (nonce), so it can be neither forged, replayed nor redirected to another agency's name.
 */
import { toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { signedDeliveryRecordSchema } from './delivery.ts';
import { signDocument } from './signature.ts';
import { signedWarrantSchema } from './warrant.ts';

export const AGENCY_REQUEST_LABEL = 'doublelock/lawful-access/agency-request/v1';

export const agencyRequest = <T extends z.ZodType>(body: T) =>
  z.object({
    request: z.object({ body, requestedAt: z.number().int(), nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/) }),
    agency: z.string().min(1).max(64),
    signature: z.string().regex(/^[A-Za-z0-9_-]+$/),
  });

/** POST /v1/lawful-access/warrants: the double-locked warrant, and the nonce of its log commitment. */
export const warrantSubmission = z.object({ warrant: signedWarrantSchema, commitmentNonce: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
export type WarrantSubmission = z.infer<typeof warrantSubmission>;
export const warrantSubmissionResponse = z.object({ commitment: z.string(), leafIndex: z.number().int(), from: z.number().int(), until: z.number().int() });

/** POST /v1/lawful-access/intercepts: what was retained under one of the agency's warrants, after an id. */
export const interceptQuery = z.object({ warrantId: z.string().min(1).max(128), after: z.number().int().nonnegative().default(0), limit: z.number().int().min(1).max(1000).default(100) });
export type InterceptQuery = z.infer<typeof interceptQuery>;

/** One retained message: IRI (the provider's signed delivery record) and CC (the frame and its envelope context). */
export const exportedIntercept = z.object({
  id: z.number().int(),
  iri: signedDeliveryRecordSchema.optional(),
  cc: z
    .object({
      frame: z.string(),
      groupId: z.string(),
      sender: z.object({ username: z.string(), deviceId: z.string() }),
      clientMessageId: z.string(),
    })
    .optional(),
});
export type ExportedIntercept = z.infer<typeof exportedIntercept>;
export const interceptsResponse = z.object({ intercepts: z.array(exportedIntercept) });

export function signAgencyRequest<T>(body: T, agency: string, secretKey: Uint8Array, now = Date.now(), nonce = toBase64Url(randomBytes(16))) {
  const request = { body, requestedAt: now, nonce };
  return { request, agency, signature: signDocument(AGENCY_REQUEST_LABEL, request, secretKey) };
}
