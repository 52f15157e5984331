/**
 * The hash-sharing hub's wire format (apps/hub, packages/hub): members submit, relabel and withdraw
 * signals, give opinions, and read the delta feed. The feed *is* the hub's transparency log: every
 * entry is the UTF-8 JSON of one `hubEntry`, so a member verifies what it reads against the log's
 * signed checkpoint (RFC 9162) before it acts on it.
 */
import { z } from 'zod';
import { bytes } from './common.ts';

export const HUB_SIGNAL_TYPES = ['pdq', 'vpdq', 'md5', 'sha256', 'url', 'text'] as const;
export const hubSignalType = z.enum(HUB_SIGNAL_TYPES);
export type HubSignalType = z.infer<typeof hubSignalType>;

/** Most signals in one submit or withdraw request (more: split the batch). */
export const MAX_HUB_BATCH = 10_000;
/** Most feed entries in one page. */
export const MAX_FEED_PAGE = 10_000;
export const MAX_LABELS = 20;

export const HUB_SCOPES = ['submit', 'read', 'admin'] as const;
export const hubScope = z.enum(HUB_SCOPES);
export type HubScope = z.infer<typeof hubScope>;

export const hubBankName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { message: 'a bank name is 1–64 letters, digits, _ . - (starting with a letter or digit)' });
export const hubMemberName = z.string().regex(/^[a-z0-9][a-z0-9_.-]{1,63}$/, { message: 'a member name is 2–64 lowercase letters, digits, _ . - (starting with a letter or digit)' });
/** Checked against the project's taxonomy by the hub (moderation/taxonomy.ts); unknown labels are refused. */
export const hubLabel = z.string().min(3).max(80);

export const OPINIONS = ['positive', 'negative', 'investigation_seed'] as const;
export const FEEDBACK = ['seen', 'true_positive', 'false_positive'] as const;
export const hubOpinion = z.enum(OPINIONS);
export const hubFeedback = z.enum(FEEDBACK);

export const hubSignalRef = z.object({
  bank: hubBankName,
  type: hubSignalType,
  /** the hash (hex), vPDQ signal, URL rule or text rule; put in canonical form by the hub */
  value: z.string().min(1).max(65_536),
});
export type HubSignalRef = z.infer<typeof hubSignalRef>;

export const hubSignalInput = hubSignalRef.extend({
  labels: z.array(hubLabel).max(MAX_LABELS).default([]),
  quality: z.number().int().min(0).max(100).optional(),
  /** an open incident this signal is shared under (it gets the incident's label) */
  incident: z.number().int().positive().optional(),
  /** provenance is the key's member; naming another member is refused (403) */
  member: hubMemberName.optional(),
});
export type HubSignalInput = z.input<typeof hubSignalInput>;

export const hubSubmitRequest = z.object({ signals: z.array(hubSignalInput).min(1).max(MAX_HUB_BATCH, { message: `at most ${MAX_HUB_BATCH} signals per request: split the batch` }) });
export const hubWithdrawRequest = z.object({ signals: z.array(hubSignalRef).min(1).max(MAX_HUB_BATCH, { message: `at most ${MAX_HUB_BATCH} signals per request: split the batch` }) });
export const hubLabelsRequest = hubSignalRef.extend({ labels: z.array(hubLabel).max(MAX_LABELS) });
export const hubOpinionRequest = hubSignalRef
  .extend({ opinion: hubOpinion.optional(), feedback: hubFeedback.optional() })
  .refine((o) => o.opinion !== undefined || o.feedback !== undefined, { message: 'give an opinion, a feedback, or both' });

export const hubWriteResponse = z.object({
  /** per signal, in request order */
  results: z.array(z.object({ status: z.enum(['added', 'updated', 'unchanged', 'withdrawn', 'recorded']), logIndex: z.number().int().nullable() })),
  /** log size after the write */
  size: z.number().int(),
});
export type HubWriteResponse = z.infer<typeof hubWriteResponse>;

export const hubFeedQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(MAX_FEED_PAGE).default(1000),
});

export const hubFeedResponse = z.object({
  /** the signed checkpoint (C2SP signed note) the page is proved against */
  checkpoint: z.string(),
  size: z.number().int().min(0),
  after: z.number().int().min(0),
  /** entries after, after+1, …: each the exact bytes of a log leaf (UTF-8 JSON of a hubEntry) */
  entries: z.array(z.string()),
  /** RFC 9162 consistency proof from size `after + entries.length` to `size` (empty when equal) */
  proof: z.array(bytes({ exact: 32 })),
});
export type HubFeedResponse = z.infer<typeof hubFeedResponse>;

/**
 * The same page as NDJSON (`Accept: application/x-ndjson`): this header on the first line, then `count`
 * lines, each the exact bytes of one log leaf (a hub entry's JSON never holds a raw newline). The leaves
 * travel unescaped, so neither side re-encodes them and the member hashes the bytes as they arrive.
 */
export const HUB_FEED_NDJSON = 'application/x-ndjson';
export const hubFeedHeader = hubFeedResponse.omit({ entries: true }).extend({ count: z.number().int().min(0).max(MAX_FEED_PAGE) });
export type HubFeedHeader = z.infer<typeof hubFeedHeader>;

const signalState = z.object({
  bank: z.string(),
  type: hubSignalType,
  value: z.string(),
});

/**
 * A log entry. `signal` carries the signal's whole current state (HMA fetch_iter's update); `withdraw`
 * carries none (a deletion); the others are provenance the feed also shows.
 */
export const hubEntry = z.discriminatedUnion('op', [
  signalState.extend({ op: z.literal('signal'), at: z.number().int(), by: z.string(), member: z.string(), labels: z.array(z.string()), quality: z.number().int().nullable(), incident: z.number().int().nullable(), disputed: z.boolean() }),
  signalState.extend({ op: z.literal('withdraw'), at: z.number().int(), by: z.string() }),
  signalState.extend({ op: z.literal('opinion'), at: z.number().int(), by: z.string(), opinion: hubOpinion.nullable(), feedback: hubFeedback.nullable() }),
  z.object({ op: z.literal('incident'), at: z.number().int(), by: z.string(), id: z.number().int(), name: z.string(), label: z.string(), open: z.boolean() }),
  z.object({ op: z.literal('member'), at: z.number().int(), by: z.string(), member: z.string(), active: z.boolean() }),
]);
export type HubEntry = z.infer<typeof hubEntry>;

export const hubIncidentRequest = z.object({ name: z.string().min(3).max(200), label: z.enum(['incident:cip', 'incident:cir']).default('incident:cip') });

/**
 * An alert the hub POSTs to a member's webhook (signed: x-hub-signature-256). `incident.declared` and
 * `incident.closed` follow the operator; `incident.signals` follows signals shared under an open
 * incident, so members sync them at once rather than at their next interval. `delivery` (random, one per
 * POST) and `sent_at` (ms) are under the signature, so a receiver refuses a replayed alert
 * (AlertReplayGuard in @doublelock/hub/platform).
 */
export const hubAlert = z.object({
  type: z.enum(['incident.declared', 'incident.closed', 'incident.signals']),
  member: z.string().max(64),
  delivery: z.string().regex(/^[0-9a-f]{32}$/, 'delivery is 32 hex digits'),
  sent_at: z.number().int().nonnegative(),
  incident: z.object({ id: z.number().int().positive(), name: z.string().max(200), label: z.string().max(80) }).passthrough(),
  /** for incident.signals: how many were shared, and the log size that holds them */
  signals: z.number().int().nonnegative().optional(),
  size: z.number().int().nonnegative().optional(),
});
export type HubAlert = z.infer<typeof hubAlert>;

export const hubInfoResponse = z.object({
  name: z.string(),
  logKey: z.string(),
  size: z.number().int(),
  member: z.string(),
  scopes: z.array(hubScope),
  limits: z.object({ batch: z.number().int(), feedPage: z.number().int(), requestsPerMinute: z.number().int() }),
});
export type HubInfo = z.infer<typeof hubInfoResponse>;

export const hubExportQuery = z.object({ format: z.enum(['csv', 'json', 'tat']).default('json'), bank: hubBankName.optional(), withdrawn: z.coerce.boolean().default(false) });
export const hubImportQuery = z.object({ format: z.enum(['csv', 'json', 'tat']), bank: hubBankName });
