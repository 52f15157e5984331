/**
 * The custodian service (`doublelock custodian serve`): one of the n independent parties whose t-of-n
 * cooperation lawful access needs. It holds its own keys and its own database, takes part in the
 * COCKTAIL-DKG ceremony for each epoch, publishes epoch certificates, releases a decryption share only
 * when every rule in @doublelock/lawful-access's release.ts holds (limits counted from the log: every
 * custodian's releases), records each release, publishes it to the transparency log and returns the share
 * only once its release record is proven in a witnessed checkpoint consistent with everything it saw
 * before (logFollower.ts), and erases each epoch's share once its retention has passed.
 *
 * Routes (JSON; bytes are base64url; errors are { code, message }):
 *   GET  /v1/custodian                 who this custodian is (index, public keys, deployment)
 *   POST /v1/dkg/round1 {epoch}        COCKTAIL round 1 → Round1Message        (each DKG POST is a request
 *   POST /v1/dkg/round2 {epoch, messages} → { transcriptSignature }             signed by a coordinator of
 *   POST /v1/dkg/certify {epoch, signatures} → { certificate, completion }     the trust configuration)
 *   POST /v1/dkg/activate {epoch, completions} → { activated }
 *   GET  /v1/dkg/:epoch                { state: none|signed|certified|active, certificate? } (for resuming)
 *   GET  /v1/epochs/:epoch             { certificate, erased } — active epochs only (all n completions)
 *   POST /v1/shares                    a signed share request → share, DLEQ proof, signed release record
 *   POST /v1/cancellations             a Secretary of State's cancellation (s.39), naming its revision
 *   POST /v1/refusals                  a Judicial Commissioner's refusal notice: the warrant id is dead here
 *   GET  /v1/releases?after=id         signed release records, for the log and auditors
 *   POST /v1/operator/reviews|decisions  the operator's review of share requests (with --operator-key; operatorReview.ts)
 */
import {
  type DkgOutput,
  type DkgSession,
  type DkgStep,
  type Round1MessageJson,
  DKG_REQUEST_SKEW_MS,
  certificateFromJson,
  checkDkgRequest,
  epochCertificateJson,
  signCompletion,
  signedDkgRequestSchema,
  DkgFault,
  type LogInclusionVerifier,
  type Round1State,
  type SignedTrustConfig,
  type TrustConfig,
  cancellationSchema,
  certificateToJson,
  checkTranscriptSignatures,
  createDecryptionShare,
  custodianStaticKeys,
  decodeScalar,
  dkgRound1,
  dkgRound2,
  encodeScalar,
  epochAt,
  epochCertificate,
  commitToWarrant,
  calendarOf,
  urgentDeadlines,
  urgentNotice,
  DAY_MS,
  messageDigest,
  type SignedReleaseRecord,
  escrowFieldEpoch,
  evaluateShareRequest,
  isErasable,
  logInclusionVerifier,
  openEpochCertificate,
  openTrustConfig,
  releaseLogEntry,
  round1FromJson,
  round1MessageJson,
  round1ToJson,
  signReleaseRecord,
  signedShareRequestSchema,
  splitViewGuard,
  verifyCancellation,
  refusalNoticeSchema,
  verifyRefusalNotice,
} from '@doublelock/lawful-access';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { openDb } from '@doublelock/store';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { type CustodianSecrets, publicKeysOf, readCustodianKeys } from './keys.ts';
import { CustodianStore } from './custodianStore.ts';
import { allowBrowserOrigins } from './cors.ts';
import { LogFollower, LogFollowError } from './logFollower.ts';
import { ShareWrapping } from './shareWrapping.ts';
import { OperatorReviews, registerOperatorRoutes } from './operatorReview.ts';
import { serialUrgentProblem } from './serialUrgent.ts';

export interface CustodianOptions {
  host?: string;
  /** 0 picks a free port */
  port?: number;
  /** holds custodian-keys.json and, unless databaseUrl is given, the SQLite database */
  dataDir: string;
  databaseUrl?: string;
  /** the signed trust configuration, verified against `trustRoot` at start */
  trust: SignedTrustConfig;
  /** the pinned trust-root public key (base64url or bytes) */
  trustRoot: string | Uint8Array;
  /** defaults to the key file in dataDir */
  keys?: CustodianSecrets;
  /** the clock (tests move it forward to cross retention) */
  now?: () => number;
  /** defaults to the log's own verifier with the trust configuration's log key and witnesses */
  verifyInclusion?: LogInclusionVerifier;
  /**
   * The provider's server, which serves the transparency log (/v1/log/…) and takes release records
   * (POST /v1/lawful-access/releases). Without it the custodian releases nothing: every share waits for
   * its release record to be proven in a witnessed checkpoint (logFollower.ts).
   */
  logUrl?: string;
  /** how long a share waits for its release record to appear in a witnessed checkpoint (default 30 s) */
  releaseLogTimeoutMs?: number;
  /**
   * Ed25519 public keys (base64url) of this custodian's human operators: with any, every share request that
   * passes the release rules waits for an operator's signed approval (operatorReview.ts)
   */
  operatorKeys?: readonly string[];
  /** how often to sweep for erasable epochs (default hourly) */
  erasureIntervalMs?: number;
  logLevel?: string;
}

export interface RunningCustodian {
  url: string;
  index: number;
  app: FastifyInstance;
  store: CustodianStore;
  /** erases every epoch past retention now; returns the epochs erased */
  eraseExpired(): Promise<number[]>;
  close(): Promise<void>;
}

/** Round 1's secret polynomial, in memory only until round 2 (then zeroed). */
interface Ceremony {
  session: DkgSession;
  state: Round1State;
}

const DKG_FUTURE_EPOCHS = 7;

function refuse(reply: FastifyReply, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  return reply.code(status).send({ code, message, ...extra });
}

export async function startCustodian(options: CustodianOptions): Promise<RunningCustodian> {
  const trust: TrustConfig = openTrustConfig(options.trust, options.trustRoot);
  const keys = options.keys ?? readCustodianKeys(options.dataDir);
  const mine = publicKeysOf(keys);
  const me = trust.custodians.find((c) => c.staticKey === mine.staticKey);
  if (!me) throw new Error('this custodian’s static key is not in the trust configuration');
  if (me.signingKey !== mine.signingKey) throw new Error('this custodian’s signing key does not match the trust configuration');
  const index = me.index;
  const now = options.now ?? Date.now;
  const verifyInclusion = splitViewGuard(options.verifyInclusion ?? logInclusionVerifier(trust.log));
  const staticKeys = custodianStaticKeys(trust);
  const session = (epoch: number): DkgSession => ({ deployment: trust.deployment, epoch, threshold: trust.threshold, staticKeys });

  const db = await openDb({ dataDir: options.dataDir, databaseUrl: options.databaseUrl });
  if (db.dialect === 'sqlite') await db.run('PRAGMA secure_delete = ON');
  const store = new CustodianStore(db);
  const wrapping = new ShareWrapping(options.dataDir);
  const follower = options.logUrl ? new LogFollower(db, options.logUrl, trust, index) : undefined;
  const eraseExpired = () => store.eraseExpired(now(), trust.epoch.retentionDays, trust.epoch.lengthMs, (epoch) => wrapping.erase(epoch));
  await eraseExpired();
  const ceremonies = new Map<number, Ceremony>();
  const operatorKeys = options.operatorKeys ?? [];
  const reviews = operatorKeys.length > 0 ? new OperatorReviews(db) : undefined;

  const app = Fastify({ logger: { level: options.logLevel ?? 'warn' }, forceCloseConnections: true });
  allowBrowserOrigins(app);
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    request.log.error(error);
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    void refuse(reply, status, status === 500 ? 'internal_error' : 'bad_request', status === 500 ? 'internal error' : error.message);
  });

  const parse = <T>(schema: z.ZodType<T>, body: unknown, reply: FastifyReply): T | undefined => {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    void refuse(reply, 400, 'validation_failed', result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    return undefined;
  };
  const epochBody = z.object({ epoch: z.number().int().nonnegative().max(0xffffffff) });

  app.get('/v1/custodian', async () => ({ index, name: me.name, deployment: trust.deployment, threshold: trust.threshold, ...mine }));

  // Only the coordinator the trust configuration names may run rounds: a signed, fresh, single-use
  // request addressed to this custodian and this step (ceremony.ts).
  const usedNonces = new Map<string, number>();
  const coordinated = <T>(step: DkgStep, schema: z.ZodType<T>, raw: unknown, reply: FastifyReply): T | undefined => {
    const signed = parse(signedDkgRequestSchema, raw, reply);
    if (!signed) return undefined;
    const at = now();
    const problem = checkDkgRequest(signed, trust, index, step, at);
    if (problem) return void refuse(reply, 403, 'bad_coordinator', `coordinator request refused: ${problem}`);
    for (const [nonce, expiry] of usedNonces) if (expiry < at) usedNonces.delete(nonce);
    const nonceKey = `${signed.coordinator}:${signed.nonce}`;
    if (usedNonces.has(nonceKey)) return void refuse(reply, 409, 'replay', 'this coordinator request was already used');
    usedNonces.set(nonceKey, at + 2 * DKG_REQUEST_SKEW_MS);
    return parse(schema, signed.body, reply);
  };
  const dkgFailure = (reply: FastifyReply, error: unknown) =>
    error instanceof DkgFault ? refuse(reply, 422, 'dkg_fault', error.message, { participant: error.participant }) : refuse(reply, 422, 'dkg_failed', (error as Error).message);

  app.get('/v1/dkg/:epoch', async (request, reply) => {
    const epoch = Number((request.params as { epoch: string }).epoch);
    if (!Number.isSafeInteger(epoch) || epoch < 0) return refuse(reply, 400, 'validation_failed', 'epoch must be a non-negative integer');
    const active = await store.epoch(epoch);
    if (active) return { state: 'active', certificate: JSON.parse(active.certificate) as unknown };
    const pending = await store.dkg(epoch);
    if (!pending) return { state: 'none' };
    return pending.state === 'certified' ? { state: 'certified', certificate: JSON.parse(pending.certificate!) as unknown } : { state: 'signed' };
  });

  app.post('/v1/dkg/round1', async (request, reply) => {
    const body = coordinated('round1', epochBody, request.body, reply);
    if (!body) return reply;
    const current = epochAt(now(), trust.epoch.lengthMs);
    if (body.epoch < current || body.epoch > current + DKG_FUTURE_EPOCHS)
      return refuse(reply, 400, 'epoch_out_of_range', `keys are made for the current epoch ${current} or the next ${DKG_FUTURE_EPOCHS}`);
    if (await store.epoch(body.epoch)) return refuse(reply, 409, 'epoch_exists', `epoch ${body.epoch} already has a key`);
    if ((await store.dkg(body.epoch))?.state === 'certified')
      return refuse(reply, 409, 'epoch_certified', `epoch ${body.epoch} is certified here: finish that ceremony (certify, activate) rather than start another`);
    const { message, state } = dkgRound1(session(body.epoch), index);
    ceremonies.set(body.epoch, { session: session(body.epoch), state });
    return round1ToJson(message);
  });

  app.post('/v1/dkg/round2', async (request, reply) => {
    const body = coordinated('round2', epochBody.extend({ messages: z.array(round1MessageJson).max(255) }), request.body, reply);
    if (!body) return reply;
    const ceremony = ceremonies.get(body.epoch);
    if (!ceremony) return refuse(reply, 409, 'no_ceremony', `no round 1 in progress for epoch ${body.epoch}`);
    ceremonies.delete(body.epoch);
    let output: DkgOutput;
    try {
      output = dkgRound2(ceremony.session, keys.staticSecret, ceremony.state, body.messages.map(round1FromJson));
    } catch (error) {
      return dkgFailure(reply, error);
    } finally {
      ceremony.state.coefficients.fill(0n);
    }
    // The share is stored (wrapped) before the transcript is signed: a signature means "I hold my share".
    const plain = encodeScalar(output.secretShare);
    const wrapped = wrapping.wrap(body.epoch, plain);
    plain.fill(0);
    output.secretShare = 0n;
    const saved = await store.saveSignedDkg({ epoch: body.epoch, transcript: output.transcript, messages: JSON.stringify(body.messages), publicKey: output.publicKey, share: wrapped, now: now() });
    if (!saved) return refuse(reply, 409, 'epoch_certified', `epoch ${body.epoch} is already certified or active here`);
    return { transcriptSignature: toBase64Url(output.transcriptSignature) };
  });

  app.post('/v1/dkg/certify', async (request, reply) => {
    const body = coordinated('certify', epochBody.extend({ signatures: z.array(z.string().max(200)).max(255) }), request.body, reply);
    if (!body) return reply;
    const pending = await store.dkg(body.epoch);
    if (!pending) return refuse(reply, 409, 'no_ceremony', `no round 2 completed for epoch ${body.epoch}`);
    try {
      const s = session(body.epoch);
      const signatures = body.signatures.map(fromBase64Url);
      checkTranscriptSignatures(s, pending.transcript, signatures);
      if (pending.state === 'certified') return { certificate: JSON.parse(pending.certificate!) as unknown, completion: pending.completion };
      const messages = (JSON.parse(pending.messages) as Round1MessageJson[]).map(round1FromJson);
      const certificate = certificateToJson(epochCertificate(s, messages, signatures));
      const completion = toBase64Url(signCompletion(pending.transcript, keys.staticSecret));
      await store.markDkgCertified(body.epoch, JSON.stringify(certificate), completion, now());
      return { certificate, completion };
    } catch (error) {
      return dkgFailure(reply, error);
    }
  });

  app.post('/v1/dkg/activate', async (request, reply) => {
    const body = coordinated('activate', epochBody.extend({ completions: z.array(z.string().max(200)).max(255) }), request.body, reply);
    if (!body) return reply;
    if (await store.epoch(body.epoch)) return { activated: true };
    const pending = await store.dkg(body.epoch);
    if (pending?.state !== 'certified') return refuse(reply, 409, 'not_certified', `epoch ${body.epoch} is not certified here`);
    try {
      const certificate = certificateFromJson(epochCertificateJson.parse(JSON.parse(pending.certificate!)));
      certificate.completions = body.completions.map(fromBase64Url);
      // every custodian holds its share for this transcript: the key is usable, and only now served
      const key = openEpochCertificate(certificate, staticKeys, trust.deployment, trust.threshold);
      await store.activateDkg(body.epoch, key.publicKey, JSON.stringify(certificateToJson(certificate)), pending.share, now());
      return { activated: true };
    } catch (error) {
      return dkgFailure(reply, error);
    }
  });

  app.get('/v1/epochs/:epoch', async (request, reply) => {
    const epoch = Number((request.params as { epoch: string }).epoch);
    if (!Number.isSafeInteger(epoch) || epoch < 0) return refuse(reply, 400, 'validation_failed', 'epoch must be a non-negative integer');
    const row = await store.epoch(epoch);
    if (!row) return refuse(reply, 404, 'not_found', `no key for epoch ${epoch}`);
    return { certificate: JSON.parse(row.certificate) as unknown, erased: row.erasedAt !== null || isErasable(epoch, now(), trust.epoch.retentionDays, trust.epoch.lengthMs) };
  });

  app.post('/v1/cancellations', async (request, reply) => {
    const body = parse(cancellationSchema, request.body, reply);
    if (!body) return reply;
    if (!verifyCancellation(body, trust)) return refuse(reply, 403, 'bad_signature', 'the cancellation is not signed by a Secretary of State key');
    await store.saveCancellation(body);
    return { accepted: true };
  });

  // A Judicial Commissioner's refusal (also read from the log): the warrant id is dead here from now on.
  app.post('/v1/refusals', async (request, reply) => {
    const body = parse(refusalNoticeSchema, request.body, reply);
    if (!body) return reply;
    if (!verifyRefusalNotice(body, trust)) return refuse(reply, 403, 'bad_signature', 'the refusal is not signed by a Judicial Commissioner key');
    await store.saveRefusal(body);
    return { accepted: true };
  });

  app.get('/v1/releases', async (request) => {
    const after = Number((request.query as { after?: string }).after ?? 0);
    return { releases: await store.releases(Number.isSafeInteger(after) ? after : 0) };
  });

  app.post('/v1/shares', async (request, reply) => {
    const signed = parse(signedShareRequestSchema, request.body, reply);
    if (!signed) return reply;
    const at = now();
    await eraseExpired();
    const { warrant } = signed.request.warrant;
    const { record } = signed.request.delivery;
    if (!follower) return refuse(reply, 503, 'no_log', 'this custodian has no transparency log configured: it releases nothing it cannot log');
    // The log as this custodian has seen it, persisted: the request's checkpoint must be consistent with it.
    try {
      await follower.sync();
      await follower.accept(signed.request.inclusion.checkpoint);
    } catch (error) {
      if (!(error instanceof LogFollowError)) throw error;
      return refuse(reply, error.code === 'log_inconsistent' ? 409 : 503, error.code, error.message);
    }
    // A second urgent warrant on a target without a judge, after the first lapsed or was refused: the log says so.
    const serial = await serialUrgentProblem({ db, follower, trust, me: index, staticSecret: keys.staticSecret, signed: signed.request.warrant, now: at });
    if (serial) return refuse(reply, 403, 'serial_urgent', serial);
    let commitment: string | undefined;
    try {
      commitment = toBase64Url(commitToWarrant(warrant, fromBase64Url(signed.request.commitmentNonce)).commitment);
    } catch {
      commitment = undefined; // evaluateShareRequest refuses it
    }
    const logged = await follower.messages(commitment ?? '');
    const digest = commitment ? messageDigest(fromBase64Url(commitment), record.messageId) : '';
    // a retry of a message the log already shows released does not count against the limits again
    const alreadyReleased = logged.has(digest);
    const outcome = await db.transaction(async (tx) => {
      const epochs = new Map<number, Awaited<ReturnType<CustodianStore['epoch']>>>();
      const fieldEpoch = (() => {
        try {
          return escrowFieldEpoch(fromBase64Url(signed.request.field)) ?? -1;
        } catch {
          return -1;
        }
      })();
      if (fieldEpoch >= 0) epochs.set(fieldEpoch, await store.epoch(fieldEpoch, tx));
      const decision = evaluateShareRequest(signed, {
        trust,
        custodian: index,
        now: at,
        verifyInclusion,
        requestSeen: await store.requestSeen(tx, signed.request.requestId),
        // Global limits: every custodian's releases under this warrant, as the log shows them.
        releasedMessages: Math.max(logged.total, await store.releasedMessages(tx, warrant.id)),
        releasedMessagesSince: logged.since,
        messageAlreadyReleased: alreadyReleased || (await store.messageReleased(tx, warrant.id, record.messageId)),
        highestRevision: await store.highestRevision(tx, warrant.id),
        cancellations: await store.cancellations(tx, warrant.id),
        refusals: await store.refusals(tx, warrant.id),
        epochPublicKey: (e) => epochs.get(e)?.publicKey,
        epochState: (e) => {
          const row = epochs.get(e);
          if (!row) return 'unknown';
          const gone = row.share === null || row.erasedAt !== null || !wrapping.hasKey(e) || isErasable(e, at, trust.epoch.retentionDays, trust.epoch.lengthMs);
          return gone ? 'erased' : 'active';
        },
      });
      if (!decision.release) return decision;
      // With an operator, a human approves each message (once per warrant revision) before any share leaves.
      if (reviews) {
        const review = await reviews.open(tx, signed, record.messageId, at);
        if (review.state === 'pending') return { release: false as const, pending: review.reviewId, code: 'review_pending' as const, reason: `held for this custodian's operator to review (review ${review.reviewId})` };
        if (review.state === 'refused') return { release: false as const, code: 'operator_refused' as const, reason: `this custodian's operator refused to release for this message (review ${review.reviewId})` };
      }
      const row = epochs.get(decision.field.epoch)!;
      const plain = wrapping.unwrap(decision.field.epoch, row.share!);
      if (!plain) return { release: false as const, code: 'epoch_erased' as const, reason: `epoch ${decision.field.epoch}'s wrapping key is erased` };
      const share = createDecryptionShare(index, decodeScalar(plain, 'stored share'), decision.field.u, decision.binding);
      plain.fill(0);
      const release = signReleaseRecord(
        {
          custodian: index,
          warrantCommitment: toBase64Url(decision.warrantCommitment),
          messageDigest: decision.messageDigest,
          requestId: signed.request.requestId,
          epoch: decision.field.epoch,
          releasedAt: at,
          // under an urgent warrant: tags every custodian links to the targets of a later urgent warrant
          ...(warrant.urgent && {
            urgent: urgentNotice(index, keys.staticSecret, trust, warrant, signed.request.warrant.decision?.decision === 'approved', urgentDeadlines(warrant.issuedAt, calendarOf(trust)).approveBy),
          }),
        },
        keys.signingSecret,
      );
      await store.recordRelease(tx, { warrantId: warrant.id, revision: warrant.revision, messageId: record.messageId, requestId: signed.request.requestId, record: release, now: at });
      return { release: true as const, response: { custodian: index, epoch: decision.field.epoch, share: toBase64Url(share.share), proof: toBase64Url(share.proof), release } };
    });
    if (!outcome.release) {
      if ('pending' in outcome) return reply.code(202).send({ code: outcome.code, message: outcome.reason, reviewId: outcome.pending });
      request.log.info({ code: outcome.code, warrant: warrant.id }, 'share request refused');
      return refuse(reply, 403, outcome.code, outcome.reason);
    }
    // The share leaves only once its release is proven in the witnessed log.
    const proven = await publishAndProve(outcome.response.release);
    if ('problem' in proven) return refuse(reply, 503, 'release_not_logged', `the share is withheld: ${proven.problem}`);
    // Custodians releasing concurrently: the log's order decides which messages are within the limit.
    const rank = (await follower.messages(outcome.response.release.record.warrantCommitment)).rank(outcome.response.release.record.messageDigest);
    if (rank < 0 || rank >= warrant.limits.maxMessages)
      return refuse(reply, 403, 'limit_reached', `the log shows ${warrant.limits.maxMessages} other messages released first under this warrant`);
    // The per-day limit likewise: custodians racing on different messages within the same 24 hours each
    // passed the check before releasing; the log's order decides which of them are within the limit.
    const perDay = warrant.limits.maxPerDay;
    if (perDay !== undefined && !alreadyReleased) {
      const { warrantCommitment, messageDigest: ours, releasedAt } = outcome.response.release.record;
      if ((await follower.releasedBefore(warrantCommitment, ours, releasedAt - DAY_MS)) >= perDay)
        return refuse(reply, 403, 'limit_reached', `the log shows ${perDay} other messages released first under this warrant in the 24 hours before`);
    }
    return outcome.response;
  });

  async function publishAndProve(release: SignedReleaseRecord): Promise<{ leafIndex: number } | { problem: string }> {
    if (!follower) return { problem: 'no transparency log is configured' };
    const entry = releaseLogEntry(release);
    // Submitted; the answer (status, index) is not believed — only the witnessed log is.
    await fetch(`${options.logUrl!.replace(/\/$/, '')}/v1/lawful-access/releases`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(release) }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
    const deadline = Date.now() + (options.releaseLogTimeoutMs ?? 30_000);
    for (;;) {
      try {
        await follower.sync();
        const proven = await follower.proveOwnRelease(index, release.record.requestId, entry);
        if (proven) return proven;
      } catch (error) {
        if (error instanceof LogFollowError && error.code === 'log_inconsistent') return { problem: error.message };
      }
      if (Date.now() >= deadline) return { problem: 'the release record did not appear in a witnessed checkpoint in time' };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  registerOperatorRoutes(app, { operatorKeys, custodian: index, trust, reviews: reviews ?? new OperatorReviews(db), store, follower, now });

  const timer = setInterval(() => void eraseExpired().catch((error: unknown) => app.log.error(error)), options.erasureIntervalMs ?? 3_600_000);
  timer.unref();
  const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  return {
    url: address,
    index,
    app,
    store,
    eraseExpired,
    async close() {
      clearInterval(timer);
      await app.close();
      await db.close();
    },
  };
}
