/**
 * The matcher role's internal API (apps/matcher): the upload check in the server sends a content item's
 * signals, the matcher process answers with matches against its loaded banks. Internal, not public: a
 * bearer token shared by the server and its matcher processes guards every route.
 */
import { z } from 'zod';

const pdqHex = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits (a PDQ hash)' });
const DIHEDRAL = ['original', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'] as const;

export const matcherQuery = z
  .object({
    pdq: pdqHex.optional(),
    /** all eight dihedral hashes (or some of them) of one image */
    pdqVariants: z.partialRecord(z.enum(DIHEDRAL), pdqHex).optional(),
    quality: z.number().int().min(0).max(100).optional(),
    md5: z.string().regex(/^[0-9a-f]{32}$/).optional(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    url: z.string().min(1).max(4096).optional(),
    /** a vPDQ signal string (JSON array of "pdq_hex,quality,timestamp"); at most 2 hours at 1 frame/s */
    vpdq: z.string().min(2).max(7200 * 80).optional(),
  })
  .strict();
export type MatcherQuery = z.infer<typeof matcherQuery>;

export const matcherMatch = z.object({
  bank: z.string(),
  signalId: z.number().int(),
  type: z.enum(['pdq', 'md5', 'sha256', 'url', 'vpdq', 'text']),
  value: z.string(),
  labels: z.array(z.string()),
  source: z.string(),
  distance: z.number().int().optional(),
  variant: z.enum(DIHEDRAL).optional(),
  vpdq: z.object({ queryMatchPercent: z.number(), targetMatchPercent: z.number() }).optional(),
  autoAction: z.boolean(),
  reason: z.enum(['low_quality', 'false_positive_label']).optional(),
});
export const matcherMatches = z.object({ matches: z.array(matcherMatch) });
export type MatcherMatches = z.infer<typeof matcherMatches>;

export const matcherStatus = z.object({
  /** live signals loaded (every type) */
  signals: z.number().int(),
  banks: z.array(z.string()),
  /** widest PDQ distance searched */
  pdqThreshold: z.number().int(),
  /** the highest bank signal id this process has seen */
  maxSignalId: z.number().int(),
  loadedAt: z.number(),
  refreshedAt: z.number(),
});
export type MatcherStatus = z.infer<typeof matcherStatus>;
