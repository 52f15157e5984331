/**
 * Notice and action on a real server (SQLite and PostgreSQL) with real channels posts, real images and a
 * fake clock: notices and trusted flaggers into one queue; a removal order handled inside its hour and
 * one that is not (flagged overdue, counted in the report); a franked report showing only the reported
 * message; an upload blocked by the machine, told why, appealed, reinstated, its signal disputed, a
 * re-upload then held for a person; a crisis incident holding uploads near its hashes; evidence kept for
 * the legal role only; statements exported in valid batches; reports over HTTP.
 */
import { signAuthorityRequest, validateStatement, type SignedAuthorityRequest } from '@doublelock/cases';
import { BankStore, hashImage, PdqHash } from '@doublelock/moderation';
import type { MailboxItem } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { call, frankedReport, groupOf, sendFranked, serverCases, TestAccount, type TestDevice, devicesOf } from './harness.ts';
import { picture } from './media.ts';

type Json = Record<string, unknown>;
const T0 = Date.UTC(2025, 6, 1, 9);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

async function upload(device: TestDevice, handle: string, bytes: Uint8Array) {
  const r = await fetch(`${device.url}/v1/channels/${handle}/media`, { method: 'POST', headers: { authorization: `Bearer ${device.token}`, 'content-type': 'application/octet-stream' }, body: bytes as unknown as BodyInit });
  return (await r.json()) as { id: number };
}

/** A PDQ hash `bits` bits away from `hex` (the first `bits` bits flipped). */
function flipped(hex: string, bits: number): string {
  const b = Buffer.from(hex, 'hex');
  for (let i = 0; i < bits; i++) b[i >> 3]! ^= 1 << (i & 7);
  return b.toString('hex');
}

const decision = (version: number, extra: Json = {}) => ({
  version,
  actions: [{ type: 'remove' }],
  ground: { kind: 'illegal', law: 'Regulation (EU) 2021/784 Art. 2(7)(a)', explanation: 'It incites terrorist offences.' },
  category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
  keywords: ['KEYWORD_TERRORIST_CONTENT'],
  facts: 'The post calls for attacks like the one on 1 July.',
  ...extra,
});

describe.each(serverCases())('notice and action on $name', ({ start }) => {
  let server: RunningServer;
  let time = T0;
  const authorityKey = ed25519.utils.randomSecretKey();
  let alice: TestDevice, bob: TestDevice, mod1: TestDevice, mod2: TestDevice, admin: TestDevice, ngo: TestDevice, lawyer: TestDevice;
  const postUrl = (id: number) => `${server.url}/v1/posts/${id}`;

  async function post(text: string, media: number[] = []) {
    const r = await alice.call<{ id: number; postId?: number; details?: { postId: number } }>('POST', '/v1/channels/alice-news/posts', { text, media });
    return { status: r.status, id: (r.body.id ?? r.body.details?.postId)! };
  }
  const signed = (type: 'removal_order' | 'order_status' | 'preservation_extension', body: unknown, at = time): SignedAuthorityRequest => signAuthorityRequest('de-bka', authorityKey, { type, provider: 'social.test', body }, at);
  const order = (reference: string, urls: string[]) => ({ reference, memberState: 'DE', issuingAuthority: 'Bundeskriminalamt', content: urls.map((url) => ({ url })), grounds: ['incitement'], reasons: 'Calls for attacks.', feedbackContact: 'tco@bka.example', redress: 'VG Wiesbaden' });
  const sweep = () => server.ctx.cases.sweep();

  beforeAll(async () => {
    server = await start({ sessionTtlMs: 400 * 24 * HOUR, casesProvider: 'social.test', casesSweepMs: 24 * HOUR, moderationWorkMs: 200, bankRefreshMs: 60 * 60_000 }, { now: () => time });
    [alice, bob, mod1, mod2, admin, ngo, lawyer] = await devicesOf(server, ['alice', 'bob', 'mod1', 'mod2', 'admin', 'ngo', 'lawyer'] as const);
    // The first administrator is made by the operator on the store (doublelock moderation role grant).
    await server.ctx.cases.roles.grant('admin', 'admin', 'operator', time);
    for (const [username, role, organisation] of [['mod1', 'moderator'], ['mod2', 'moderator'], ['ngo', 'trusted_flagger', 'Counter Extremism NGO'], ['lawyer', 'legal']] as const) {
      expect((await admin.call('POST', '/v1/moderation/roles', { username, role, organisation: organisation ?? '' })).status).toBe(201);
    }
    const reg = await admin.call('POST', '/v1/moderation/authorities', { id: 'de-bka', name: 'Bundeskriminalamt', memberState: 'DE', publicKey: Buffer.from(ed25519.getPublicKey(authorityKey)).toString('base64url'), contact: 'tco@bka.example' });
    expect(reg.status).toBe(201);
    expect((await alice.call('POST', '/v1/channels', { handle: 'alice-news', name: 'Alice News', description: 'daily' })).status).toBe(201);
  });
  afterAll(async () => server?.close());

  it('takes notices from anyone and trusted flaggers’ first, and lets the notifier follow theirs', async () => {
    const p1 = await post('one post about the attack');
    const p2 = await post('another post about the attack');
    const bad = await call(server.url, 'POST', '/v1/notices', { url: postUrl(p1.id), explanation: 'glorifies it', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', anonymous: true, bonaFide: true });
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed', message: expect.stringMatching(/Art\. 16\(2\)\(c\)/) } });
    expect((await call(server.url, 'POST', '/v1/notices', { url: 'https://elsewhere.example/v1/posts/1', explanation: 'x', category: 'STATEMENT_CATEGORY_VIOLENCE', name: 'Bo', email: 'bo@example.org', bonaFide: true })).status).toBe(404);
    const notice = await call<{ caseId: number; receiptToken: string }>(server.url, 'POST', '/v1/notices', { url: postUrl(p1.id), explanation: 'It glorifies the attack.', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', name: 'Bob Notifier', email: 'bob@example.org', bonaFide: true });
    expect(notice.status).toBe(201);
    time += MINUTE;
    const flag = await ngo.call<{ caseId: number }>('POST', '/v1/moderation/flags', { url: postUrl(p2.id), explanation: 'Branded propaganda.', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', bonaFide: true });
    expect(flag.status).toBe(201);
    const queue = await mod1.call<{ cases: Array<{ id: number; source: string; countdown: string }> }>('GET', '/v1/moderation/cases');
    const ids = queue.body.cases.map((c) => c.id);
    expect(ids.indexOf(flag.body.caseId)).toBeLessThan(ids.indexOf(notice.body.caseId));
    expect(queue.body.cases.find((c) => c.id === flag.body.caseId)!.countdown).toBe('due in 4h 0m');
    // Moderators see the notice, not who sent it.
    const detail = await mod1.call<Json>('GET', `/v1/moderation/cases/${notice.body.caseId}`);
    expect(JSON.stringify(detail.body)).not.toMatch(/Bob Notifier|bob@example\.org/);
    const status = await call<{ notifications: Array<{ kind: string }> }>(server.url, 'POST', '/v1/notices/status', { receipt: notice.body.receiptToken });
    expect(status.body.notifications.map((n) => n.kind)).toEqual(['receipt']);
    expect((await call(server.url, 'POST', '/v1/notices/status', { receipt: notice.body.receiptToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) })).status).toBe(404);

    // Decided: the notifier hears the outcome and the redress; the statement never names them.
    const claimed = await mod1.call<{ version: number }>('POST', `/v1/moderation/cases/${notice.body.caseId}/claim`);
    const decided = await mod1.call<{ statement: Json }>('POST', `/v1/moderation/cases/${notice.body.caseId}/decision`, decision(claimed.body.version));
    expect(decided.status).toBe(200);
    expect(validateStatement(decided.body.statement).ok).toBe(true);
    expect(decided.body.statement).toMatchObject({ source_type: 'SOURCE_ARTICLE_16', decision_visibility: ['DECISION_VISIBILITY_CONTENT_REMOVED'] });
    expect(JSON.stringify(decided.body.statement)).not.toMatch(/Bob|bob@/);
    expect((await call(server.url, 'GET', `/v1/posts/${p1.id}`)).status).toBe(404);
    const after = await call<{ state: string; notifications: Array<{ kind: string; redress?: string }> }>(server.url, 'POST', '/v1/notices/status', { receipt: notice.body.receiptToken });
    expect(after.body.state).toBe('decided');
    expect(after.body.notifications[1]).toMatchObject({ kind: 'decision', redress: expect.stringMatching(/out-of-court/) });
    // A replay of the same decision changes nothing.
    expect((await mod1.call('POST', `/v1/moderation/cases/${notice.body.caseId}/decision`, decision(claimed.body.version))).status).toBe(409);
  });

  it('handles a removal order inside its hour, and flags one that is not — both counted in the report', async () => {
    const fast = await post('wanted: fighters');
    const slow = await post('more wanted: fighters');
    const r1 = await call<{ caseIds: number[]; dueAt: number; receivedAt: number }>(server.url, 'POST', '/v1/moderation/removal-orders', signed('removal_order', order('BKA-1', [postUrl(fast.id)])));
    expect(r1.status).toBe(201);
    expect(r1.body.dueAt - r1.body.receivedAt).toBe(HOUR);
    const r2 = await call<{ caseIds: number[] }>(server.url, 'POST', '/v1/moderation/removal-orders', signed('removal_order', order('BKA-2', [postUrl(slow.id)])));
    time += 10 * MINUTE;
    const c = await mod2.call<{ version: number }>('POST', `/v1/moderation/cases/${r1.body.caseIds[0]}/claim`);
    expect((await mod2.call('POST', `/v1/moderation/cases/${r1.body.caseIds[0]}/decision`, decision(c.body.version))).status).toBe(200);
    expect((await call(server.url, 'GET', `/v1/posts/${fast.id}`)).status).toBe(404);
    const feedback = await call<{ complete: boolean; withinOneHour: boolean; items: Array<{ outcome: string }> }>(server.url, 'POST', '/v1/moderation/removal-orders/status', signed('order_status', { reference: 'BKA-1' }));
    expect(feedback.body).toMatchObject({ complete: true, withinOneHour: true, items: [{ outcome: 'removed' }] });

    time += 51 * MINUTE; // 61 minutes after receipt
    const swept = await sweep();
    expect(swept.overdue).toContain(r2.body.caseIds[0]);
    const queue = await mod1.call<{ cases: Array<{ id: number; urgency: string; countdown: string }> }>('GET', '/v1/moderation/cases');
    expect(queue.body.cases[0]).toMatchObject({ id: r2.body.caseIds[0], urgency: 'overdue', countdown: 'OVERDUE by 1m' });
    const events = await mod1.call<{ events: Array<{ event: string; caseId: number }> }>('GET', '/v1/moderation/events');
    expect(events.body.events.filter((e) => e.event === 'overdue').map((e) => e.caseId)).toContain(r2.body.caseIds[0]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/doublelock_cases_overdue [1-9]/);

    const day = new Date(time).toISOString().slice(0, 10);
    const report = await admin.call<{ tco: Json }>('GET', `/v1/moderation/reports?from=${day}&to=${day}`);
    expect(report.body.tco).toMatchObject({ orders: 2, ordersEffectedWithinHour: 1, ordersEffectedLate: 0, ordersOverdueOpen: 1 });
    const svg = await fetch(`${server.url}/v1/moderation/reports?from=${day}&to=${day}&format=svg`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect([svg.status, svg.headers.get('content-type'), (await svg.text()).startsWith('<svg')]).toEqual([200, 'image/svg+xml', true]);
    const csv = await fetch(`${server.url}/v1/moderation/reports?from=${day}&to=${day}&format=dsa.csv&part=3`, { headers: { authorization: `Bearer ${admin.token}` } });
    const lines = (await csv.text()).split('\r\n');
    expect(lines[0]!.startsWith('Applicability,Service,Reporting period,Category of illegal content,')).toBe(true);
    expect(lines.find((l) => l.includes('Risk for public security') && l.includes(',Total,'))).toMatch(/,Total,2,2,0,/);
  });

  it('routes a franked report into the queue showing only the reported message', async () => {
    const carol = await (await new TestAccount(server, 'carol').register()).login();
    const groupId = await groupOf([carol, bob]);
    await sendFranked(carol, groupId, 'an earlier, private message');
    const sent = await sendFranked(carol, groupId, 'I will bring the weapons on Friday');
    const item = (await bob.mailbox()).find((m: MailboxItem) => m.clientMessageId === sent.clientMessageId)!;
    const r = await bob.call<{ reportId: number }>('POST', '/v1/reports', frankedReport(groupId, item, sent.payload, sent.frankingKey));
    expect(r.status).toBe(200);
    const queue = await mod1.call<{ cases: Array<{ id: number; source: string; url: string }> }>('GET', '/v1/moderation/cases?source=franked_report');
    const kase = queue.body.cases.find((c) => c.url === `report:${r.body.reportId}`)!;
    const detail = await mod1.call<{ content: { text: string; owner: string } }>('GET', `/v1/moderation/cases/${kase.id}`);
    expect(detail.body.content).toMatchObject({ text: 'I will bring the weapons on Friday', owner: 'carol' });
    expect(JSON.stringify(detail.body)).not.toMatch(/earlier, private message|bob|deviceId/);
    // A message can only lead to an account restriction.
    const c = await mod1.call<{ version: number }>('POST', `/v1/moderation/cases/${kase.id}/claim`);
    expect((await mod1.call('POST', `/v1/moderation/cases/${kase.id}/decision`, decision(c.body.version))).body).toMatchObject({ code: 'validation_failed' });
  });

  it('tells an uploader the machine blocked their upload, reinstates it on appeal, disputes the signal, then holds a re-upload for a person', async () => {
    const banks = new BankStore(server.db);
    await banks.createBank('gifct', 'known terrorist content', time);
    const image = await picture(21);
    const signals = await hashImage(image);
    await banks.addSignal('gifct', { type: 'pdq', value: signals.pdq.original, labels: ['tvec:branded_content'], addedAt: time });
    await server.ctx.moderation.banks.refresh();
    const media = await upload(alice, 'alice-news', image);
    const blocked = await post('our flag', [media.id]);
    expect(blocked.status).toBe(422);
    await sweep();
    const mine = await alice.call<{ statements: Array<{ id: number; statement: Json }> }>('GET', '/v1/statements');
    const st = mine.body.statements[0]!;
    expect(st.statement).toMatchObject({ automated_detection: 'Yes', automated_decision: 'AUTOMATED_DECISION_FULLY', source_type: 'SOURCE_VOLUNTARY', content_type: ['CONTENT_TYPE_TEXT', 'CONTENT_TYPE_IMAGE'] });
    expect(validateStatement(st.statement).ok).toBe(true);
    expect((await bob.call('GET', `/v1/statements/${st.id}`)).status).toBe(404);
    expect((await bob.call('POST', `/v1/statements/${st.id}/appeal`, { grounds: 'not mine' })).status).toBe(404);

    const appeal = await alice.call<{ id: number }>('POST', `/v1/statements/${st.id}/appeal`, { grounds: 'This is our club flag, not a terrorist logo.' });
    expect(appeal.status).toBe(201);
    const claimed = await mod2.call<{ version: number }>('POST', `/v1/moderation/appeals/${appeal.body.id}/claim`);
    const decided = await mod2.call('POST', `/v1/moderation/appeals/${appeal.body.id}/decision`, { version: claimed.body.version, outcome: 'reversed', reasons: 'A sports club flag that resembles the logo.' });
    expect(decided.status).toBe(200);
    expect((await call(server.url, 'GET', `/v1/posts/${blocked.id}`)).status).toBe(200);
    expect((await banks.getSignal('gifct', 'pdq', signals.pdq.original))!.labels).toContain('review:disputed');
    const told = await alice.call<{ notifications: Array<{ kind: string; reinstated?: boolean; outOfCourt?: string }> }>('GET', '/v1/notifications');
    expect(told.body.notifications.find((n) => n.kind === 'appeal_decision')).toMatchObject({ reinstated: true, outOfCourt: expect.stringMatching(/Article 21/) });

    // The disputed signal no longer blocks: the next upload is held for a person instead.
    const againMedia = await upload(alice, 'alice-news', image);
    const again = await post('our flag again', [againMedia.id]);
    expect(again.status).toBe(202);
    await sweep();
    const held = await mod1.call<{ cases: Array<{ id: number; url: string; source: string }> }>('GET', '/v1/moderation/cases?source=upload_hold');
    expect(held.body.cases.map((c) => c.url)).toContain(postUrl(again.id));

    // The held image is public to nobody, but a moderator sees it through its case, and only its own media.
    const heldCase = held.body.cases.find((c) => c.url === postUrl(again.id))!;
    expect((await call(server.url, 'GET', `/v1/media/${againMedia.id}`)).status).toBe(404);
    const file = await fetch(`${server.url}/v1/moderation/cases/${heldCase.id}/media/${againMedia.id}`, { headers: { authorization: `Bearer ${mod1.token}` } });
    expect([file.status, file.headers.get('content-type')]).toEqual([200, 'image/jpeg']);
    expect(Buffer.from(await file.arrayBuffer()).equals(image)).toBe(true);
    expect((await mod1.call('GET', `/v1/moderation/cases/${heldCase.id}/media/${media.id}`)).status).toBe(404);
  });

  it('holds uploads near an incident’s hashes at its wider radius while it is open, and writes a debrief', async () => {
    const image = await picture(33);
    const near = flipped((await hashImage(image)).pdq.original, 36); // beyond PDQ's 31, within the incident's 40
    const declared = await admin.call<{ id: number; bank: string }>('POST', '/v1/moderation/incidents', { name: 'Attack of 1 July', description: 'Livestream being spread', radius: 40 });
    expect(declared.status).toBe(201);
    expect((await admin.call('POST', `/v1/moderation/incidents/${declared.body.id}/signals`, { signals: [{ type: 'pdq', value: near }] })).body).toEqual({ added: 1 });
    expect(PdqHash.fromHex(near).distance(PdqHash.fromHex((await hashImage(image)).pdq.original))).toBe(36);
    const first = await post('look at this', [(await upload(alice, 'alice-news', image)).id]);
    expect(first.status).toBe(202);
    expect((await call(server.url, 'GET', `/v1/posts/${first.id}`)).status).toBe(404);
    await sweep();
    const crisis = await mod1.call<{ cases: Array<{ id: number; incidentId: number; priority: number }> }>('GET', '/v1/moderation/cases?source=crisis_hold');
    expect(crisis.body.cases).toMatchObject([{ incidentId: declared.body.id, priority: 1 }]);
    const c = await mod1.call<{ version: number }>('POST', `/v1/moderation/cases/${crisis.body.cases[0]!.id}/claim`);
    expect((await mod1.call('POST', `/v1/moderation/cases/${crisis.body.cases[0]!.id}/decision`, decision(c.body.version, { ground: { kind: 'incompatible', term: 'Terms §4', explanation: 'Footage of the attack.', alsoIllegal: true } }))).status).toBe(200);
    time += HOUR;
    const closed = await admin.call<{ debrief: Json }>('POST', `/v1/moderation/incidents/${declared.body.id}/close`, { summary: 'Contained within the hour.' });
    expect(closed.body.debrief).toMatchObject({ hashesAdded: 1, uploadsHeld: 1, confirmed: 1, released: 0, pending: 0 });
    // Closed: the same image is published again.
    await server.ctx.moderation.banks.refresh();
    expect((await post('after the incident', [(await upload(alice, 'alice-news', image)).id])).status).toBe(201);
  });

  it('preserves what a removal order removed for the legal role only, and exports valid statement batches', async () => {
    const p = await post('a manual for attacks');
    const r = await call<{ caseIds: number[] }>(server.url, 'POST', '/v1/moderation/removal-orders', signed('removal_order', order('BKA-9', [postUrl(p.id)])));
    const c = await mod1.call<{ version: number }>('POST', `/v1/moderation/cases/${r.body.caseIds[0]}/claim`);
    await mod1.call('POST', `/v1/moderation/cases/${r.body.caseIds[0]}/decision`, decision(c.body.version));
    expect((await mod1.call('GET', `/v1/moderation/evidence?caseId=${r.body.caseIds[0]}`)).status).toBe(403);
    const list = await lawyer.call<{ evidence: Array<{ id: number; expiresAt: number }> }>('GET', `/v1/moderation/evidence?caseId=${r.body.caseIds[0]}`);
    const opened = await lawyer.call<{ material: { files: Array<{ name: string; bytes: string }> } }>('GET', `/v1/moderation/evidence/${list.body.evidence[0]!.id}`);
    expect(JSON.parse(Buffer.from(opened.body.material.files[0]!.bytes, 'base64url').toString())).toMatchObject({ id: p.id, text: 'a manual for attacks' });
    const ext = await call<{ evidence: Array<{ expiresAt: number }> }>(server.url, 'POST', '/v1/moderation/preservation', signed('preservation_extension', { reference: 'BKA-9', months: 6, reasons: 'Criminal proceedings are open.' }));
    expect(ext.body.evidence[0]!.expiresAt).toBeGreaterThan(list.body.evidence[0]!.expiresAt);

    const exported = await admin.call<{ batches: Array<{ statements: Json[] }>; refused: unknown[] }>('GET', '/v1/moderation/statements/export?mark=true');
    expect(exported.body.refused).toEqual([]);
    const statements = exported.body.batches.flatMap((b) => b.statements);
    expect(statements.length).toBeGreaterThanOrEqual(4);
    for (const s of statements) expect(validateStatement(s).ok).toBe(true);
    expect(JSON.stringify(statements)).not.toMatch(/Bob Notifier|bob@example\.org/);
    expect((await admin.call<{ batches: unknown[] }>('GET', '/v1/moderation/statements/export')).body.batches).toEqual([]);
  });
});
