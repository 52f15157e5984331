/**
 * Intake: every tip-off becomes a case in one queue, with its clock from the rule table.
 * - user notices (DSA Art. 16), one case per content item collecting every notice about it;
 * - trusted flaggers' notices (Art. 22), the same but with priority;
 * - removal orders (TCO Annex I), one case per URL, clock one hour from receipt;
 * - franked reports from private chats: the case shows the reported message and nothing else of the chat;
 * - uploads the upload check or the retro-sweep held for review, and uploads held by a crisis incident.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { DomainError, ErrorCode, toBase64Url } from '@doublelock/protocol';
import type { FlagRequest, NoticeRequest, RemovalOrderBody } from '@doublelock/protocol/cases';
import type { StatementCategory } from '@doublelock/protocol/dsa';
import type { SqlRunner } from '@doublelock/store';
import type { VerifiedRequest } from './authority.ts';
import { insertCase, type CaseMatch } from './caseRecord.ts';
import type { ContentRef } from './content.ts';
import { announce, notify, recordEvent, type CaseEvent, type CasesContext } from './context.ts';
import { clockFor, priorityOf, windowFor, type CaseSource, type LegalBasis } from './legalBasis.ts';

/** Anonymous notices are allowed only for child sexual abuse material (DSA Art. 16(2)(c)). */
const ANONYMOUS_KEYWORDS = new Set(['KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL', 'KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE']);

const basisOfLaw = (law: NoticeRequest['law']): LegalBasis => (law === 'netzdg' ? 'netzdg_manifest' : law);

export interface NoticeReceipt {
  noticeId: number;
  caseId: number;
  receiptToken: string;
  receivedAt: number;
}

async function resolveContent(ctx: CasesContext, url: string): Promise<{ ref: ContentRef; owner: string | null }> {
  const ref = await ctx.content.resolve(url);
  const snapshot = ref && (await ctx.content.snapshot(ref));
  if (!ref || !snapshot) throw new DomainError(ErrorCode.notFound, 'That URL does not point at content on this service (give the exact URL of the post).');
  return { ref, owner: snapshot.owner };
}

interface NoticeIntake {
  kind: 'article16' | 'trusted_flagger';
  request: NoticeRequest | FlagRequest;
  name: string | null;
  email: string | null;
  account: string | null;
  organisation: string | null;
}

async function intakeNotice(ctx: CasesContext, n: NoticeIntake): Promise<NoticeReceipt> {
  const { ref, owner } = await resolveContent(ctx, n.request.url);
  const now = ctx.now();
  const targets = await ctx.targets();
  const source: CaseSource = n.kind === 'trusted_flagger' ? 'trusted_flagger' : 'notice';
  const basis = basisOfLaw(n.request.law);
  const clock = clockFor(now, windowFor(basis, source, targets), targets);
  const token = randomBytes(24);
  const events: CaseEvent[] = [];
  const result = await ctx.db.transaction(async (tx) => {
    // Every notice about the same content joins its open notice case; the earliest clock wins.
    const open = await tx.get<{ id: number; due_at: number; escalate_at: number; priority: number }>(
      "SELECT id, due_at, escalate_at, priority FROM cases WHERE content_kind = ? AND content_id = ? AND state <> 'decided' AND source IN ('notice', 'trusted_flagger') ORDER BY id LIMIT 1",
      [ref.kind, ref.id],
    );
    let caseId: number;
    if (open) {
      caseId = Number(open.id);
      const priority = Math.min(Number(open.priority), priorityOf(source));
      await tx.run(
        `UPDATE cases SET due_at = ?, escalate_at = ?, priority = ?, version = version + 1${source === 'trusted_flagger' ? ", source = 'trusted_flagger'" : ''} WHERE id = ?`,
        [Math.min(Number(open.due_at), clock.dueAt), Math.min(Number(open.escalate_at), clock.escalateAt), priority, caseId],
      );
    } else {
      caseId = (
        await insertCase(tx, {
          source,
          basis,
          priority: priorityOf(source),
          content: ref,
          url: n.request.url,
          owner,
          category: n.request.category,
          summary: n.request.explanation.slice(0, 280),
          receivedAt: now,
          ...clock,
        })
      ).id;
    }
    const notice = await tx.get<{ id: number }>(
      `INSERT INTO case_notices (case_id, kind, notifier_name, notifier_email, notifier_account, organisation, explanation, url, law, category, bona_fide, receipt_hash, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
      [caseId, n.kind, n.name, n.email, n.account, n.organisation, n.request.explanation, n.request.url, n.request.law, n.request.category, sha256(token), now],
    );
    const noticeId = Number(notice!.id);
    events.push(await recordEvent(tx, { caseId, appealId: null, at: now, actor: n.organisation ? `flagger:${n.organisation}` : 'notifier', event: 'notice_received', detail: { noticeId, kind: n.kind, law: n.request.law } }));
    // DSA Art. 16(4): confirm receipt without undue delay.
    await notify(tx, `notice:${noticeId}`, caseId, 'receipt', { noticeId, receivedAt: now, text: 'We received your notice and will decide on it in a timely, diligent and objective manner.' }, now);
    return { noticeId, caseId };
  });
  announce(ctx, events);
  return { ...result, receiptToken: `${result.noticeId}.${toBase64Url(token)}`, receivedAt: now };
}

/** A notice from anyone (DSA Art. 16), signed in or not. */
export async function submitNotice(ctx: CasesContext, request: NoticeRequest, account: string | null): Promise<NoticeReceipt> {
  if (request.anonymous) {
    if (!request.keywords.some((k) => ANONYMOUS_KEYWORDS.has(k))) {
      throw new DomainError(ErrorCode.validation, 'A notice needs your name and e-mail address (DSA Art. 16(2)(c)); only notices of child sexual abuse material may be anonymous.');
    }
    if (request.name || request.email) throw new DomainError(ErrorCode.validation, 'An anonymous notice carries no name or e-mail address.');
  } else if (!request.name || !request.email) {
    throw new DomainError(ErrorCode.validation, 'Give your name and e-mail address (DSA Art. 16(2)(c)), or mark the notice anonymous if it concerns child sexual abuse material.');
  }
  return intakeNotice(ctx, { kind: 'article16', request, name: request.name ?? null, email: request.email ?? null, account: request.anonymous ? null : account, organisation: null });
}

/** A notice from an account holding the trusted flagger role: processed with priority (DSA Art. 22). */
export async function submitTrustedFlag(ctx: CasesContext, request: FlagRequest, account: string, organisation: string): Promise<NoticeReceipt> {
  return intakeNotice(ctx, { kind: 'trusted_flagger', request, name: null, email: null, account, organisation });
}

/** The notice behind a receipt token, or a 404 (the same for a wrong token as for no notice). */
export async function noticeByReceipt(tx: SqlRunner, receiptToken: string): Promise<{ noticeId: number; caseId: number }> {
  const [id, token] = receiptToken.split('.');
  const notFound = () => new DomainError(ErrorCode.notFound, 'No notice with that receipt.');
  if (!id || !token || !/^\d{1,15}$/.test(id) || !/^[A-Za-z0-9_-]{32}$/.test(token)) throw notFound();
  const row = await tx.get<{ case_id: number; receipt_hash: Uint8Array | null }>('SELECT case_id, receipt_hash FROM case_notices WHERE id = ?', [Number(id)]);
  let given: Uint8Array;
  try {
    given = sha256(Buffer.from(token, 'base64url'));
  } catch {
    throw notFound();
  }
  if (!row?.receipt_hash || Buffer.compare(Buffer.from(row.receipt_hash), Buffer.from(given)) !== 0) throw notFound();
  return { noticeId: Number(id), caseId: Number(row.case_id) };
}

export interface OrderReceipt {
  orderId: number;
  caseIds: number[];
  receivedAt: number;
  dueAt: number;
  duplicate: boolean;
}

/**
 * A verified removal order (TCO Annex I): one order row with the signed bytes, one case per URL, each due
 * one hour after receipt. A URL that is not content of this service still gets a case, so the order is
 * answered (Annex III: cannot comply) rather than silently dropped.
 */
export async function submitRemovalOrder(ctx: CasesContext, verified: VerifiedRequest & { signature: string }): Promise<OrderReceipt> {
  const order = verified.request.body as RemovalOrderBody;
  const now = ctx.now();
  const targets = await ctx.targets();
  const clock = clockFor(now, windowFor('tco', 'removal_order', targets), targets);
  const resolved = await Promise.all(order.content.map(async (c) => ({ url: c.url, ref: await ctx.content.resolve(c.url) })));
  const owners = await Promise.all(resolved.map(async (r) => (r.ref ? ((await ctx.content.snapshot(r.ref))?.owner ?? null) : null)));
  const events: CaseEvent[] = [];
  const result = await ctx.db.transaction(async (tx) => {
    const existing = await tx.get<{ id: number; received_at: number }>('SELECT id, received_at FROM removal_orders WHERE authority_id = ? AND reference = ?', [verified.authority.id, order.reference]);
    if (existing) {
      const cases = await tx.all<{ id: number; due_at: number }>('SELECT id, due_at FROM cases WHERE order_id = ? ORDER BY id', [existing.id]);
      return { orderId: Number(existing.id), caseIds: cases.map((c) => Number(c.id)), receivedAt: Number(existing.received_at), dueAt: Number(cases[0]?.due_at ?? 0), duplicate: true };
    }
    const row = await tx.get<{ id: number }>(
      `INSERT INTO removal_orders (authority_id, reference, member_state, issued_at, received_at, document, signature, disclosure_delayed_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      [verified.authority.id, order.reference, order.memberState, verified.request.issuedAt, now, verified.document, verified.signature, order.disclosureDelayDays ? now + order.disclosureDelayDays * 86_400_000 : null],
    );
    const orderId = Number(row!.id);
    const caseIds: number[] = [];
    for (const [i, r] of resolved.entries()) {
      const { id } = await insertCase(tx, {
        source: 'removal_order',
        basis: 'tco',
        priority: priorityOf('removal_order'),
        content: r.ref ?? { kind: 'unresolved', id: r.url },
        url: r.url,
        owner: owners[i] ?? null,
        category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
        summary: `Removal order ${order.reference} from ${order.issuingAuthority} (${order.memberState})`,
        receivedAt: now,
        ...clock,
        orderId,
        dedupeKey: `order:${orderId}:${i}`,
      });
      caseIds.push(id);
      events.push(await recordEvent(tx, { caseId: id, appealId: null, at: now, actor: `authority:${verified.authority.id}`, event: 'removal_order_received', detail: { orderId, reference: order.reference, url: r.url, resolved: !!r.ref } }));
    }
    return { orderId, caseIds, receivedAt: now, dueAt: clock.dueAt, duplicate: false };
  });
  announce(ctx, events);
  return result;
}

/** A verified franked report from a private chat: the case holds the reported message, nothing more. */
export async function intakeFrankedReport(ctx: CasesContext, report: { reportId: number; sender: string; reason: string }): Promise<number> {
  const now = ctx.now();
  const targets = await ctx.targets();
  const clock = clockFor(now, windowFor('terms', 'franked_report', targets), targets);
  const events: CaseEvent[] = [];
  const caseId = await ctx.db.transaction(async (tx) => {
    const { id, created } = await insertCase(tx, {
      source: 'franked_report',
      basis: 'terms',
      priority: priorityOf('franked_report'),
      content: { kind: 'message', id: String(report.reportId) },
      url: `report:${report.reportId}`,
      owner: report.sender,
      category: 'STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE',
      summary: report.reason.slice(0, 280) || 'Reported message from a private chat',
      receivedAt: now,
      ...clock,
      dedupeKey: `report:${report.reportId}`,
    });
    if (created) {
      await tx.run(
        `INSERT INTO case_notices (case_id, kind, explanation, url, law, category, bona_fide, report_id, received_at) VALUES (?, 'franked_report', ?, ?, 'terms', 'STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE', 1, ?, ?)`,
        [id, report.reason, `report:${report.reportId}`, report.reportId, now],
      );
      events.push(await recordEvent(tx, { caseId: id, appealId: null, at: now, actor: 'reporter', event: 'franked_report_received', detail: { reportId: report.reportId } }));
    }
    return id;
  });
  announce(ctx, events);
  return caseId;
}

export interface HeldUpload {
  source: 'upload_hold' | 'sweep_hold' | 'crisis_hold';
  ref: ContentRef;
  url: string;
  owner: string | null;
  matches: CaseMatch[];
  /** The upload pipeline's stored decision (its id), one case per held decision. */
  pipelineRef: string;
  category?: StatementCategory;
  summary: string;
  incidentId?: number | null;
}

/** Content the upload check, the retro-sweep or a crisis incident held for a person to review. */
export async function intakeHeld(ctx: CasesContext, held: HeldUpload): Promise<number> {
  const now = ctx.now();
  const targets = await ctx.targets();
  const clock = clockFor(now, windowFor('terms', held.source, targets), targets);
  const events: CaseEvent[] = [];
  const caseId = await ctx.db.transaction(async (tx) => {
    const { id, created } = await insertCase(tx, {
      source: held.source,
      basis: 'terms',
      priority: priorityOf(held.source),
      content: held.ref,
      url: held.url,
      owner: held.owner,
      category: held.category ?? 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
      summary: held.summary.slice(0, 280),
      receivedAt: now,
      ...clock,
      matches: held.matches,
      pipelineRef: held.pipelineRef,
      incidentId: held.incidentId ?? null,
      dedupeKey: `hold:${held.pipelineRef}`,
    });
    if (created) events.push(await recordEvent(tx, { caseId: id, appealId: null, at: now, actor: `system:${held.source}`, event: 'held_for_review', detail: { pipelineRef: held.pipelineRef, matches: held.matches.length } }));
    return id;
  });
  announce(ctx, events);
  return caseId;
}
