/**
 * One oversight audit: fetch and pin the trust configuration, then audit the log from scratch with the
 * log package's auditor (every entry downloaded, the root recomputed and checked against the signed
 * checkpoint, consistency with the checkpoint seen last), classifying and tallying each entry as the
 * auditor hashes it — so the counts describe exactly the tree the signed checkpoint commits to.
 */
import { auditLog, LogHttpClient, type AuditResult, type SeenCheckpoint } from '@doublelock/log';
import { openTrustConfig, signedTrustConfigSchema, type TrustConfig } from '@doublelock/lawful-access/trust';
import { parseReleaseLogEntry, signedReleaseRecordSchema, type SignedReleaseRecord } from '@doublelock/lawful-access/logEntries';
import { unloggedReleases, type UnloggedRelease } from '@doublelock/lawful-access/oversight';
import { z } from 'zod';
import { classifyEntry } from './entries.ts';
import { OversightTally, type Tally } from './tally.ts';

export interface TrustSummary {
  deployment: string;
  /** whether the configuration's signature was checked against a trust-root key given by the auditor */
  pinned: boolean;
  threshold: number;
  custodians: Array<{ index: number; name: string }>;
}

export interface OversightAudit {
  checkpoint: AuditResult['checkpoint'];
  /** the size of the checkpoint seen at the previous audit, when there was one */
  consistentWith: number | null;
  /** null when the server has lawful access off */
  trust: TrustSummary | null;
  /** the trust configuration itself (check `trust.pinned` before relying on it) */
  config: TrustConfig | null;
  tally: Tally;
  /**
   * With `custodians`: each custodian's own list of releases (GET /v1/releases) checked against the log —
   * the releases the log is missing (null when not asked), and the custodians that could not be asked.
   */
  unlogged: UnloggedRelease[] | null;
  custodianErrors: string[];
}

export interface OversightOptions {
  url: string;
  logKey: string;
  witnessKeys?: readonly string[];
  witnesses?: number;
  /** the trust-root Ed25519 public key (base64url) the trust configuration must verify under */
  trustRoot?: string;
  seen?: SeenCheckpoint;
  pageSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** the time deadlines (unsealing) are held against (default now) */
  asOf?: number;
  /** also ask every custodian in the trust configuration for its own list of releases */
  custodians?: boolean;
}

const releasesPage = z.object({ releases: z.array(z.object({ id: z.number().int(), record: signedReleaseRecordSchema })) });

/** A custodian's own list of the releases it made, page by page. */
async function custodianReleases(url: string): Promise<SignedReleaseRecord[]> {
  const out: SignedReleaseRecord[] = [];
  for (let after = 0; ; ) {
    const response = await fetch(`${url.replace(/\/$/, '')}/v1/releases?after=${after}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const { releases } = releasesPage.parse(await response.json());
    if (releases.length === 0) return out;
    out.push(...releases.map((r) => r.record));
    after = releases.at(-1)!.id;
  }
}

/** Records the entries the auditor downloads, in order, so they are tallied exactly as hashed. */
class TallyingLogClient extends LogHttpClient {
  constructor(
    baseUrl: string,
    private readonly sink: (start: number, entries: Uint8Array[]) => void,
  ) {
    super(baseUrl);
  }

  override async entries(start: number, end: number): Promise<Uint8Array[]> {
    const page = await super.entries(start, end);
    this.sink(start, page);
    return page;
  }
}

async function fetchTrust(baseUrl: string, trustRoot: string | undefined, logKey: string): Promise<{ config: TrustConfig; pinned: boolean } | null> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/v1/lawful-access`);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${baseUrl}: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`);
  }
  if (!response.ok) throw new Error(`GET /v1/lawful-access: HTTP ${response.status}`);
  const body = (await response.json()) as { enabled?: unknown; trust?: unknown };
  if (body.enabled === false) return null;
  if (body.enabled !== true) throw new Error('GET /v1/lawful-access: malformed response (no "enabled")');
  let config: TrustConfig;
  if (trustRoot !== undefined) {
    config = openTrustConfig(body.trust, trustRoot);
  } else {
    const parsed = signedTrustConfigSchema.safeParse(body.trust);
    if (!parsed.success) throw new Error(`malformed trust configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    config = parsed.data.config;
  }
  // The configuration pins the log it means; counting releases from another log would be meaningless.
  if (config.log.verifierKey !== logKey) throw new Error(`the trust configuration pins log key ${config.log.verifierKey}, not the --log-key given`);
  return { config, pinned: trustRoot !== undefined };
}

export async function runOversightAudit(options: OversightOptions): Promise<OversightAudit> {
  const base = new LogHttpClient(options.url).baseUrl;
  const trust = await fetchTrust(base, options.trustRoot, options.logKey);
  const tally = new OversightTally(trust?.config ?? null, options.asOf);
  let next = 0;
  const releaseEntries: Uint8Array[] = [];
  const client = new TallyingLogClient(base, (start, page) => {
    if (start !== next) throw new Error(`entries arrived out of order: expected ${next}, got ${start}`);
    page.forEach((entry, i) => tally.add(start + i, classifyEntry(entry)));
    if (options.custodians) releaseEntries.push(...page.filter((entry) => parseReleaseLogEntry(entry) !== undefined));
    next = start + page.length;
  });
  const result = await auditLog(client, {
    logKey: options.logKey,
    witnessKeys: options.witnessKeys,
    witnesses: options.witnesses,
    seen: options.seen,
    pageSize: options.pageSize,
    onProgress: options.onProgress,
  });
  if (next !== result.entries) throw new Error(`tallied ${next} entries but the audit covered ${result.entries}`);
  // The cross-check: what each custodian says it released, against what the audited log holds.
  let unlogged: UnloggedRelease[] | null = null;
  const custodianErrors: string[] = [];
  if (options.custodians && trust) {
    const lists = new Map<number, SignedReleaseRecord[]>();
    for (const c of trust.config.custodians) {
      try {
        lists.set(c.index, await custodianReleases(c.url));
      } catch (error) {
        custodianErrors.push(`custodian ${c.index} (${c.url}): ${(error as Error).message}`);
      }
    }
    unlogged = unloggedReleases(lists, releaseEntries, trust.config);
  }
  return {
    checkpoint: result.checkpoint,
    consistentWith: options.seen && options.seen.size > 0 ? options.seen.size : null,
    trust: trust && {
      deployment: trust.config.deployment,
      pinned: trust.pinned,
      threshold: trust.config.threshold,
      custodians: trust.config.custodians.map((c) => ({ index: c.index, name: c.name })),
    },
    config: trust?.config ?? null,
    tally: tally.result(),
    unlogged,
    custodianErrors,
  };
}
