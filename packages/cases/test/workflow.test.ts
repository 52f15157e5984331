/**
 * The workflow end to end on a real database (SQLite, and PostgreSQL when the run has one), under a
 * fake clock: intake from every source into one queue, legal clocks, one decision at a time, statements
 * of reasons, appeals that reinstate and dispute, evidence kept and purged.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { BankStore, prepareSignal } from '@doublelock/moderation';
import type { RemovalOrderBody } from '@doublelock/protocol/cases';
import type { Db } from '@doublelock/store';
import { dialectCases } from '@doublelock/store/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appealStatement, claimAppeal, decideAppeal } from '../src/appeals.ts';
import { signAuthorityRequest, verifyAuthorityRequest } from '../src/authority.ts';
import { applyPending, decide } from '../src/decisions.ts';
import { listEvidence, readEvidence } from '../src/evidence.ts';
import { intakeHeld, submitNotice, submitRemovalOrder, submitTrustedFlag } from '../src/intake.ts';
import { claimCase, listQueue } from '../src/queue.ts';
import { statementsOf } from '../src/statements.ts';
import { validateStatement } from '../src/statementOfReasons.ts';
import { DAY, FakeClock, HOUR, makeCases, MINUTE, PostShelf, removalDecision } from './fixtures.ts';

const notice = (url: string, extra: Record<string, unknown> = {}) => ({
  url,
  explanation: 'This post glorifies the attack and calls for more.',
  category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY' as const,
  keywords: ['KEYWORD_TERRORIST_CONTENT' as const],
  law: 'dsa' as const,
  name: 'Jane Doe',
  email: 'jane.doe@example.org',
  anonymous: false,
  bonaFide: true as const,
  ...extra,
});

describe.each(dialectCases())('cases on $name', ({ open }) => {
  let db: Db;
  let clock: FakeClock;
  let env: ReturnType<typeof makeCases>;
  let shelf: PostShelf;
  const authority = ed25519.utils.randomSecretKey();

  beforeEach(async () => {
    db = await open();
    clock = new FakeClock();
    env = makeCases(db, clock);
    shelf = env.shelf;
    shelf.add('p1', 'uploader1', 'attack footage', clock.time - DAY);
    shelf.add('p2', 'uploader2', 'more of it', clock.time - DAY);
    shelf.add('p3', 'uploader3', 'a third post', clock.time - DAY);
    await env.cases.authorities.register({ id: 'de-bka', name: 'Bundeskriminalamt', memberState: 'DE', publicKey: ed25519.getPublicKey(authority), contact: 'tco@bka.example' }, 'admin', clock.time);
  });
  afterEach(async () => db.close());

  async function order(reference: string, urls: string[]) {
    const body: RemovalOrderBody = {
      reference,
      memberState: 'DE',
      issuingAuthority: 'Bundeskriminalamt',
      content: urls.map((url) => ({ url, detail: '' })),
      grounds: ['incitement'],
      reasons: 'The video glorifies the attack of 1 July and incites further attacks.',
      feedbackContact: 'tco@bka.example',
      redress: 'Verwaltungsgericht Wiesbaden, within one month.',
    };
    const signed = signAuthorityRequest('de-bka', authority, { type: 'removal_order', provider: 'social.example', body }, clock.time);
    const verified = await verifyAuthorityRequest(env.cases.authorities, signed, 'removal_order', 'social.example', clock.time);
    return submitRemovalOrder(env.ctx, { ...verified, signature: signed.signature });
  }

  it('puts a trusted flagger’s notice ahead of a user’s notice received earlier', async () => {
    const user = await submitNotice(env.ctx, notice(shelf.url('p1')), null);
    clock.advance(MINUTE);
    const flagged = await submitTrustedFlag(env.ctx, { ...notice(shelf.url('p2')), name: undefined, email: undefined, anonymous: undefined } as never, 'ngo-account', 'Counter Extremism NGO');
    const queue = await listQueue(env.ctx);
    expect(queue.map((c) => c.id)).toEqual([flagged.caseId, user.caseId]);
    expect(queue[0]!.source).toBe('trusted_flagger');
    // The trusted flagger's clock is the operator's shorter target (4 h by default), the user's 24 h.
    expect(queue[0]!.dueAt - queue[0]!.receivedAt).toBe(4 * HOUR);
    expect(queue[1]!.dueAt - queue[1]!.receivedAt).toBe(24 * HOUR);
  });

  it('handles a removal order inside its hour, and flags one that is not as overdue, counting both', async () => {
    const fast = await order('BKA-2025-0001', [shelf.url('p1')]);
    const slow = await order('BKA-2025-0002', [shelf.url('p2')]);
    expect(fast.dueAt - fast.receivedAt).toBe(HOUR);
    // Orders come first in the queue.
    expect((await listQueue(env.ctx)).slice(0, 2).map((c) => c.source)).toEqual(['removal_order', 'removal_order']);

    clock.advance(20 * MINUTE);
    let c = await claimCase(env.ctx, fast.caseIds[0]!, 'mod1');
    await decide(env.ctx, c.id, 'mod1', removalDecision(c.version));
    expect(shelf.visible('p1')).toBe(false);

    clock.advance(30 * MINUTE); // 50 min: the slow one escalates (last quarter of its hour)
    let sweep = await env.cases.sweep();
    expect(sweep.escalated).toEqual([slow.caseIds[0]]);
    expect(sweep.overdue).toEqual([]);
    clock.advance(11 * MINUTE); // 61 min: overdue, flagged once
    sweep = await env.cases.sweep();
    expect(sweep.overdue).toEqual([slow.caseIds[0]]);
    expect((await env.cases.sweep()).overdue).toEqual([]);
    const top = (await listQueue(env.ctx))[0]!;
    expect([top.id, top.urgency, top.countdown]).toEqual([slow.caseIds[0], 'overdue', 'OVERDUE by 1m']);

    let report = await env.cases.report({ from: clock.time - DAY, to: clock.time + DAY });
    expect([report.tco.orders, report.tco.ordersEffectedWithinHour, report.tco.ordersEffectedLate, report.tco.ordersOverdueOpen]).toEqual([2, 1, 0, 1]);

    clock.advance(30 * MINUTE);
    c = await claimCase(env.ctx, slow.caseIds[0]!, 'mod2');
    await decide(env.ctx, c.id, 'mod2', removalDecision(c.version));
    report = await env.cases.report({ from: clock.time - DAY, to: clock.time + DAY });
    expect([report.tco.ordersEffectedWithinHour, report.tco.ordersEffectedLate, report.tco.ordersOverdueOpen]).toEqual([1, 1, 0]);
    expect(report.dsa.orders.find((o) => o.memberState === 'DE')).toMatchObject({ orders: 2, items: 2, medianTimeToEffectMs: (20 * MINUTE + 91 * MINUTE) / 2 });
  });

  it('refuses a removal order "signed" under a small-order authority key (R = identity, S = 0 fits any payload)', async () => {
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point: under ZIP-215 rules (noble's default) it "signs" everything
    await env.cases.authorities.register({ id: 'nobody', name: 'Nobody', memberState: 'DE', publicKey: identity, contact: 'x@nobody.example' }, 'admin', clock.time);
    const real = signAuthorityRequest('nobody', authority, { type: 'removal_order', provider: 'social.example', body: {} }, clock.time);
    const forged = { ...real, signature: Buffer.from([...identity, ...new Uint8Array(32)]).toString('base64url') };
    await expect(verifyAuthorityRequest(env.cases.authorities, forged, 'removal_order', 'social.example', clock.time)).rejects.toMatchObject({ code: 'bad_signature' });
  });

  it('lets one person decide a case at a time: no decision without the claim, none on a stale version', async () => {
    const { caseId } = await submitNotice(env.ctx, notice(shelf.url('p1')), null);
    await expect(decide(env.ctx, caseId, 'mod1', removalDecision(0))).rejects.toThrow(/Claim case/);
    const claimed = await claimCase(env.ctx, caseId, 'mod1');
    await expect(claimCase(env.ctx, caseId, 'mod2')).rejects.toThrow(/claimed by mod1/);
    await expect(decide(env.ctx, caseId, 'mod2', removalDecision(claimed.version))).rejects.toThrow(/Claim case/);
    await expect(decide(env.ctx, caseId, 'mod1', removalDecision(claimed.version - 1))).rejects.toThrow(/version/);
    const both = await Promise.allSettled([decide(env.ctx, caseId, 'mod1', removalDecision(claimed.version)), decide(env.ctx, caseId, 'mod1', removalDecision(claimed.version))]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(shelf.log.filter((l) => l === 'apply p1 remove')).toHaveLength(1);
    // A claim lapses: then someone else may take the case.
    const { caseId: other } = await submitNotice(env.ctx, notice(shelf.url('p2')), null);
    await claimCase(env.ctx, other, 'mod1');
    clock.advance(31 * MINUTE);
    expect((await claimCase(env.ctx, other, 'mod2')).assignee).toBe('mod2');
  });

  it('gives a restriction a statement of reasons that passes the export rules and never names the notifier', async () => {
    const { caseId } = await submitNotice(env.ctx, notice(shelf.url('p1')), 'jane');
    const c = await claimCase(env.ctx, caseId, 'mod1');
    const { statement } = await decide(env.ctx, caseId, 'mod1', removalDecision(c.version));
    expect(statement).toMatchObject({
      decision_visibility: ['DECISION_VISIBILITY_CONTENT_REMOVED'],
      decision_ground: 'DECISION_GROUND_ILLEGAL_CONTENT',
      source_type: 'SOURCE_ARTICLE_16',
      automated_detection: 'No',
      automated_decision: 'AUTOMATED_DECISION_NOT_AUTOMATED',
      content_date: '2025-06-30',
      application_date: '2025-07-01',
      puid: expect.stringMatching(/^test-sor-\d+$/),
    });
    expect(statement).not.toHaveProperty('source_identity');
    expect(validateStatement(statement).ok).toBe(true);
    expect(JSON.stringify(statement)).not.toMatch(/jane/i);
    // The uploader sees it with the redress open to them.
    const [mine] = await statementsOf(env.ctx, 'uploader1');
    expect(mine!.redress.outOfCourt).toMatch(/out-of-court/);
    expect(mine!.redress.appealUntil).toBe(Date.UTC(2026, 0, 1, 9));

    // A moderator who writes the notifier's identity into the facts is refused, and nothing is stored.
    const second = await submitNotice(env.ctx, notice(shelf.url('p2')), null);
    const c2 = await claimCase(env.ctx, second.caseId, 'mod1');
    await expect(decide(env.ctx, second.caseId, 'mod1', { ...removalDecision(c2.version), facts: 'Jane Doe (jane.doe@example.org) reported it.' })).rejects.toMatchObject({ code: 'validation_failed', details: { violations: [{ field: 'decision_facts', rule: 'no_notifier_identity' }] } });
    expect(shelf.visible('p2')).toBe(true);
    expect((await listQueue(env.ctx)).find((x) => x.id === second.caseId)!.state).toBe('claimed');
  });

  it('reverses on appeal: content reinstated, both sides told, the bank signal disputed', async () => {
    const banks = new BankStore(db);
    await banks.createBank('gifct', '', clock.time);
    await banks.putSignals('gifct', [prepareSignal({ type: 'pdq', value: 'f'.repeat(64), labels: ['tvec:glorification'], addedAt: clock.time })]);
    const signal = (await banks.getSignal('gifct', 'pdq', 'f'.repeat(64)))!;
    const heldCase = await intakeHeld(env.ctx, { source: 'upload_hold', ref: { kind: 'post', id: 'p3' }, url: shelf.url('p3'), owner: 'uploader3', matches: [{ bank: 'gifct', signalId: signal.id, distance: 12, labels: signal.labels }], pipelineRef: 'upload-decision-77', summary: 'matched gifct (tvec:glorification)' });
    const extra = await submitNotice(env.ctx, notice(shelf.url('p3')), null); // a notifier too
    let c = await claimCase(env.ctx, heldCase, 'mod1');
    const { statementId } = await decide(env.ctx, heldCase, 'mod1', { ...removalDecision(c.version), ground: { kind: 'incompatible', term: 'Terms §4 terrorist content', explanation: 'Matched known terrorist content.', alsoIllegal: false } });
    expect(shelf.visible('p3')).toBe(false);
    expect(await env.ctx.opinions.ofSignal(signal.id)).toMatchObject([{ opinion: 'positive', reason: 'decision_confirmed' }]);

    const appeal = await appealStatement(env.ctx, statementId!, 'uploader3', 'This is news reporting about the attack, not glorification.');
    await expect(claimAppeal(env.ctx, appeal.id, 'mod1')).rejects.toThrow(/someone other than/);
    const claimed = await claimAppeal(env.ctx, appeal.id, 'mod2');
    await decideAppeal(env.ctx, appeal.id, 'mod2', { version: claimed.version, outcome: 'reversed', reasons: 'Context shows news reporting.' });
    expect(shelf.visible('p3')).toBe(true);
    expect(shelf.log).toContain('reinstate p3');
    expect((await banks.getSignal('gifct', 'pdq', 'f'.repeat(64)))!.labels).toContain('review:disputed');
    expect(await env.ctx.opinions.isDisputed(signal.id)).toBe(true);
    const told = await db.all<{ recipient: string; body: string }>("SELECT recipient, body FROM case_notifications WHERE kind = 'appeal_decision' ORDER BY recipient");
    expect(told.map((t) => t.recipient)).toEqual(['account:uploader3']); // the notice about p3 is its own case, still open
    expect(JSON.parse(told[0]!.body)).toMatchObject({ outcome: 'reversed', reinstated: true, outOfCourt: expect.stringMatching(/out-of-court/) });
    // A second appeal on the same decision is refused; a reversed decision cannot be appealed again.
    await expect(appealStatement(env.ctx, statementId!, 'uploader3', 'again')).rejects.toThrow();
    c = await claimCase(env.ctx, extra.caseId, 'mod1');
    expect(c.source).toBe('notice');
  });

  it('tells the notifiers of a case that was reversed', async () => {
    const { caseId, noticeId } = await submitNotice(env.ctx, notice(shelf.url('p1')), null);
    const c = await claimCase(env.ctx, caseId, 'mod1');
    const { statementId } = await decide(env.ctx, caseId, 'mod1', removalDecision(c.version));
    const appeal = await appealStatement(env.ctx, statementId!, 'uploader1', 'Not what it seems.');
    const claimed = await claimAppeal(env.ctx, appeal.id, 'mod2');
    await decideAppeal(env.ctx, appeal.id, 'mod2', { version: claimed.version, outcome: 'reversed', reasons: 'Satire.' });
    const recipients = (await db.all<{ recipient: string }>("SELECT recipient FROM case_notifications WHERE kind = 'appeal_decision'")).map((r) => r.recipient).sort();
    expect(recipients).toEqual(['account:uploader1', `notice:${noticeId}`]);
  });

  it('refuses an appeal after six months', async () => {
    const { caseId } = await submitNotice(env.ctx, notice(shelf.url('p1')), null);
    const c = await claimCase(env.ctx, caseId, 'mod1');
    const { statementId } = await decide(env.ctx, caseId, 'mod1', removalDecision(c.version));
    clock.time = Date.UTC(2026, 0, 1, 9) + 1;
    await expect(appealStatement(env.ctx, statementId!, 'uploader1', 'late')).rejects.toThrow(/window to complain/);
  });

  it('preserves removed terrorist content encrypted for six months, then purges it', async () => {
    const { caseIds } = await order('BKA-2025-0003', [shelf.url('p1')]);
    const c = await claimCase(env.ctx, caseIds[0]!, 'mod1');
    await decide(env.ctx, c.id, 'mod1', removalDecision(c.version));
    const [item] = await listEvidence(env.ctx, { caseId: c.id });
    expect(item!.expiresAt).toBe(Date.UTC(2026, 0, 1, 9));
    const raw = await db.get<{ ciphertext: Uint8Array }>('SELECT ciphertext FROM case_evidence WHERE id = ?', [item!.id]);
    expect(Buffer.from(raw!.ciphertext).includes(Buffer.from('attack footage'))).toBe(false);
    const opened = await readEvidence(env.ctx, item!.id, 'legal1');
    expect(Buffer.from(opened.material.files[0]!.bytes, 'base64url').toString()).toBe('attack footage');

    clock.time = Date.UTC(2026, 0, 1, 9) - 1;
    expect((await env.cases.sweep()).purged).toEqual([]);
    clock.time = Date.UTC(2026, 0, 1, 9);
    expect((await env.cases.sweep()).purged).toEqual([item!.id]);
    const after = await db.get<{ ciphertext: Uint8Array | null; nonce: Uint8Array | null; purged_at: number }>('SELECT ciphertext, nonce, purged_at FROM case_evidence WHERE id = ?', [item!.id]);
    expect([after!.ciphertext, after!.nonce, Number(after!.purged_at)]).toEqual([null, null, clock.time]);
    await expect(readEvidence(env.ctx, item!.id, 'legal1')).rejects.toThrow(/purged/);
  });

  it('applies a decision again after the content store failed', async () => {
    const { caseId } = await submitNotice(env.ctx, notice(shelf.url('p1')), null);
    const c = await claimCase(env.ctx, caseId, 'mod1');
    shelf.failNext = true;
    const { decision } = await decide(env.ctx, caseId, 'mod1', removalDecision(c.version));
    expect(decision.appliedAt).toBeNull();
    expect(shelf.visible('p1')).toBe(true);
    expect(await applyPending(env.ctx)).toBe(1);
    expect(shelf.visible('p1')).toBe(false);
  });
});
