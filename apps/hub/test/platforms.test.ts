/**
 * Three Doublelock platforms and one hub on loopback, every byte real: platform A publishes a bank of
 * its own; B and C sync the hub's feed (verified against the hub's log) into their banks and block the
 * same image at upload; A's withdrawal unblocks it; moderators' opinions flow back; false-positive
 * feedback from two members marks a signal disputed and B then holds instead of blocking; B restarts
 * and an interrupted sync resumes with nothing lost or doubled; a revoked platform reads nothing more;
 * and a hub that rewrites its history is caught by its members.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookSignature } from '@doublelock/hub';
import { HubClient, HubIntegrityError, HubSync } from '@doublelock/hub/platform';
import { auditLog, AuditError, generateSignerKey, seenCheckpoint, TransparencyLog } from '@doublelock/log';
import { BankStore, hashImage, SignalOpinionStore, SweepStore } from '@doublelock/moderation';
import { openDb, serverSecret } from '@doublelock/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/app.ts';
import type { ServerConfig } from '../../server/src/config.ts';
import { startTestServer } from '../../server/src/testing.ts';
import { TestAccount, type TestDevice } from '../../server/test/harness.ts';
import { picture } from '../../server/test/media.ts';
import type { RunningHub } from '../src/app.ts';
import { startTestHub } from '../src/testing.ts';
import { until } from '@doublelock/store/testing';

type Post = { id: number; visibility?: string; code?: string };
const SYNC_MS = 250;

interface Platform {
  name: string;
  server: RunningServer;
  user: TestDevice;
  config: Partial<ServerConfig>;
}

describe('three platforms and a hub', () => {
  let hub: RunningHub;
  let hubDir: string;
  const keys: Record<string, string> = {};
  const platforms: Record<string, Platform> = {};
  let bDir: string;
  let image1: Buffer;
  let image2: Buffer;
  let pdq1: string;
  let pdq2: string;

  async function startPlatform(name: string, config: Partial<ServerConfig>, fresh = true): Promise<Platform> {
    const server = await startTestServer({ bankRefreshMs: 60_000, moderationWorkMs: 200, logLevel: 'error', ...config });
    const user = fresh ? await (await new TestAccount(server, `${name}-user`).register()).login() : await platforms[name]!.user.login();
    if (fresh) expect((await user.call('POST', '/v1/channels', { handle: `${name}-news`, name })).status).toBe(201);
    return (platforms[name] = { name, server, user, config });
  }

  /** Uploads the image and posts it: 201 published, 202 held, 422 blocked. */
  async function post(p: Platform, bytes: Buffer): Promise<{ status: number; body: Post }> {
    const r = await fetch(`${p.server.url}/v1/channels/${p.name}-news/media`, { method: 'POST', headers: { authorization: `Bearer ${p.user.token}`, 'content-type': 'image/jpeg' }, body: bytes as unknown as BodyInit });
    const media = (await r.json()) as { id: string };
    expect(r.status).toBe(201);
    return p.user.call<Post>('POST', `/v1/channels/${p.name}-news/posts`, { text: 'hello', media: [media.id] });
  }

  const link = (name: string, extra: Partial<NonNullable<ServerConfig['hub']>> = {}): Partial<ServerConfig> => ({ hub: { url: hub.url, key: keys[name]!, syncMs: SYNC_MS, bankPrefix: 'hub-', publish: [], ...extra } });

  beforeAll(async () => {
    hubDir = mkdtempSync(join(tmpdir(), 'doublelock-hub-'));
    hub = await startTestHub({ dataDir: hubDir });
    for (const name of ['a', 'b', 'c', 'dave']) keys[name] = (await hub.hub.members.add(`platform-${name}`, { scopes: ['submit', 'read'] })).key;
    image1 = await picture(101);
    image2 = await picture(102);
    pdq1 = (await hashImage(image1)).pdq.original;
    pdq2 = (await hashImage(image2)).pdq.original;
    bDir = mkdtempSync(join(tmpdir(), 'doublelock-b-'));
    await startPlatform('a', link('a', { publish: ['found'] }));
    // A's own bank of what its moderators found, published to the hub
    const banks = new BankStore(platforms.a!.server.db);
    await banks.createBank('found');
    await startPlatform('b', { ...link('b'), dataDir: bDir });
    await startPlatform('c', link('c'));
  });
  afterAll(async () => {
    for (const p of Object.values(platforms)) await p.server.close();
    await hub.close();
    rmSync(hubDir, { recursive: true, force: true });
    rmSync(bDir, { recursive: true, force: true });
  });

  it('blocks on B and C an image A submitted, within the sync interval', async () => {
    const earlier: Record<string, number> = {};
    for (const p of ['b', 'c']) {
      const r = await post(platforms[p]!, image1);
      expect(r.status).toBe(201);
      earlier[p] = r.body.id;
    }
    await new BankStore(platforms.a!.server.db).addSignal('found', { type: 'pdq', value: pdq1, labels: ['tvec:branded_content', 'basis:un_designated'] });
    for (const p of ['b', 'c']) {
      const r = await until(`${p} blocks`, () => post(platforms[p]!, image1), (r) => r.status === 422);
      expect(r.body.code).toBe('content_blocked');
    }
    const s = await hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq1 });
    expect(s).toMatchObject({ member: 'platform-a', labels: ['basis:un_designated', 'tvec:branded_content'] });
    const onB = await platforms.b!.server.ctx.moderation.banks.store.getSignal('hub-found', 'pdq', pdq1);
    expect(onB).toMatchObject({ source: 'hub:platform-a', labels: ['basis:un_designated', 'tvec:branded_content'], removedAt: null });
    // the retro-sweep ran on what arrived: B's earlier post of the same image is taken down
    const sweeps = await new SweepStore(platforms.b!.server.db).list();
    expect(sweeps.some((s) => s.bank === 'hub-found' && s.signalIds?.includes(onB!.id))).toBe(true);
    for (const p of ['b', 'c']) await until(`${p} swept its earlier post`, async () => (await fetch(`${platforms[p]!.server.url}/v1/posts/${earlier[p]}`)).status, (s) => s === 404);
  });

  it('unblocks when A withdraws it', async () => {
    expect(await new BankStore(platforms.a!.server.db).removeSignal('found', 'pdq', pdq1)).toBe(true);
    for (const p of ['b', 'c']) await until(`${p} publishes again`, () => post(platforms[p]!, image1), (r) => r.status === 201);
    expect((await hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq1 }))!.withdrawnAt).not.toBeNull();
  });

  it("sends moderators' decisions back, and holds on B once two members call a signal a false positive", async () => {
    await new BankStore(platforms.a!.server.db).addSignal('found', { type: 'pdq', value: pdq2, labels: ['tvec:glorification'] });
    await until('B blocks image 2', () => post(platforms.b!, image2), (r) => r.status === 422);
    await until('C has image 2', () => platforms.c!.server.ctx.moderation.banks.store.getSignal('hub-found', 'pdq', pdq2), (s) => !!s);
    // B's moderator confirms the match (packages/cases records it so): a positive opinion at the hub
    const onB = (await platforms.b!.server.ctx.moderation.banks.store.getSignal('hub-found', 'pdq', pdq2))!;
    await new SignalOpinionStore(platforms.b!.server.db).record({ signalId: onB.id, bank: 'hub-found', opinion: 'positive', reason: 'decision_confirmed', reference: 'case:1', at: Date.now() });
    await until('B opinion at the hub', () => hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq2 }), (s) => !!s?.opinions.some((o) => o.member === 'platform-b' && o.opinion === 'positive'));
    // C reverses a decision on appeal (a negative opinion), and Dave reports a false positive
    const onC = (await platforms.c!.server.ctx.moderation.banks.store.getSignal('hub-found', 'pdq', pdq2))!;
    await new SignalOpinionStore(platforms.c!.server.db).record({ signalId: onC.id, bank: 'hub-found', opinion: 'negative', reason: 'appeal_reversed', reference: 'appeal:1', at: Date.now() });
    await until('C opinion at the hub', () => hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq2 }), (s) => !!s?.opinions.some((o) => o.member === 'platform-c' && o.feedback === 'false_positive'));
    expect((await hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq2 }))!.disputed).toBe(false);
    expect((await post(platforms.b!, image2)).status).toBe(422);
    await new HubClient(hub.url, keys.dave!).opinion({ bank: 'found', type: 'pdq', value: pdq2 }, { feedback: 'false_positive' });
    expect((await hub.hub.signal({ bank: 'found', type: 'pdq', value: pdq2 }))!.disputed).toBe(true);
    const held = await until('B holds image 2', () => post(platforms.b!, image2), (r) => r.status !== 422);
    expect(held).toMatchObject({ status: 202, body: { visibility: 'held' } });
  });

  it('resumes B after a restart: what arrived meanwhile is applied once, nothing lost', async () => {
    const before = (await platforms.b!.server.db.get<{ cursor: number }>('SELECT cursor FROM hub_sync'))!.cursor;
    await platforms.b!.server.close();
    // while B is down: 30 new signals, 10 of them withdrawn again
    const a = new HubClient(hub.url, keys.a!);
    const md5s = Array.from({ length: 30 }, (_, i) => (0xabc000 + i).toString(16).padStart(32, '0'));
    await a.submit(md5s.map((value) => ({ bank: 'bulk', type: 'md5', value, labels: ['tvec:publication'] })));
    await a.withdraw(md5s.slice(0, 10).map((value) => ({ bank: 'bulk', type: 'md5' as const, value })));
    const size = (await hub.hub.log.checkpoint()).size;
    expect(size).toBeGreaterThan(before);
    await startPlatform('b', { ...link('b'), dataDir: bDir, port: Number(new URL(platforms.b!.server.url).port) }, false);
    const b = platforms.b!.server;
    await until('B caught up', async () => Number((await b.db.get<{ cursor: number }>('SELECT cursor FROM hub_sync'))!.cursor), (c) => c === size);
    const live = await b.db.all<{ value: string }>("SELECT value FROM moderation_signals WHERE bank = 'hub-bulk' AND removed_at IS NULL ORDER BY value");
    expect(live.map((r) => r.value)).toEqual(md5s.slice(10));
    expect(Number((await b.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM moderation_signals WHERE bank = 'hub-bulk'"))!.n)).toBe(30);
    // each new signal queued for a retro-sweep exactly once
    const swept = (await new SweepStore(b.db).list(1000)).filter((s) => s.bank === 'hub-bulk').flatMap((s) => s.signalIds ?? []);
    expect(swept.length).toBe(new Set(swept).size);
    expect(swept.length).toBe(30);
  });

  it('resumes an interrupted sync exactly where its last committed page ended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'doublelock-sync-'));
    const db = await openDb({ dataDir: dir });
    try {
      const client = new HubClient(hub.url, keys.c!);
      let pages = 0;
      const flaky = new (class extends HubClient {
        override async feed(after: number, limit: number) {
          if (++pages === 4) throw new Error('network down');
          return super.feed(after, limit);
        }
      })(hub.url, keys.c!);
      await expect(new HubSync({ db, client: flaky, pageSize: 7 }).sync()).rejects.toThrow('network down');
      const cursor = Number((await db.get<{ cursor: number }>('SELECT cursor FROM hub_sync'))!.cursor);
      expect(cursor).toBe(21);
      const result = await new HubSync({ db, client, pageSize: 7 }).sync();
      expect(result.cursor).toBe((await hub.hub.log.checkpoint()).size);
      // the same set as the hub's, signal for signal
      for (const bank of ['found', 'bulk']) {
        const here = await db.all<{ signal_type: string; value: string; removed: number }>(`SELECT signal_type, value, CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END AS removed FROM moderation_signals WHERE bank = ? ORDER BY signal_type, value`, [`hub-${bank}`]);
        const there = await hub.db.all<{ signal_type: string; value: string; removed: number }>(`SELECT signal_type, value, CASE WHEN withdrawn_at IS NULL THEN 0 ELSE 1 END AS removed FROM hub_signals WHERE bank = ? ORDER BY signal_type, value`, [bank]);
        expect(here).toEqual(there);
      }
      const swept = (await new SweepStore(db).list(1000)).flatMap((s) => s.signalIds ?? []);
      expect(swept.length).toBe(new Set(swept).size);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops a revoked platform's reads, and no key writes as another member", async () => {
    const dave = new HubClient(hub.url, keys.dave!);
    await expect(dave.submit([{ bank: 'found', type: 'md5', value: 'f'.repeat(32), member: 'platform-a' }])).rejects.toMatchObject({ status: 403 });
    await expect(dave.withdraw([{ bank: 'found', type: 'pdq', value: pdq2 }])).rejects.toMatchObject({ status: 403 });
    expect(await hub.hub.members.revoke('platform-dave')).toBe(true);
    await expect(dave.feed(0, 10)).rejects.toMatchObject({ status: 401 });
    await expect(dave.submit([{ bank: 'found', type: 'md5', value: 'e'.repeat(32) }])).rejects.toMatchObject({ status: 401 });
  });

  it("syncs at once when the hub alerts an incident and the signals shared under it, not at the next interval; a forged alert is refused", async () => {
    const joined = await hub.hub.members.add('platform-e', { scopes: ['read'] });
    keys.e = joined.key;
    // E syncs once at start and then every hour: only the hub's alerts can bring it anything sooner
    const e = await startPlatform('e', link('e', { syncMs: 3_600_000, webhookSecret: joined.webhookSecret }));
    const cursor = async () => Number((await e.server.db.get<{ cursor: number }>('SELECT cursor FROM hub_sync'))?.cursor ?? -1);
    const head = (await hub.hub.log.checkpoint()).size;
    await until('E synced at start', cursor, (c) => c === head);
    const alerts = `${e.server.url}/v1/hub/alerts`;
    expect(await hub.hub.members.setWebhook('platform-e', alerts)).toBe(true);

    // forged, tampered and malformed alerts: refused, and no sync follows
    const body = JSON.stringify({ type: 'incident.declared', member: 'platform-e', incident: { id: 9, name: 'fake', label: 'incident:cip' } });
    const send = (text: string, signature: string | undefined) => fetch(alerts, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature && { 'x-hub-signature-256': signature }) }, body: text });
    expect((await send(body, undefined)).status).toBe(401);
    expect((await send(body, webhookSignature('0'.repeat(64), body))).status).toBe(401);
    expect((await send(body.replace('fake', 'faker'), webhookSignature(joined.webhookSecret, body))).status).toBe(401);
    const notAlert = JSON.stringify({ type: 'signals.deleted', member: 'x' });
    expect(await (await send(notAlert, webhookSignature(joined.webhookSecret, notAlert))).json()).toMatchObject({ code: 'validation_failed' });
    expect((await send('{', webhookSignature(joined.webhookSecret, '{'))).status).toBe(400);

    // the operator declares an incident: E is alerted and syncs the incident entry at once
    const { incident, alerts: sent } = await hub.hub.declareIncident('operator', 'Livestreamed attack');
    expect(sent.find((a) => a.member === 'platform-e')).toMatchObject({ status: 202 });
    await until('E synced the declaration', cursor, (c) => c === incident.logIndex + 1, 10_000);
    // A shares the attacker's video frames under the incident: E is alerted again and has them in seconds
    const frames = Array.from({ length: 3 }, (_, i) => (0xcafe00 + i).toString(16).padStart(32, '0'));
    await new HubClient(hub.url, keys.a!).submit(frames.map((value) => ({ bank: 'incident', type: 'md5', value, labels: ['tvec:glorification'], incident: incident.id })));
    const onE = await until('E has the incident signals', () => e.server.db.all<{ value: string; labels: string }>("SELECT value, labels FROM moderation_signals WHERE bank = 'hub-incident' AND removed_at IS NULL ORDER BY value"), (rows) => rows.length === 3, 10_000);
    expect(onE.map((r) => r.value)).toEqual(frames);
    expect(onE[0]!.labels.split(' ')).toEqual(expect.arrayContaining(['incident:cip', 'basis:incident']));
    await hub.hub.members.setWebhook('platform-e', undefined);
  });

  it('catches a hub that rewrites its history', async () => {
    const client = new HubClient(hub.url, keys.c!);
    const logKey = hub.hub.logKey;
    const audited = await auditLog(client.log, { logKey });
    const seen = seenCheckpoint(audited.checkpoint);
    await until('B is at the head', async () => Number((await platforms.b!.server.db.get<{ checkpoint_size: number }>('SELECT checkpoint_size FROM hub_sync'))!.checkpoint_size), (n) => n === audited.checkpoint.size);
    // 1. the operator edits a logged entry in place: the entries no longer hash to the signed root
    const original = await hub.db.get<{ data: Uint8Array }>('SELECT data FROM log_leaves WHERE idx = 5');
    await hub.db.run('UPDATE log_leaves SET data = ? WHERE idx = 5', [new TextEncoder().encode(new TextDecoder().decode(original!.data).replace('platform-', 'platform-x'))]);
    await expect(auditLog(client.log, { logKey, seen })).rejects.toThrow(AuditError);
    await hub.db.run('UPDATE log_leaves SET data = ? WHERE idx = 5', [original!.data]);
    // 2. the operator rebuilds the whole log without A's withdrawal of image 1, and signs it anew
    const entries = await hub.hub.log.entries(0, audited.checkpoint.size);
    const rewritten = entries.filter((e) => !new TextDecoder().decode(e).startsWith('{"op":"withdraw"') || !new TextDecoder().decode(e).includes(pdq1));
    expect(rewritten.length).toBe(entries.length - 1);
    await hub.close();
    const db = await openDb({ dataDir: hubDir });
    for (const t of ['log_leaves', 'log_nodes', 'log_state', 'log_checkpoints']) await db.run(`DELETE FROM ${t}`);
    const signerKey = new TextDecoder().decode(await serverSecret(db, 'hub-log-signer-key:hub.doublelock.localhost/log', () => new TextEncoder().encode(generateSignerKey('x'))));
    const forged = await TransparencyLog.open(db, { signerKey });
    await forged.append([...rewritten, new TextEncoder().encode('{"op":"member","at":1,"by":"operator","member":"platform-z","active":true}')]);
    await forged.checkpoint();
    await db.close();
    hub = await startTestHub({ dataDir: hubDir, port: Number(new URL(hub.url).port) });
    // a member's audit against the checkpoint it saw catches it
    await expect(auditLog(client.log, { logKey, seen })).rejects.toThrow(/not consistent|SPLIT VIEW|shrank/);
    // and so does B's sync, which stops and says why
    await until('B stops', async () => platforms.b!.server.ctx.hub!.lastError ?? '', (e) => /history was rewritten/.test(e));
    expect((await platforms.b!.server.ctx.hub!.sync.state())!.status).toBe('compromised');
    await expect(platforms.b!.server.ctx.hub!.sync.sync()).rejects.toThrow(HubIntegrityError);
  });
});
