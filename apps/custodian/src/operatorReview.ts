/**
 * The operator's review of share requests (`doublelock custodian serve --operator-key <key>`): with an
 * operator key configured, a share request that passes every release rule is not answered with a share
 * but held for review (202 `review_pending`), once per message and warrant revision. The operator lists
 * what is waiting — the signed warrant with its judge's decision, its log inclusion and log-attested time,
 * the delivery record, the limits and how much of them the log shows used — and approves or refuses it
 * with a command signed by its key (fresh, addressed to this custodian, single use: @doublelock/protocol
 * custodianOperator.ts). The decision and the signed command are kept. An approved message is released to
 * the agency's next (fresh, signed) request for it, which passes every release rule again then; a refused
 * one is refused (`operator_refused`) from then on.
 */
import {
  OPERATOR_REQUEST_SKEW_MS,
  type OperatorReview,
  type SignedOperatorRequest,
  signedOperatorRequest,
  toBase64Url,
} from '@doublelock/protocol';
import { type SignedShareRequest, type TrustConfig, checkOperatorRequest, commitToWarrant, witnessedAt, warrantStatus } from '@doublelock/lawful-access';
import { fromBase64Url } from '@doublelock/protocol';
import type { Db, SqlRunner, SqlValue } from '@doublelock/store';
import { randomBytes } from '@noble/hashes/utils.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CustodianStore } from './custodianStore.ts';
import type { LogFollower } from './logFollower.ts';

const DAY_MS = 86_400_000;

interface ReviewRow {
  review_id: string;
  state: 'pending' | 'approved' | 'refused';
  request: string;
  created_at: number;
  decision: string | null;
  decided_at: number | null;
}

type ListState = ReviewRow['state'] | 'decided' | 'all';

interface StoredDecision {
  decision: 'approve' | 'refuse';
  reason: string;
  operatorKey: string;
  signed: SignedOperatorRequest;
}

export class OperatorReviews {
  constructor(private readonly db: Db) {}

  /** The review for this message under this warrant revision, opening one (pending) if there is none. */
  async open(tx: SqlRunner, signed: SignedShareRequest, messageId: string, now: number): Promise<{ reviewId: string; state: ReviewRow['state'] }> {
    const { warrant } = signed.request.warrant;
    const existing = await tx.get<{ review_id: string; state: ReviewRow['state'] }>('SELECT review_id, state FROM custodian_reviews WHERE warrant_id = ? AND revision = ? AND message_id = ?', [
      warrant.id,
      warrant.revision,
      messageId,
    ]);
    if (existing) return { reviewId: existing.review_id, state: existing.state };
    const reviewId = toBase64Url(randomBytes(18));
    await tx.run('INSERT INTO custodian_reviews (review_id, warrant_id, revision, message_id, state, request, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      reviewId,
      warrant.id,
      warrant.revision,
      messageId,
      'pending',
      JSON.stringify(signed),
      now,
    ]);
    return { reviewId, state: 'pending' };
  }

  /**
   * One page of reviews in a state, by keyset (a cursor `key.reviewId` from the page before): pending and
   * 'all' oldest first (by arrival), decided ones newest decision first. Rows arriving meanwhile never
   * shift a page boundary, so paging through misses and repeats nothing.
   */
  async page(state: ListState, after: string | undefined, limit: number): Promise<{ rows: ReviewRow[]; next: string | null; total: number }> {
    const decided = state === 'decided';
    const key = decided ? 'decided_at' : 'created_at';
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (decided) where.push("state IN ('approved', 'refused')");
    else if (state !== 'all') {
      where.push('state = ?');
      params.push(state);
    }
    const { count } = (await this.db.get<{ count: number | string }>(`SELECT COUNT(*) AS count FROM custodian_reviews${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params))!;
    if (after) {
      const dot = after.indexOf('.');
      const [at, id] = [Number(after.slice(0, dot)), after.slice(dot + 1)];
      where.push(decided ? `(${key} < ? OR (${key} = ? AND review_id < ?))` : `(${key} > ? OR (${key} = ? AND review_id > ?))`);
      params.push(at, at, id);
    }
    const direction = decided ? 'DESC' : 'ASC';
    const rows = await this.db.all<ReviewRow>(
      `SELECT review_id, state, request, created_at, decision, decided_at FROM custodian_reviews${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} ${direction}, review_id ${direction} LIMIT ?`,
      [...params, limit + 1],
    );
    const more = rows.length > limit;
    if (more) rows.pop();
    const last = rows.at(-1);
    return { rows, next: more && last ? `${Number(decided ? last.decided_at : last.created_at)}.${last.review_id}` : null, total: Number(count) };
  }

  async get(reviewId: string): Promise<ReviewRow | undefined> {
    return this.db.get<ReviewRow>('SELECT review_id, state, request, created_at, decision, decided_at FROM custodian_reviews WHERE review_id = ?', [reviewId]);
  }

  /** Records a decision on a pending review; false when it was decided already. */
  async decide(reviewId: string, decision: StoredDecision, now: number): Promise<boolean> {
    const { changes } = await this.db.run("UPDATE custodian_reviews SET state = ?, decision = ?, decided_at = ? WHERE review_id = ? AND state = 'pending'", [
      decision.decision === 'approve' ? 'approved' : 'refused',
      JSON.stringify(decision),
      now,
      reviewId,
    ]);
    return changes === 1;
  }

  /** Single use: false when the nonce was seen before. Forgets nonces well past their freshness window. */
  async useNonce(nonce: string, now: number): Promise<boolean> {
    await this.db.run('DELETE FROM custodian_operator_nonces WHERE expires_at < ?', [now]);
    const { changes } = await this.db.run('INSERT INTO custodian_operator_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING', [nonce, now + 4 * OPERATOR_REQUEST_SKEW_MS]);
    return changes === 1;
  }
}

export interface OperatorRoutesOptions {
  operatorKeys: readonly string[];
  custodian: number;
  trust: TrustConfig;
  reviews: OperatorReviews;
  store: CustodianStore;
  follower: LogFollower | undefined;
  now: () => number;
}

function refuse(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ code, message });
}

export function registerOperatorRoutes(app: FastifyInstance, o: OperatorRoutesOptions): void {
  /** The operator's signed command, checked (signature, addressee, freshness, single use), or undefined once refused. */
  const authenticated = async (body: unknown, reply: FastifyReply, action: 'list' | 'decide') => {
    if (o.operatorKeys.length === 0) return void refuse(reply, 404, 'no_operator', 'this custodian releases without operator review (no --operator-key)');
    const parsed = signedOperatorRequest.safeParse(body);
    if (!parsed.success) return void refuse(reply, 400, 'validation_failed', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
    if (parsed.data.request.command.action !== action) return void refuse(reply, 400, 'validation_failed', `command.action must be ${action} here`);
    const at = o.now();
    const checked = checkOperatorRequest(parsed.data, o.operatorKeys, o.custodian, at);
    if ('problem' in checked) return void refuse(reply, checked.problem === 'wrong_custodian' ? 403 : 401, checked.problem, checked.detail);
    if (!(await o.reviews.useNonce(checked.request.nonce, at))) return void refuse(reply, 409, 'replay', 'this operator command was already used');
    return { key: checked.key, signed: parsed.data, at };
  };

  const describe = async (row: ReviewRow): Promise<OperatorReview> => {
    const signed = JSON.parse(row.request) as SignedShareRequest;
    const { request } = signed;
    const w = request.warrant.warrant;
    const commitment = toBase64Url(commitToWarrant(w, fromBase64Url(request.commitmentNonce)).commitment);
    const at = o.now();
    const logged = o.follower ? await o.follower.messages(commitment) : { total: 0, since: () => 0 };
    const status = warrantStatus(request.warrant, o.trust, Math.max(at, w.window.start), await o.store.cancellations(o.store.db, w.id), await o.store.refusals(o.store.db, w.id));
    const decision = row.decision ? (JSON.parse(row.decision) as StoredDecision) : null;
    let loggedAt = 0;
    try {
      loggedAt = witnessedAt(request.inclusion.checkpoint, o.trust.log);
    } catch {
      loggedAt = 0;
    }
    return {
      reviewId: row.review_id,
      state: row.state,
      createdAt: Number(row.created_at),
      agency: signed.agency,
      requestId: request.requestId,
      warrant: {
        id: w.id,
        revision: w.revision,
        signed: request.warrant,
        commitment,
        inclusion: { leafIndex: request.inclusion.leafIndex, treeSize: request.inclusion.treeSize, checkpoint: request.inclusion.checkpoint },
        loggedAt,
        inForce: status.inForce
          ? { from: status.from, until: status.until, urgent: w.urgent, approved: request.warrant.decision?.decision === 'approved' }
          : { from: 0, until: 0, urgent: w.urgent, approved: request.warrant.decision?.decision === 'approved' },
      },
      delivery: request.delivery,
      limits: { maxMessages: w.limits.maxMessages, maxPerDay: w.limits.maxPerDay ?? null, releasedMessages: logged.total, releasedLast24h: logged.since(at - DAY_MS) },
      decision: decision && row.decided_at !== null ? { ...decision, decidedAt: Number(row.decided_at) } : null,
    };
  };

  app.post('/v1/operator/reviews', async (request, reply) => {
    const auth = await authenticated(request.body, reply, 'list');
    if (!auth) return reply;
    const command = auth.signed.request.command as { state: ListState; after?: string; limit?: number };
    if (o.follower) await o.follower.sync().catch(() => undefined); // fresh counts when the log answers
    const page = await o.reviews.page(command.state, command.after, command.limit ?? 100);
    return { reviews: await Promise.all(page.rows.map(describe)), next: page.next, total: page.total };
  });

  app.post('/v1/operator/decisions', async (request, reply) => {
    const auth = await authenticated(request.body, reply, 'decide');
    if (!auth) return reply;
    const command = auth.signed.request.command as { reviewId: string; decision: 'approve' | 'refuse'; reason: string };
    const row = await o.reviews.get(command.reviewId);
    if (!row) return refuse(reply, 404, 'not_found', `no review ${command.reviewId}`);
    if (!(await o.reviews.decide(command.reviewId, { decision: command.decision, reason: command.reason, operatorKey: auth.key, signed: auth.signed }, auth.at)))
      return refuse(reply, 409, 'already_decided', `review ${command.reviewId} was already decided`);
    request.log.info({ review: command.reviewId, decision: command.decision, operator: auth.key }, 'operator decision');
    return { review: await describe((await o.reviews.get(command.reviewId))!) };
  });
}
