/**
 * Wire schemas of the transparency log endpoints (/v1/log/*). The checkpoint itself travels as a
 * C2SP signed note (text/plain, standard base64 inside, as the spec requires); proofs and entries are
 * JSON with base64url bytes like the rest of the API.
 */
import { z } from 'zod';
import { bytes } from './common.ts';

/** Most entries one GET /v1/log/entries returns; longer ranges are cut to this many. */
export const MAX_LOG_ENTRIES_PER_REQUEST = 1000;

/** A tree size or leaf index in a query string: decimal, no sign, no leading zeros, below 2^53. */
const count = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,15})$/, { message: 'must be a non-negative decimal integer' })
  .transform(Number)
  .refine(Number.isSafeInteger, { message: 'is too large' });

export const logInclusionQuery = z.object({ index: count, treeSize: count });
export type LogInclusionQuery = z.infer<typeof logInclusionQuery>;

export const logConsistencyQuery = z
  .object({ from: count, to: count })
  .refine((q) => q.from > 0 && q.from <= q.to, { message: 'need 0 < from ≤ to', path: ['from'] });
export type LogConsistencyQuery = z.infer<typeof logConsistencyQuery>;

export const logEntriesQuery = z.object({ start: count, end: count }).refine((q) => q.start < q.end, { message: 'need start < end', path: ['end'] });
export type LogEntriesQuery = z.infer<typeof logEntriesQuery>;

const hash = bytes({ exact: 32 });

export const logInclusionProofResponse = z.object({ index: z.number().int(), treeSize: z.number().int(), proof: z.array(hash) });
export type LogInclusionProofResponse = z.infer<typeof logInclusionProofResponse>;

export const logConsistencyProofResponse = z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(hash) });
export type LogConsistencyProofResponse = z.infer<typeof logConsistencyProofResponse>;

export const logEntriesResponse = z.object({ start: z.number().int(), entries: z.array(bytes({ max: 1 << 20 })) });
export type LogEntriesResponse = z.infer<typeof logEntriesResponse>;

/** POST /v1/log/cosignatures takes the checkpoint note with the witness's cosignature line(s) appended (text/plain). */
export const logCosignatureRequest = z.string().min(1).max(64 * 1024);
export const logCosignatureResponse = z.object({ size: z.number().int(), accepted: z.array(z.string()) });
export type LogCosignatureResponse = z.infer<typeof logCosignatureResponse>;
