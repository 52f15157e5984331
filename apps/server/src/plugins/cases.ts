/**
 * Notice and action over HTTP (docs/CASES.md). Who may call what:
 * - anyone: submit a notice (DSA Art. 16, rate-limited per address), follow it and complain with its
 *   receipt token;
 * - an account: read its statements of reasons and notifications, appeal (DSA Art. 20);
 * - an account with a role (session + role looked up on every request, before the body is validated):
 *   trusted_flagger submits notices with priority; moderator works cases and appeals; admin grants roles,
 *   registers authorities' keys, sets targets, runs crisis incidents, exports statements and reports;
 *   legal reads preserved evidence;
 * - an authority: requests signed with its registered key, fresh and used once (removal orders, their
 *   status, preservation extensions).
 */
import {
  appealNotice,
  appealStatement,
  caseEvents,
  cannotComply,
  claimAppeal,
  claimCase,
  closeIncident,
  declareIncident,
  decide,
  decideAppeal,
  dsaTemplateCsv,
  eventsAfter,
  exportStatements,
  extendPreservation,
  getIncident,
  listAppeals,
  listEvidence,
  listIncidents,
  listQueue,
  loadAppeal,
  loadCase,
  loadDecision,
  netzdgCsv,
  noticeByReceipt,
  readEvidence,
  releaseCase,
  reportPeriod,
  reportChart,
  setBasis,
  statementFor,
  statementsOf,
  submitNotice,
  submitRemovalOrder,
  submitTrustedFlag,
  tcoCsv,
  verifyAuthorityRequest,
  withUrgency,
  addIncidentSignals,
  orderStatus,
  type Cases,
  type Role,
} from '@doublelock/cases';
import {
  appealDecisionRequest,
  appealRequest,
  authorityRegistration,
  basisRequest,
  cannotComplyRequest,
  decisionRequest,
  ErrorCode,
  flagRequest,
  fromBase64Url,
  incidentClose,
  incidentDeclaration,
  incidentHashes,
  noticeRequest,
  reportQuery,
  roleGrantRequest,
  signedAuthorityRequest,
} from '@doublelock/protocol';
import type { FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';

const id = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });
const receipt = z.object({ receipt: z.string().min(10).max(80) }).strict();

export function caseRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  const cases: Cases = ctx.cases;
  const c = cases.ctx;
  /** preValidation: the session's account holds one of these roles, checked before the body is read. */
  const as = (...roles: Role[]) => ({
    onRequest: auth.require,
    preValidation: async (request: FastifyRequest) => {
      await cases.roles.require(deviceOf(request).username, ...roles);
    },
  });
  const user = (request: FastifyRequest) => deviceOf(request).username;
  const tag = (tags: string[], summary: string) => ({ tags, summary });

  return async (app) => {
    // ---- anyone

    // DSA Art. 16 is open to anyone: a quota per client address keeps it from being a flood gate.
    const limit = { rateLimit: { max: ctx.config.noticesPerMinute, timeWindow: 60_000 } };
    {
      app.post(
        '/v1/notices',
        { config: limit, schema: { ...tag(['notices'], 'Submit a notice of illegal content (DSA Art. 16); signed in or not'), body: noticeRequest } },
        async (request, reply) => {
          // A session is optional here, but a presented one must be valid.
          let account: string | null = null;
          if (request.headers.authorization) {
            await auth.require(request);
            account = user(request);
          }
          return reply.code(201).send(await submitNotice(c, request.body, account));
        },
      );
      app.post('/v1/notices/status', { config: limit, schema: { ...tag(['notices'], 'Follow a notice with its receipt: decision and redress'), body: receipt } }, async (request) => {
        const { noticeId, caseId } = await noticeByReceipt(c.db, request.body.receipt);
        const kase = await loadCase(c.db, caseId);
        const notifications = await c.db.all<{ kind: string; body: string; created_at: number }>('SELECT kind, body, created_at FROM case_notifications WHERE recipient = ? ORDER BY id', [`notice:${noticeId}`]);
        return { noticeId, state: kase.state === 'decided' ? 'decided' : 'open', notifications: notifications.map((n) => ({ kind: n.kind, at: Number(n.created_at), ...JSON.parse(n.body) })) };
      });
      app.post(
        '/v1/notices/complaint',
        { config: limit, schema: { ...tag(['notices'], 'Complain about the decision on your notice (DSA Art. 20)'), body: receipt.extend({ grounds: appealRequest.shape.grounds }).strict() } },
        async (request, reply) => reply.code(201).send(await appealNotice(c, request.body.receipt, request.body.grounds)),
      );
    }

    // ---- an account: its statements of reasons, appeals and notifications

    app.get('/v1/statements', { onRequest: auth.require, schema: tag(['statements'], 'Your statements of reasons (DSA Art. 17)') }, async (request) => ({ statements: await statementsOf(c, user(request)) }));
    app.get('/v1/statements/:id', { onRequest: auth.require, schema: { ...tag(['statements'], 'One of your statements of reasons'), params: id } }, async (request) => statementFor(c, request.params.id, user(request)));
    app.post('/v1/statements/:id/appeal', { onRequest: auth.require, schema: { ...tag(['statements'], 'Appeal a decision within 6 months (DSA Art. 20)'), params: id, body: appealRequest } }, async (request, reply) =>
      reply.code(201).send(await appealStatement(c, request.params.id, user(request), request.body.grounds)),
    );
    app.get('/v1/notifications', { onRequest: auth.require, schema: { ...tag(['statements'], 'What you were told about decisions and appeals'), querystring: z.object({ after: z.coerce.number().int().nonnegative().default(0) }) } }, async (request) => {
      const rows = await c.db.all<{ id: number; kind: string; body: string; created_at: number }>('SELECT id, kind, body, created_at FROM case_notifications WHERE recipient = ? AND id > ? ORDER BY id LIMIT 200', [`account:${user(request)}`, request.query.after]);
      return { notifications: rows.map((n) => ({ id: Number(n.id), kind: n.kind, at: Number(n.created_at), ...JSON.parse(n.body) })) };
    });

    // ---- trusted flaggers

    app.post('/v1/moderation/flags', { ...as('trusted_flagger'), schema: { ...tag(['notices'], 'A trusted flagger’s notice, processed with priority (DSA Art. 22)'), body: flagRequest } }, async (request, reply) => {
      const grant = await cases.roles.require(user(request), 'trusted_flagger');
      return reply.code(201).send(await submitTrustedFlag(c, request.body, grant.username, grant.organisation));
    });

    // ---- authorities (signed requests)

    app.post('/v1/moderation/removal-orders', { schema: { ...tag(['authorities'], 'A TCO removal order (Annex I), signed by a registered authority'), body: signedAuthorityRequest } }, async (request, reply) => {
      const verified = await verifyAuthorityRequest(cases.authorities, request.body, 'removal_order', c.config.provider, c.now());
      const r = await submitRemovalOrder(c, { ...verified, signature: request.body.signature });
      return reply.code(r.duplicate ? 200 : 201).send(r);
    });
    app.post('/v1/moderation/removal-orders/status', { schema: { ...tag(['authorities'], 'Feedback on an order (TCO Annex II / III), signed by its authority'), body: signedAuthorityRequest } }, async (request) => {
      const verified = await verifyAuthorityRequest(cases.authorities, request.body, 'order_status', c.config.provider, c.now());
      return orderStatus(c, verified.authority.id, (verified.request.body as { reference: string }).reference);
    });
    app.post('/v1/moderation/preservation', { schema: { ...tag(['authorities'], 'Extend the preservation of what an order removed (TCO Art. 6(2))'), body: signedAuthorityRequest } }, async (request) => {
      const verified = await verifyAuthorityRequest(cases.authorities, request.body, 'preservation_extension', c.config.provider, c.now());
      const body = verified.request.body as { reference: string; months: number; reasons: string };
      return { evidence: await extendPreservation(c, verified.authority.id, body.reference, body.months, body.reasons) };
    });

    // ---- moderators

    const queueQuery = z.object({
      state: z.enum(['pending', 'open', 'claimed', 'decided']).default('pending'),
      source: z.enum(['notice', 'trusted_flagger', 'removal_order', 'franked_report', 'upload_hold', 'sweep_hold', 'crisis_hold', 'automated']).optional(),
      mine: z.enum(['true', 'false']).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      before: z.coerce.number().int().positive().optional(),
    });
    app.get('/v1/moderation/cases', { ...as('moderator', 'admin'), schema: { ...tag(['cases'], 'The queue: overdue first, then escalated, then by priority and deadline'), querystring: queueQuery } }, async (request) => {
      const q = request.query;
      return { now: c.now(), cases: await listQueue(c, { state: q.state, ...(q.source && { source: q.source }), ...(q.mine === 'true' && { assignee: user(request) }), limit: q.limit, ...(q.before && { before: q.before }) }) };
    });
    app.get('/v1/moderation/cases/:id', { ...as('moderator', 'admin'), schema: { ...tag(['cases'], 'A case: the content, the notices (without notifiers’ identities), the order, the decision, the history'), params: id } }, async (request) => {
      const kase = await loadCase(c.db, request.params.id);
      const snapshot = kase.content.kind === 'unresolved' ? null : ((await c.content.snapshot(kase.content)) ?? null);
      const notices = await c.db.all<{ id: number; kind: string; organisation: string | null; explanation: string; law: string; category: string; received_at: number; anonymous: number }>(
        'SELECT id, kind, organisation, explanation, law, category, received_at, CASE WHEN notifier_email IS NULL THEN 1 ELSE 0 END AS anonymous FROM case_notices WHERE case_id = ? ORDER BY id',
        [kase.id],
      );
      const order = kase.orderId === null ? null : await c.db.get<{ reference: string; authority_id: string; member_state: string; document: string; received_at: number }>('SELECT reference, authority_id, member_state, document, received_at FROM removal_orders WHERE id = ?', [kase.orderId]);
      return {
        case: withUrgency(kase, c.now()),
        content: snapshot,
        notices: notices.map((n) => ({ id: Number(n.id), kind: n.kind, organisation: n.organisation, explanation: n.explanation, law: n.law, category: n.category, receivedAt: Number(n.received_at), anonymous: n.kind === 'article16' && Number(n.anonymous) === 1 })),
        order: order && { reference: order.reference, authority: order.authority_id, memberState: order.member_state, receivedAt: Number(order.received_at), body: (JSON.parse(order.document) as { body: unknown }).body },
        decision: kase.decisionId === null ? null : await loadDecision(c.db, kase.decisionId),
        events: await caseEvents(c, kase.id),
      };
    });
    // The case's own media, whatever its visibility (held, removed): <img> cannot send a session, so the
    // console fetches this with its token. Only media the case's content holds is served.
    app.get('/v1/moderation/cases/:id/media/:mediaId', { ...as('moderator', 'admin'), schema: { ...tag(['cases'], 'A media file of the case’s content (held or removed ones too)'), params: z.object({ id: id.shape.id, mediaId: id.shape.id }) } }, async (request, reply) => {
      const kase = await loadCase(c.db, request.params.id);
      const snapshot = kase.content.kind === 'unresolved' ? undefined : await c.content.snapshot(kase.content);
      if (!snapshot?.media?.some((m) => m.url === `/v1/media/${request.params.mediaId}`)) return fail(ErrorCode.notFound, 'This case holds no such media.');
      const media = await ctx.channels.store.media(request.params.mediaId);
      const path = media && (await ctx.blobs.path(media.sha256));
      if (!media || !path) return fail(ErrorCode.notFound, 'The media file is gone.');
      return reply
        .header('content-type', media.contentType)
        .header('content-length', media.bytes)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('cache-control', 'private, no-store')
        .send(createReadStream(path));
    });
    app.post('/v1/moderation/cases/:id/claim', { ...as('moderator'), schema: { ...tag(['cases'], 'Claim a case (for the claim time); refused while another moderator holds it'), params: id } }, async (request) => claimCase(c, request.params.id, user(request)));
    app.post('/v1/moderation/cases/:id/release', { ...as('moderator'), schema: { ...tag(['cases'], 'Give a claimed case back to the queue'), params: id } }, async (request) => releaseCase(c, request.params.id, user(request)));
    app.post('/v1/moderation/cases/:id/assign', { ...as('admin'), schema: { ...tag(['cases'], 'Assign a case to a moderator'), params: id, body: z.object({ moderator: z.string().min(3).max(32) }).strict() } }, async (request) => {
      await cases.roles.require(request.body.moderator, 'moderator').catch(() => fail(ErrorCode.validation, `${request.body.moderator} is not a moderator.`));
      return claimCase(c, request.params.id, request.body.moderator, user(request));
    });
    app.post('/v1/moderation/cases/:id/decision', { ...as('moderator'), schema: { ...tag(['cases'], 'Decide a claimed case at the version seen: restrictions, ground, category; a statement of reasons for every restriction'), params: id, body: decisionRequest } }, async (request) => decide(c, request.params.id, user(request), request.body));
    app.post('/v1/moderation/cases/:id/basis', { ...as('moderator'), schema: { ...tag(['cases'], 'Change the legal basis (e.g. NetzDG: not manifestly unlawful, 7 days)'), params: id, body: basisRequest } }, async (request) => setBasis(c, request.params.id, user(request), request.body.version, request.body.basis));
    app.post('/v1/moderation/cases/:id/cannot-comply', { ...as('moderator'), schema: { ...tag(['cases'], 'Answer a removal order that cannot be complied with (TCO Annex III)'), params: id, body: cannotComplyRequest } }, async (request) => cannotComply(c, request.params.id, user(request), request.body));

    app.get('/v1/moderation/appeals', { ...as('moderator', 'admin'), schema: { ...tag(['appeals'], 'Appeals: pending by deadline, or decided'), querystring: z.object({ state: z.enum(['pending', 'decided']).default('pending'), limit: z.coerce.number().int().min(1).max(500).default(50) }) } }, async (request) => ({ appeals: await listAppeals(c, request.query) }));
    app.get('/v1/moderation/appeals/:id', { ...as('moderator', 'admin'), schema: { ...tag(['appeals'], 'An appeal with the decision it is about'), params: id } }, async (request) => {
      const appeal = await loadAppeal(c.db, request.params.id);
      return { appeal: appeal.complainantKind === 'notifier' ? { ...appeal, complainant: 'notifier' } : appeal, decision: await loadDecision(c.db, appeal.decisionId) };
    });
    app.post('/v1/moderation/appeals/:id/claim', { ...as('moderator'), schema: { ...tag(['appeals'], 'Claim an appeal (not one about your own decision)'), params: id } }, async (request) => claimAppeal(c, request.params.id, user(request)));
    app.post('/v1/moderation/appeals/:id/decision', { ...as('moderator'), schema: { ...tag(['appeals'], 'Decide an appeal: upheld, or reversed (reinstated, both sides told, signals disputed)'), params: id, body: appealDecisionRequest } }, async (request) => decideAppeal(c, request.params.id, user(request), request.body));
    app.get('/v1/moderation/events', { ...as('moderator', 'admin'), schema: { ...tag(['cases'], 'Every case event after a cursor (escalations, overdue cases, decisions)'), querystring: z.object({ after: z.coerce.number().int().nonnegative().default(0), limit: z.coerce.number().int().min(1).max(1000).default(200) }) } }, async (request) => ({ events: await eventsAfter(c, request.query.after, request.query.limit) }));

    // ---- administrators

    app.get('/v1/moderation/roles', { ...as('admin'), schema: tag(['admin'], 'Every role grant') }, async () => ({ roles: await cases.roles.list() }));
    app.post('/v1/moderation/roles', { ...as('admin'), schema: { ...tag(['admin'], 'Grant a role to an account'), body: roleGrantRequest } }, async (request, reply) => {
      if (!(await ctx.stores.accounts.get(request.body.username))) fail(ErrorCode.notFound, `No account ${request.body.username}.`);
      return reply.code(201).send(await cases.roles.grant(request.body.username, request.body.role, user(request), c.now(), request.body.organisation));
    });
    app.post('/v1/moderation/roles/revoke', { ...as('admin'), schema: { ...tag(['admin'], 'Revoke a role'), body: roleGrantRequest.pick({ username: true, role: true }).strict() } }, async (request) => {
      if (request.body.username === user(request) && request.body.role === 'admin') fail(ErrorCode.forbidden, 'An administrator cannot revoke their own admin role (ask another).');
      return { revoked: await cases.roles.revoke(request.body.username, request.body.role) };
    });
    app.get('/v1/moderation/authorities', { ...as('admin'), schema: tag(['admin'], 'Registered authorities and their keys') }, async () => ({
      authorities: (await cases.authorities.list()).map((a) => ({ ...a, publicKey: Buffer.from(a.publicKey).toString('base64url') })),
    }));
    app.post('/v1/moderation/authorities', { ...as('admin'), schema: { ...tag(['admin'], 'Register an authority’s signing key'), body: authorityRegistration } }, async (request, reply) => {
      const a = await cases.authorities.register({ ...request.body, publicKey: fromBase64Url(request.body.publicKey) }, user(request), c.now());
      return reply.code(201).send({ ...a, publicKey: request.body.publicKey });
    });
    app.post('/v1/moderation/authorities/:authority/revoke', { ...as('admin'), schema: { ...tag(['admin'], 'Revoke an authority’s key'), params: z.object({ authority: z.string().max(64) }) } }, async (request) => ({ revoked: await cases.authorities.revoke(request.params.authority, c.now()) }));
    app.get('/v1/moderation/targets', { ...as('admin', 'moderator'), schema: tag(['admin'], 'Operator targets where the law sets no number (ms)') }, async () => cases.settings.targets());
    app.put('/v1/moderation/targets', { ...as('admin'), schema: { ...tag(['admin'], 'Set operator targets'), body: z.record(z.string(), z.number()) } }, async (request) => cases.settings.setTargets(request.body));

    app.get('/v1/moderation/incidents', { ...as('admin', 'moderator'), schema: tag(['crisis'], 'Crisis incidents') }, async () => ({ incidents: await listIncidents(c) }));
    app.get('/v1/moderation/incidents/:id', { ...as('admin', 'moderator'), schema: { ...tag(['crisis'], 'One incident, with its debrief once closed'), params: id } }, async (request) => getIncident(c, request.params.id));
    app.post('/v1/moderation/incidents', { ...as('admin'), schema: { ...tag(['crisis'], 'Declare an incident: uploads near its hashes are held for review'), body: incidentDeclaration } }, async (request, reply) => reply.code(201).send(await declareIncident(c, user(request), request.body)));
    app.post('/v1/moderation/incidents/:id/signals', { ...as('admin'), schema: { ...tag(['crisis'], 'Bulk-add hashes to an open incident'), params: id, body: incidentHashes } }, async (request) => {
      const added = await addIncidentSignals(c, request.params.id, user(request), request.body.signals);
      await ctx.moderation.banks.refresh();
      return { added };
    });
    app.post('/v1/moderation/incidents/:id/close', { ...as('admin'), schema: { ...tag(['crisis'], 'Close an incident with its debrief'), params: id, body: incidentClose } }, async (request) => closeIncident(c, request.params.id, user(request), request.body.summary));

    app.get('/v1/moderation/statements/export', { ...as('admin'), schema: { ...tag(['statements'], 'Statements due to the DSA Transparency Database, validated, in batches of up to 100'), querystring: z.object({ limit: z.coerce.number().int().min(1).max(100_000).default(1000), mark: z.enum(['true', 'false']).default('false') }) } }, async (request) =>
      exportStatements(c, { limit: request.query.limit, mark: request.query.mark === 'true' }),
    );

    const formats = z.enum(['json', 'svg', 'tco.csv', 'netzdg.csv', 'dsa.csv']);
    app.get('/v1/moderation/reports', { ...as('admin'), schema: { ...tag(['reports'], 'A transparency report computed from stored decisions: JSON, SVG, or CSV (dsa.csv needs part=1,3..8)'), querystring: reportQuery.extend({ format: formats.default('json'), part: z.coerce.number().int().min(1).max(8).optional() }).strict() } }, async (request, reply) => {
      const report = await cases.report(reportPeriod(request.query.from, request.query.to));
      const f = request.query.format;
      if (f === 'json') return report;
      if (f === 'svg') return reply.type('image/svg+xml').send(reportChart(report));
      if (f === 'tco.csv') return reply.type('text/csv; charset=utf-8').send(tcoCsv(report));
      if (f === 'netzdg.csv') return reply.type('text/csv; charset=utf-8').send(netzdgCsv(report));
      const parts = dsaTemplateCsv(report, { service: ctx.config.casesProvider, provider: ctx.config.casesProvider });
      const part = Object.entries(parts).find(([name]) => name.startsWith(`part${request.query.part ?? 4}_`));
      if (!part) return fail(ErrorCode.validation, `The template's CSV parts are ${Object.keys(parts).join(', ')}.`);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${part[0]}"`).send(part[1]);
    });

    // ---- legal: preserved evidence

    app.get('/v1/moderation/evidence', { ...as('legal'), schema: { ...tag(['evidence'], 'Preserved evidence (TCO Art. 6): what is kept and until when'), querystring: z.object({ caseId: z.coerce.number().int().positive().optional() }) } }, async (request) => ({
      evidence: await listEvidence(c, request.query.caseId !== undefined ? { caseId: request.query.caseId } : {}),
    }));
    app.get('/v1/moderation/evidence/:id', { ...as('legal'), schema: { ...tag(['evidence'], 'Open one preserved item (the reading is recorded)'), params: id } }, async (request) => readEvidence(c, request.params.id, user(request)));
  };
}
