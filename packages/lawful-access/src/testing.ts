/**
 * A complete lawful-access deployment for tests (this package's, apps/custodian's, and the end-to-end
 * ones): real keys for every authority, a signed trust configuration, a real transparency log on SQLite
 * (@doublelock/log) with a witness, and helpers that issue, approve, log and request like the real
 * parties do. Nothing here is a mock: it is the parties' own code driven from one place.
 */
import { toBase64Url, type EscrowContext } from '@doublelock/protocol';
import { CosignatureSigner, generateSignerKey, TransparencyLog } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { openDb, type Db } from '@doublelock/store';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Decryption, DecryptionRefused, decryptWithCustodians } from './agency.ts';
import type { Coordinator } from './ceremony.ts';
import { type DeliveryRecord, type SignedDeliveryRecord, deliveryRecordFor, signDeliveryRecord } from './delivery.ts';
import { DEFAULT_RETENTION_DAYS, DAY_MS } from './epoch.ts';
import { type EpochPublicKey, createEscrowField } from './escrow.ts';
import { type DkgSession, type EpochKey, generateStaticKey } from './dkg.ts';
import { type LogInclusion, type LogInclusionVerifier, logInclusionVerifier, releaseLogEntry, signedReleaseRecordSchema, warrantLogEntry } from './logEntries.ts';
import { type ShareRequest, type SignedShareRequest, signShareRequest } from './shareRequest.ts';
import { type KeyPair, generateSigningKey } from './signature.ts';
import { type SignedTrustConfig, type TrustConfig, signTrustConfig } from './trust.ts';
import { type Cancellation, type SignedWarrant, type Warrant, cancelWarrant, commitToWarrant, decideWarrant, issueWarrant } from './warrant.ts';

// One witness key per test process: the log is opened (with its accepted witnesses) before the world exists.
const WITNESS = new CosignatureSigner(generateSignerKey('witness.doublelock.test', SIGNATURE_COSIGNATURE_V1));

export interface CustodianKeys {
  index: number;
  staticKey: { secret: Uint8Array; publicKey: Uint8Array };
  signing: KeyPair;
}

export interface LoggedWarrant {
  warrant: SignedWarrant;
  nonce: Uint8Array;
  inclusion: LogInclusion;
}

export class LawfulAccessWorld {
  readonly root = generateSigningKey();
  readonly sos = generateSigningKey();
  readonly judge = generateSigningKey();
  readonly agency = generateSigningKey();
  /** a second agency in the trust configuration, for requests under another agency's warrant */
  readonly otherAgency = generateSigningKey();
  readonly provider = generateSigningKey();
  /** the key-ceremony coordinator the trust configuration names (ceremony.ts) */
  readonly coordinatorKey = generateSigningKey();
  readonly witness = WITNESS;
  readonly custodians: CustodianKeys[];
  readonly signedTrust: SignedTrustConfig;
  readonly verifyInclusion: LogInclusionVerifier;
  #dir: string;
  #signerKey = '';
  #http: Server | undefined;
  /** the log served over HTTP (tests swap in a fork of it, as a log operator showing another history would) */
  served: TransparencyLog;
  /** a provider that takes release records and drops them (answering as if it had logged them) */
  dropReleases = false;
  /** the time the witness stamps on the checkpoints it cosigns for the HTTP log (ms) */
  witnessClock: () => number = Date.now;

  private constructor(
    readonly db: Db,
    readonly log: TransparencyLog,
    dir: string,
    readonly threshold: number,
    n: number,
    urls: readonly string[],
    retentionDays: number,
  ) {
    this.#dir = dir;
    this.served = log;
    this.custodians = Array.from({ length: n }, (_, i) => ({ index: i + 1, staticKey: generateStaticKey(), signing: generateSigningKey() }));
    const config: TrustConfig = {
      version: 1,
      deployment: 'doublelock-test',
      issuedAt: Date.UTC(2026, 0, 1),
      secretaryOfState: [{ id: 'sos-1', publicKey: toBase64Url(this.sos.publicKey) }],
      judicialCommissioners: [{ id: 'jc-1', publicKey: toBase64Url(this.judge.publicKey) }],
      agencies: [
        { id: 'nca', publicKey: toBase64Url(this.agency.publicKey) },
        { id: 'mi5', publicKey: toBase64Url(this.otherAgency.publicKey) },
      ],
      provider: [{ id: 'provider-1', publicKey: toBase64Url(this.provider.publicKey) }],
      coordinators: [{ id: 'coordinator-1', publicKey: toBase64Url(this.coordinatorKey.publicKey) }],
      custodians: this.custodians.map((c, i) => ({
        index: c.index,
        name: `custodian-${c.index}`,
        url: urls[i] ?? `http://127.0.0.1/${c.index}`,
        staticKey: toBase64Url(c.staticKey.publicKey),
        signingKey: toBase64Url(c.signing.publicKey),
      })),
      threshold,
      log: { verifierKey: log.verifierKey, witnesses: [this.witness.verifierKey], witnessQuorum: 1 },
      epoch: { lengthMs: DAY_MS, retentionDays },
      bankHolidays: ['2026-12-25', '2026-12-28'],
    };
    this.signedTrust = signTrustConfig(config, this.root.secretKey);
    this.verifyInclusion = logInclusionVerifier(config.log);
  }

  static async create(options: { threshold: number; custodians: number; urls?: readonly string[]; retentionDays?: number }): Promise<LawfulAccessWorld> {
    const dir = mkdtempSync(join(tmpdir(), 'dl-lawful-access-'));
    const db = await openDb({ sqlitePath: join(dir, 'log.sqlite') });
    const signerKey = generateSignerKey('log.doublelock.test');
    const log = await TransparencyLog.open(db, { signerKey, witnesses: [WITNESS.verifierKey] });
    const world = new LawfulAccessWorld(db, log, dir, options.threshold, options.custodians, options.urls ?? [], options.retentionDays ?? DEFAULT_RETENTION_DAYS);
    world.#signerKey = signerKey;
    return world;
  }

  /** The log's signing key, for tests that play a log operator forking its log (split view). */
  get logSignerKey(): string {
    return this.#signerKey;
  }

  /** The coordinator as runDkgCeremony takes it. */
  get coordinator(): Coordinator {
    return { id: 'coordinator-1', secretKey: this.coordinatorKey.secretKey };
  }

  get trust(): TrustConfig {
    return this.signedTrust.config;
  }

  dkgSession(epoch: number): DkgSession {
    return { deployment: this.trust.deployment, epoch, threshold: this.threshold, staticKeys: this.custodians.map((c) => c.staticKey.publicKey) };
  }

  /** A warrant with sensible defaults: 2 targets, 30 days from `issuedAt`, content and metadata. */
  draft(overrides: Partial<Warrant> & { issuedAt: number }): Warrant {
    return {
      format: 1,
      id: `W-${toBase64Url(randomBytes(6))}`,
      revision: 0,
      kind: 'targeted-interception',
      targets: ['mallory'],
      window: { start: overrides.issuedAt, end: overrides.issuedAt + 30 * DAY_MS },
      grounds: ['national-security'],
      justification: 'Necessary and proportionate: intelligence indicates attack planning.',
      agency: 'nca',
      products: ['iri', 'cc'],
      limits: { maxMessages: 100 },
      urgent: false,
      renews: null,
      ...overrides,
    };
  }

  issue(warrant: Warrant): SignedWarrant {
    return issueWarrant(warrant, 'sos-1', this.sos.secretKey);
  }

  approve(signed: SignedWarrant, decidedAt: number): SignedWarrant {
    return decideWarrant(signed, { decision: 'approved', decidedAt, reasons: '' }, 'jc-1', this.judge.secretKey);
  }

  refuse(signed: SignedWarrant, decidedAt: number, reasons: string): SignedWarrant {
    return decideWarrant(signed, { decision: 'refused', decidedAt, reasons }, 'jc-1', this.judge.secretKey);
  }

  cancel(warrantId: string, cancelledAt: number, revision = 0): Cancellation {
    return cancelWarrant({ id: warrantId, revision }, cancelledAt, 'sos-1', this.sos.secretKey);
  }

  /**
   * Commits to the warrant in the log, has the witness cosign (at `loggedAt`: by default when the warrant
   * took effect, as if it were logged at once), and returns the opening and proof.
   */
  async logWarrant(warrant: SignedWarrant, loggedAt = Math.max(warrant.warrant.issuedAt, warrant.decision?.decidedAt ?? 0)): Promise<LoggedWarrant> {
    const { commitment, nonce } = commitToWarrant(warrant.warrant);
    const { firstIndex } = await this.log.append([warrantLogEntry(commitment, warrant.warrant)]);
    return { warrant, nonce, inclusion: await this.inclusionFor(firstIndex, loggedAt) };
  }

  /** The inclusion proof of a leaf at a checkpoint the witness cosigns now, stamped `at` (ms; default the real clock). */
  async inclusionFor(leafIndex: number, at = Date.now()): Promise<LogInclusion> {
    await this.log.flush();
    const checkpoint = await this.log.checkpoint();
    await this.log.addCosignature(`${checkpoint.note}${this.witness.cosign(checkpoint.text, BigInt(Math.floor(at / 1000)))}\n`);
    const witnessed = await this.log.checkpoint();
    const path = await this.log.inclusionProof(leafIndex, witnessed.size);
    return { leafIndex, treeSize: witnessed.size, path: path.map(toBase64Url), checkpoint: witnessed.note };
  }

  /**
   * What a sending client and the provider produce for one message: the field, labelled with the
   * message's context, and the provider's signed record of its delivery (devices default to "<user>-phone").
   */
  deliver(
    key: EpochPublicKey,
    message: Pick<DeliveryRecord, 'messageId' | 'sender' | 'recipients' | 'serverTime'> & Partial<Pick<DeliveryRecord, 'size' | 'groupId' | 'senderDevice' | 'recipientDevices' | 'clientMessageId'>>,
    contentKey: Uint8Array,
  ): { field: Uint8Array; delivery: SignedDeliveryRecord; context: EscrowContext } {
    const context: EscrowContext = {
      groupId: message.groupId ?? 'Z3JvdXAtMQ',
      senderUsername: message.sender,
      senderDevice: message.senderDevice ?? `${message.sender}-phone`,
      recipientDevices: message.recipientDevices ?? message.recipients.map((r) => `${r}-phone`),
      clientMessageId: message.clientMessageId ?? `cm-${message.messageId}`,
    };
    const field = createEscrowField(key, contentKey, context);
    return { field, context, delivery: this.signDelivery(message, context, field) };
  }

  /** The provider's signed delivery record of a message carrying `field` (which may be any bytes). */
  signDelivery(message: Pick<DeliveryRecord, 'messageId' | 'recipients' | 'serverTime'> & { size?: number }, context: EscrowContext, field: Uint8Array): SignedDeliveryRecord {
    const record = deliveryRecordFor(
      {
        size: message.size ?? 1000,
        messageId: message.messageId,
        sender: context.senderUsername,
        recipients: message.recipients,
        serverTime: message.serverTime,
        groupId: context.groupId,
        senderDevice: context.senderDevice,
        recipientDevices: [...context.recipientDevices],
        clientMessageId: context.clientMessageId,
      },
      field,
    );
    return signDeliveryRecord(record, 'provider-1', this.provider.secretKey);
  }

  request(custodian: number, logged: LoggedWarrant, message: { field: Uint8Array; delivery: SignedDeliveryRecord }, requestedAt: number, extra: Partial<ShareRequest> = {}): SignedShareRequest {
    const request: ShareRequest = {
      requestId: toBase64Url(randomBytes(16)),
      requestedAt,
      custodian,
      warrant: logged.warrant,
      commitmentNonce: toBase64Url(logged.nonce),
      inclusion: logged.inclusion,
      delivery: message.delivery,
      field: toBase64Url(message.field),
      cancellations: [],
      ...extra,
    };
    return signShareRequest(request, 'nca', this.agency.secretKey);
  }

  /** The agency asks the world's custodians for one message's key under a logged warrant (requests dated `requestedAt`). */
  decrypt(
    logged: LoggedWarrant,
    message: { field: Uint8Array; delivery: SignedDeliveryRecord },
    epochKey: EpochKey,
    options: { requestedAt?: number; prefer?: readonly number[]; fetch?: typeof fetch } = {},
  ): Promise<Decryption> {
    const { requestedAt, ...rest } = options;
    return decryptWithCustodians({
      trust: this.trust,
      epochKey,
      warrant: logged.warrant.warrant,
      field: message.field,
      record: message.delivery.record,
      request: (i) => this.request(i, logged, message, requestedAt ?? Date.now()),
      ...rest,
    });
  }

  /**
   * Serves the log as the provider's server does (the /v1/log routes custodians and auditors follow,
   * GET /v1/lawful-access and POST /v1/lawful-access/releases), with the world's witness cosigning each
   * witnessed checkpoint it serves.
   * Returns the base URL.
   */
  async serveLog(): Promise<string> {
    const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    this.#http = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const url = new URL(req.url ?? '/', 'http://log');
          const n = (name: string) => Number(url.searchParams.get(name));
          const log = this.served;
          try {
            if (url.pathname === '/v1/lawful-access') return json(res, 200, { enabled: true, trust: this.signedTrust });
            if (url.pathname === '/v1/log/checkpoint') {
              await log.flush();
              res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
              return res.end((await log.checkpoint()).note);
            }
            if (url.pathname === '/v1/log/checkpoint/witnessed') {
              await log.flush();
              const cp = await log.checkpoint();
              const witnessed = `${cp.note}${this.witness.cosign(cp.text, BigInt(Math.floor(this.witnessClock() / 1000)))}\n`;
              await log.addCosignature(witnessed);
              res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
              // the note just cosigned (re-reading the log could return a newer, not yet cosigned checkpoint
              // when releases are appended concurrently)
              return res.end(witnessed);
            }
            if (url.pathname === '/v1/log/proof/consistency')
              return json(res, 200, { from: n('from'), to: n('to'), proof: (await log.consistencyProof(n('from'), n('to'))).map(toBase64Url) });
            if (url.pathname === '/v1/log/proof/inclusion')
              return json(res, 200, { index: n('index'), treeSize: n('treeSize'), proof: (await log.inclusionProof(n('index'), n('treeSize'))).map(toBase64Url) });
            if (url.pathname === '/v1/log/entries') {
              const start = n('start');
              const end = Math.min(n('end'), start + 1000);
              return json(res, 200, { start, entries: (await log.entries(start, end)).map(toBase64Url) });
            }
            if (url.pathname === '/v1/lawful-access/releases' && req.method === 'POST') {
              const release = signedReleaseRecordSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
              if (this.dropReleases) return json(res, 201, { leafIndex: log.size, duplicate: false });
              const { firstIndex } = await log.append([releaseLogEntry(release)]);
              await log.flush();
              return json(res, 201, { leafIndex: firstIndex, duplicate: false });
            }
            json(res, 404, { code: 'not_found', message: url.pathname });
          } catch (error) {
            json(res, 400, { code: 'bad_request', message: (error as Error).message });
          }
        })();
      });
    });
    await new Promise<void>((resolve) => this.#http!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#http.address() as { port: number }).port}`;
  }

  async close(): Promise<void> {
    if (this.#http) await new Promise((resolve) => this.#http!.close(resolve));
    await this.log.flush();
    await this.db.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** The authorities' signing keys of a test deployment (root of trust, Secretary of State, judge, agency, provider). */
export const authorityKeys = () => ({ root: generateSigningKey(), sos: generateSigningKey(), judge: generateSigningKey(), agency: generateSigningKey(), provider: generateSigningKey() });
export type AuthorityKeys = ReturnType<typeof authorityKeys>;

/** A trust configuration whose one custodian nobody calls: enough for a provider's warrant routes. */
export function providerTrust(keys: AuthorityKeys, o: { deployment: string; issuedAt: number; logKey: string; witnesses: string[] }): TrustConfig {
  return {
    version: 1,
    deployment: o.deployment,
    issuedAt: o.issuedAt,
    secretaryOfState: [{ id: 'sos', publicKey: toBase64Url(keys.sos.publicKey) }],
    judicialCommissioners: [{ id: 'jc', publicKey: toBase64Url(keys.judge.publicKey) }],
    agencies: [{ id: 'nca', publicKey: toBase64Url(keys.agency.publicKey) }],
    provider: [{ id: 'provider', publicKey: toBase64Url(keys.provider.publicKey) }],
    coordinators: [{ id: 'coordinator', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    custodians: [{ index: 1, name: 'c1', url: 'http://127.0.0.1:9/', staticKey: toBase64Url(generateStaticKey().publicKey), signingKey: toBase64Url(generateSigningKey().publicKey) }],
    threshold: 1,
    log: { verifierKey: o.logKey, witnesses: o.witnesses, witnessQuorum: 1 },
    epoch: { lengthMs: DAY_MS, retentionDays: 30 },
    bankHolidays: [],
  };
}

/** A server's `lawfulAccess` options on that configuration. */
export const providerLawfulAccess = (keys: AuthorityKeys, trust: TrustConfig) => ({
  trust: signTrustConfig(trust, keys.root.secretKey),
  trustRootKey: toBase64Url(keys.root.publicKey),
  providerKeyId: 'provider',
  providerSecretKey: keys.provider.secretKey,
});

/** A warrant for the NCA to intercept erin for `days` from `at`, before it is issued. */
export function draftWarrant(at: number, days: number, overrides: Partial<Warrant> = {}): Warrant {
  return {
    format: 1,
    id: `w-${toBase64Url(randomBytes(6))}`,
    revision: 0,
    kind: 'targeted-interception',
    targets: ['erin'],
    window: { start: at, end: at + days * DAY_MS },
    grounds: ['serious-crime'],
    justification: 'test',
    agency: 'nca',
    products: ['iri', 'cc'],
    limits: { maxMessages: 100 },
    urgent: false,
    issuedAt: at,
    renews: null,
    ...overrides,
  };
}

/** The custodians' refusals of a decryption that must fail; throws if it succeeded or failed otherwise. */
export async function refusals(attempt: Promise<unknown>): Promise<DecryptionRefused['failures']> {
  const outcome = await attempt.then(
    () => new Error('the decryption succeeded'),
    (e: unknown) => e,
  );
  if (!(outcome instanceof DecryptionRefused)) throw outcome;
  return outcome.failures;
}
