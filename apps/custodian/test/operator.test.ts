/**
 * The custodian operator's review (`custodian serve --operator-key`): with three real custodian services
 * (2-of-3), each with its own operator, a real log served over HTTP with its witness, and the agency's
 * client. No share leaves before the operator approved it with a signed command; the API refuses commands
 * signed by another key (another custodian's operator, the agency), tampered, replayed, expired, or
 * addressed to another custodian.
 */
import { DAY_MS, type EpochKey, epochAt, generateSigningKey, runDkgCeremony, signDocument, signOperatorRequest } from '@doublelock/lawful-access';
import { LawfulAccessWorld, type LoggedWarrant, refusals } from '@doublelock/lawful-access/testing';
import { OPERATOR_REQUEST_LABEL, type OperatorCommand, type OperatorReview, type SignedOperatorRequest, toBase64Url } from '@doublelock/protocol';
import { createPostgresDatabase } from '@doublelock/store/testing';
import { randomBytes } from '@noble/hashes/utils.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningCustodian } from '../src/index.ts';
import { startCustodianTrio } from './trio.ts';

let world: LawfulAccessWorld;
let custodians: RunningCustodian[] = [];
let epochKey: EpochKey;
const operators = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
const now = Date.now();
const postgresUrl = inject('postgresUrl');
let dataDirOf: (custodian: number) => string;

/**
 * Three custodians, each with its operator, following a fresh log, today's epoch key made; the helpers below
 * act on the latest one. On PostgreSQL each custodian has a database of its own on the run's shared server.
 */
async function deploy(dialect: 'sqlite' | 'postgres'): Promise<() => Promise<void>> {
  const trio = await startCustodianTrio({
    custodian: async (i) => ({
      releaseLogTimeoutMs: 5000,
      operatorKeys: [toBase64Url(operators[i]!.publicKey)],
      ...(dialect === 'postgres' && { databaseUrl: await createPostgresDatabase(postgresUrl) }),
    }),
  });
  ({ world, custodians } = trio);
  dataDirOf = trio.dataDir;
  ({ key: epochKey } = await runDkgCeremony(world.trust, epochAt(now), world.coordinator));
  return () => trio.close();
}

async function logWarrant(): Promise<LoggedWarrant> {
  const issuedAt = now - 3_600_000;
  return world.logWarrant(world.approve(world.issue(world.draft({ issuedAt, limits: { maxMessages: 5, maxPerDay: 3 }, window: { start: issuedAt, end: issuedAt + 10 * DAY_MS } })), issuedAt + 60_000));
}

const decrypt = (w: LoggedWarrant, m: ReturnType<LawfulAccessWorld['deliver']>, prefer: number[]) => world.decrypt(w, m, epochKey, { prefer });

const codes = async (attempt: Promise<unknown>): Promise<Array<[number, string]>> =>
  (await refusals(attempt)).map((f) => [f.custodian, f.code] as [number, string]).sort((a, b) => a[0] - b[0]);

async function post(custodian: number, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${custodians[custodian - 1]!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const command = (custodian: number, c: OperatorCommand, key = operators[custodian - 1]!.secretKey, issuedAt = Date.now()) => signOperatorRequest(custodian, c, key, issuedAt);
const list = async (custodian: number, state: 'pending' | 'approved' | 'refused' | 'all' = 'pending') => {
  const { status, json } = await post(custodian, '/v1/operator/reviews', command(custodian, { action: 'list', state }));
  expect(status).toBe(200);
  return json.reviews as OperatorReview[];
};
/** A command the schema refuses, signed by the genuine operator anyway (signOperatorRequest would not sign it). */
const signedAnyway = (c: unknown) => {
  const request = { custodian: 1, issuedAt: Date.now(), nonce: toBase64Url(randomBytes(16)), command: c };
  return { request, signature: signDocument(OPERATOR_REQUEST_LABEL, request, operators[0]!.secretKey) };
};
const decide = (custodian: number, reviewId: string, decision: 'approve' | 'refuse', reason = 'checked the warrant and the log') =>
  post(custodian, '/v1/operator/decisions', command(custodian, { action: 'decide', reviewId, decision, reason }));

describe('a custodian operator reviews each release', () => {
  let undeploy: () => Promise<void>;
  beforeAll(async () => {
    undeploy = await deploy('sqlite');
  }, 60_000);
  afterAll(() => undeploy?.());

  it('holds every share until its operator approves; a refusal binds; the decision is kept, signed', async () => {
    const w = await logWarrant();
    const m = world.deliver(epochKey, { messageId: 'review-1', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    // Every rule holds, but no operator has looked: nothing leaves.
    expect(await codes(decrypt(w, m, [1, 2]))).toEqual([
      [1, 'review_pending'],
      [2, 'review_pending'],
      [3, 'review_pending'],
    ]);
    // What the operator sees: the signed warrant and judge's decision, its log inclusion, the delivery record, the limits used.
    const [review] = await list(1);
    expect(review).toMatchObject({
      state: 'pending',
      agency: 'nca',
      warrant: { id: w.warrant.warrant.id, revision: 0, inclusion: { leafIndex: w.inclusion.leafIndex }, inForce: { urgent: false, approved: true } },
      limits: { maxMessages: 5, maxPerDay: 3, releasedMessages: 0, releasedLast24h: 0 },
      decision: null,
    });
    expect((review!.warrant.signed as { decision: { signer: string } }).decision.signer).toBe('jc-1');
    expect((review!.delivery as { record: { messageId: string } }).record.messageId).toBe('review-1');
    expect(review!.warrant.loggedAt).toBeGreaterThan(0);
    // Asking again opens no second review.
    expect(await codes(decrypt(w, m, [1]))).toContainEqual([1, 'review_pending']);
    expect(await list(1)).toHaveLength(1);

    // Operators 1 and 2 approve; operator 3 refuses.
    expect((await decide(1, review!.reviewId, 'approve')).status).toBe(200);
    expect((await decide(2, (await list(2))[0]!.reviewId, 'approve')).status).toBe(200);
    const refused = await decide(3, (await list(3))[0]!.reviewId, 'refuse', 'the grounds do not fit the message');
    expect(refused.status).toBe(200);
    expect((refused.json.review as OperatorReview).state).toBe('refused');

    const decryption = await decrypt(w, m, [1, 2]);
    expect(decryption.shares.map((s) => s.index)).toEqual([1, 2]);
    // Custodian 3 answers operator_refused to every later request for that message.
    const third = await post(3, '/v1/shares', world.request(3, w, m, Date.now()));
    expect([third.status, third.json.code]).toEqual([403, 'operator_refused']);

    const [approved] = await list(1, 'approved');
    expect(approved!.decision).toMatchObject({ decision: 'approve', reason: 'checked the warrant and the log', operatorKey: toBase64Url(operators[0]!.publicKey) });
    expect(approved!.limits.releasedMessages).toBe(1); // now counted from the log
    // Decided once.
    expect((await decide(1, approved!.reviewId, 'refuse')).json.code).toBe('already_decided');
    expect((await decide(1, 'AAAAAAAAAAAAAAAAAAAAAAAA', 'approve')).json.code).toBe('not_found');
  });

  it('refuses commands signed by another key, tampered, replayed, expired or addressed elsewhere', async () => {
    const w = await logWarrant();
    const m = world.deliver(epochKey, { messageId: 'review-2', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    await codes(decrypt(w, m, [1, 2]));
    const reviewId = (await list(1)).find((r) => (r.delivery as { record: { messageId: string } }).record.messageId === 'review-2')!.reviewId;
    const approve: OperatorCommand = { action: 'decide', reviewId, decision: 'approve', reason: 'ok' };
    const expectRefused = async (body: unknown, status: number, code: string) => {
      const answer = await post(1, '/v1/operator/decisions', body);
      expect([answer.status, answer.json.code]).toEqual([status, code]);
    };
    // another custodian's operator, and the agency itself
    await expectRefused(command(1, approve, operators[1]!.secretKey), 401, 'bad_operator_signature');
    await expectRefused(command(1, approve, world.agency.secretKey), 401, 'bad_operator_signature');
    // a refusal turned into an approval after signing
    const signed = command(1, { ...approve, decision: 'refuse' });
    await expectRefused({ ...signed, request: { ...signed.request, command: { ...approve } } } satisfies SignedOperatorRequest, 401, 'bad_operator_signature');
    // expired, and from the future
    await expectRefused(command(1, approve, undefined, Date.now() - 10 * 60_000), 401, 'stale_request');
    await expectRefused(command(1, approve, undefined, Date.now() + 10 * 60_000), 401, 'stale_request');
    // operator 1's command for custodian 2, sent to custodian 1
    await expectRefused(command(2, approve, operators[0]!.secretKey), 403, 'wrong_custodian');
    // malformed
    await expectRefused({ request: { custodian: 1 }, signature: 'x' }, 400, 'validation_failed');
    // a listing command presented as a decision
    await expectRefused(command(1, { action: 'list', state: 'all' }), 400, 'validation_failed');
    expect((await list(1)).map((r) => r.reviewId)).toContain(reviewId); // still pending after all that

    // A genuine list command replayed: refused the second time.
    const listing = command(1, { action: 'list', state: 'pending' });
    expect((await post(1, '/v1/operator/reviews', listing)).status).toBe(200);
    expect((await post(1, '/v1/operator/reviews', listing)).json.code).toBe('replay');
    // A genuine approval works once; replayed, it is refused (and cannot decide another review).
    const genuine = command(1, approve);
    expect((await post(1, '/v1/operator/decisions', genuine)).status).toBe(200);
    await expectRefused(genuine, 409, 'replay');
  });

  it('pages through every review with a cursor: nothing missed or repeated, decided ones newest first', pagesThroughReviews);
});

// The console's paging is SQL (a cursor over the review table), so it runs on both of the custodian's dialects.
describe.runIf(postgresUrl)('a custodian operator reviews each release, on PostgreSQL', () => {
  let undeploy: () => Promise<void>;
  beforeAll(async () => {
    undeploy = await deploy('postgres');
  }, 60_000);
  afterAll(() => undeploy?.());

  it('pages through every review with a cursor: nothing missed or repeated, decided ones newest first', async () => {
    expect(existsSync(join(dataDirOf(1), 'doublelock.sqlite'))).toBe(false); // (its reviews are in PostgreSQL)
    await pagesThroughReviews();
  });
});

async function pagesThroughReviews() {
  const w = await logWarrant();
  const ids = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
  for (const messageId of ids.slice(0, 4)) await codes(decrypt(w, world.deliver(epochKey, { messageId, sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32)), [1]));
  const page = async (state: 'pending' | 'decided' | 'all', limit: number, after?: string) => {
    const { status, json } = await post(1, '/v1/operator/reviews', command(1, { action: 'list', state, limit, ...(after ? { after } : {}) }));
    expect(status).toBe(200);
    return json as { reviews: OperatorReview[]; next: string | null; total: number };
  };
  const messageId = (r: OperatorReview) => (r.delivery as { record: { messageId: string } }).record.messageId;
  const first = await page('pending', 2);
  expect(first.reviews).toHaveLength(2);
  expect(first.next).toEqual(expect.any(String));
  // A request arriving while the operator pages lands at the end, without shifting the pages already read.
  await codes(decrypt(w, world.deliver(epochKey, { messageId: 'page-e', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32)), [1]));
  const seen = [...first.reviews];
  for (let after = first.next, pages = 0; after && pages < 10; pages++) {
    const next = await page('pending', 2, after);
    expect(next.reviews.length).toBeLessThanOrEqual(2);
    seen.push(...next.reviews);
    after = next.next;
  }
  const whole = await page('pending', 500);
  expect(seen.map((r) => r.reviewId)).toEqual(whole.reviews.map((r) => r.reviewId));
  expect(new Set(seen.map((r) => r.reviewId)).size).toBe(seen.length);
  expect(whole.total).toBe(whole.reviews.length);
  expect(seen.map(messageId).filter((m) => m.startsWith('page-'))).toEqual(ids);

  // Decided: the newest decision first, paged the same way.
  const byMessage = (m: string) => seen.find((r) => messageId(r) === m)!.reviewId;
  for (const m of ['page-b', 'page-d', 'page-a']) expect((await decide(1, byMessage(m), 'refuse', `not ${m}`)).status).toBe(200);
  const decidedFirst = await page('decided', 1);
  expect(messageId(decidedFirst.reviews[0]!)).toBe('page-a');
  const decidedSecond = await page('decided', 1, decidedFirst.next!);
  expect(messageId(decidedSecond.reviews[0]!)).toBe('page-d');
  expect((await page('pending', 500)).reviews.map(messageId).filter((m) => m.startsWith('page-'))).toEqual(['page-c', 'page-e']);

  // A cursor or a limit the API does not offer is refused with a reason, not a 5xx.
  for (const bad of [{ action: 'list', state: 'pending', after: "1' OR 1=1" }, { action: 'list', state: 'pending', limit: 501 }, { action: 'list', state: 'pending', limit: 0 }])
    expect((await post(1, '/v1/operator/reviews', signedAnyway(bad))).json.code).toBe('validation_failed');
}
