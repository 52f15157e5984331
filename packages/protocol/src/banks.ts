/**
 * Moderation banks and text rules over HTTP (/v1/moderation/banks, /v1/moderation/rules/test): what the
 * moderation console sends to import a ThreatExchange/HMA file in pieces (with a progress bar) and to try
 * text against the rules. Shared by the server and the web console.
 */
import { z } from 'zod';

export const bankName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a bank name is 1–64 letters, digits, _ . - (starting with a letter or digit)');

export const bankCreateRequest = z.object({ name: bankName, description: z.string().trim().max(500).default('') }).strict();

/** One piece of a bank file: CSV pieces each start with the file's header line; TXT is a line a signal. */
export const BANK_IMPORT_PIECE_CHARS = 1_000_000;
export const bankImportRequest = z
  .object({
    format: z.enum(['csv', 'json', 'txt']),
    text: z.string().min(1).max(BANK_IMPORT_PIECE_CHARS),
    /** skip malformed rows (they are listed) instead of refusing the piece */
    skipInvalid: z.boolean().default(false),
    /** on the last piece: queue one retro-sweep of published posts over what the import added */
    sweep: z.boolean().default(false),
    /** where the import started (the first piece's `beforeSignalId`); this piece's own start if absent */
    sweepAfter: z.number().int().nonnegative().optional(),
  })
  .strict();
export type BankImportRequest = z.infer<typeof bankImportRequest>;

export interface BankImportResult {
  imported: number;
  skipped: Array<{ line: number; error: string }>;
  /** the highest signal id before this piece was stored (the first piece's is the import's start) */
  beforeSignalId: number;
  sweepId: number | null;
}

export const rulesTestRequest = z
  .object({
    text: z.string().min(1).max(10_000),
    /** candidate rules, not stored: tested beside the live banks' rules */
    rules: z.array(z.string().trim().min(1).max(200)).max(100).default([]),
  })
  .strict();
