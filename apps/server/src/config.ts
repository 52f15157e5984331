/** Server settings, with the defaults `npm start` runs on. */
import type { LawfulAccessConfig } from './lawfulAccess.ts';
import { DEFAULT_PUSH_LIMITS, type PushLimits } from './push.ts';
import { DEFAULT_QUOTAS, type QuotaLimits } from './quotas.ts';

export interface ServerConfig {
  host: string;
  port: number;
  /** Data folder for the embedded default: SQLite database and the local blob store. */
  dataDir: string;
  /** postgres://… to use PostgreSQL instead of SQLite. */
  databaseUrl?: string | undefined;
  /** redis://… — fan-out of new-mail notifications between server nodes sharing one PostgreSQL. */
  redisUrl?: string | undefined;
  /** Where encrypted attachments are kept (shared by all nodes when scaled out). Default <dataDir>/blobs. */
  blobDir?: string | undefined;
  /** Origins that devices may name in their signed authentication (defaults to this host and port). */
  origins?: string[] | undefined;
  /** The transparency log's origin (C2SP checkpoint first line), e.g. `chat.example.org/log`. */
  logOrigin: string;
  /** Verifier keys of the witnesses whose cosignatures the log accepts. */
  logWitnesses: string[];
  /** How many of those witnesses' cosignatures clients require on a checkpoint (told to them in /v1/app-config). */
  logWitnessQuorum: number;
  /** Accountable lawful access; absent means off: a pure end-to-end messenger that retains nothing. */
  lawfulAccess?: LawfulAccessConfig | undefined;
  sessionTtlMs: number;
  challengeTtlMs: number;
  /** Undelivered mail is dropped after this long (default 30 days). */
  mailboxTtlMs: number;
  maxBlobBytes: number;
  /** Largest JSON body accepted. */
  bodyLimit: number;
  /**
   * Most bytes of GroupInfos (with their ratchet trees) kept per group for rejoining by external commit (the two
   * latest epochs'); beyond it a commit's GroupInfo is not kept (default 24 MiB: a 10,000-member group's twice).
   */
  groupInfoQuotaBytes: number;
  /** WebSocket limits: sockets per device (the oldest closes for a new one), bytes in flight per socket, unsent bytes before a slow reader is dropped. */
  push: PushLimits;
  /** Per-device quotas (429 quota_exceeded beyond them). */
  quotas: QuotaLimits;
  /** SQLite: bytes kept in a reserve file beside the database, freed when the disk fills so acks still work (0: none). */
  storageReserveBytes: number;
  /** Bytes of mail one GET /v1/mailbox returns at most (at least one item, whatever its size). */
  mailboxReadBytes: number;
  /** Requests per minute per client address for registration and authentication. */
  rateLimit: { register: number; auth: number };
  sweepIntervalMs: number;
  logLevel: string;
  /** How often the banks are re-read for new signals and settings (a CLI import, the hub's sync). */
  bankRefreshMs: number;
  /** How often the background workers look for pending video checks and queued retro-sweeps. */
  moderationWorkMs: number;
  /** Header a trusted proxy sets to the reader's ISO 3166-1 country (for geo-restricted posts). */
  countryHeader: string;
  /** Largest image and video upload, in bytes. */
  maxImageBytes: number;
  maxVideoBytes: number;
  /** The public origin of this service (content URLs in notices and statements), e.g. https://social.example. */
  publicUrl?: string | undefined;
  /** Notice and action (packages/cases): the name authorities address removal orders to. */
  casesProvider: string;
  /** Prefix of statement-of-reasons PUIDs; by default a random id kept in the store. */
  casesDeploymentId?: string | undefined;
  /** File holding the key that encrypts preserved evidence (default <dataDir>/evidence.key, created 0600). */
  evidenceKeyFile?: string | undefined;
  /** How long a moderator's claim on a case lasts. */
  claimTtlMs: number;
  /** Terms and conditions, cited by decisions on incompatible content. */
  termsUrl: string;
  /** The out-of-court dispute settlement route (DSA Art. 21), named in every decision. */
  outOfCourt: string;
  /** The term automated decisions of the upload check rest on. */
  automatedTerm: string;
  /** Notices accepted per minute per client address (DSA Art. 16 is open to anyone, so it has a quota). */
  noticesPerMinute: number;
  /** How often case clocks are swept (escalation, overdue) and the upload pipeline's decisions taken in. */
  casesSweepMs: number;
  /** The built web app (apps/web/dist), served at `/`; absent: API only. */
  webRoot?: string | undefined;
  /** Matcher processes (apps/matcher) to send hash queries to, sharing the load; absent: match in this process. */
  matcherUrls?: string[] | undefined;
  /** The matcher processes' internal API token. */
  matcherToken?: string | undefined;
  /** A hash-sharing hub this platform is a member of (apps/hub); absent: none. */
  hub?: HubLinkConfig | undefined;
}

export interface HubLinkConfig {
  url: string;
  /** this platform's member API key */
  key: string;
  /** the hub's log key to pin; absent: the key the hub announces at the first sync is pinned */
  logKey?: string | undefined;
  /** how often the feed is synced (default 30 s: a hash shared on the hub blocks here within a minute) */
  syncMs: number;
  /** local bank = prefix + hub bank */
  bankPrefix: string;
  /** banks of this platform's own it publishes to the hub */
  publish: string[];
  /**
   * the webhook secret the hub gave this member: with it, the hub's signed alerts at POST /v1/hub/alerts
   * (an incident declared, signals shared under one) start a sync at once; absent: the route is not offered
   */
  webhookSecret?: string | undefined;
}

export const DAY_MS = 24 * 60 * 60 * 1000;

export function defaultConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: './data',
    logOrigin: 'doublelock.localhost/log',
    logWitnesses: [],
    logWitnessQuorum: 0,
    sessionTtlMs: 60 * 60 * 1000,
    challengeTtlMs: 60 * 1000,
    mailboxTtlMs: 30 * DAY_MS,
    maxBlobBytes: 100 * 1024 * 1024,
    bodyLimit: 4 * 1024 * 1024,
    groupInfoQuotaBytes: 24 * 1024 * 1024,
    push: DEFAULT_PUSH_LIMITS,
    quotas: DEFAULT_QUOTAS,
    storageReserveBytes: 16 * 1024 * 1024,
    mailboxReadBytes: 4 * 1024 * 1024,
    rateLimit: { register: 30, auth: 120 },
    sweepIntervalMs: 60 * 1000,
    logLevel: 'info',
    bankRefreshMs: 2000,
    moderationWorkMs: 1000,
    countryHeader: 'x-doublelock-country',
    maxImageBytes: 20 * 1024 * 1024,
    maxVideoBytes: 200 * 1024 * 1024,
    casesProvider: 'doublelock.localhost',
    claimTtlMs: 30 * 60 * 1000,
    termsUrl: 'https://doublelock.localhost/terms',
    outOfCourt: 'You may also refer the dispute to an out-of-court dispute settlement body certified under Article 21 of the Digital Services Act (listed by the European Commission), and you may go to court.',
    automatedTerm: 'Terms of service: terrorist and violent extremist content',
    noticesPerMinute: 30,
    casesSweepMs: 5000,
    ...overrides,
    ...(overrides.quotas && { quotas: { ...DEFAULT_QUOTAS, ...overrides.quotas } }),
    ...(overrides.push && { push: { ...DEFAULT_PUSH_LIMITS, ...overrides.push } }),
  };
}
