/**
 * The hub on its own, over real HTTP: every request authenticated, scopes, provenance (no member
 * submits, relabels or withdraws as another), revocation, per-member rate limits, bad input refused
 * with clear 4xx, the feed as a verified log, opinions and the disputed aggregate, incidents with
 * signed webhooks, import and export (ThreatExchange/HMA CSV and JSON, TAT fields), the transparency
 * report, and the projection rebuilt from the log after a crash.
 */
import { createServer, type Server } from 'node:http';
import { decodeEntry, Hub, webhookSignature } from '@doublelock/hub';
import { openCheckpoint, RootBuilder, verifyConsistency, fromBase64 } from '@doublelock/log/verifier';
import { PdqHash } from '@doublelock/moderation';
import { HubClient, parseFeedNdjson } from '@doublelock/hub/platform';
import { fromBase64Url, HUB_FEED_NDJSON, type HubFeedResponse } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/app.ts';
import { startTestHub } from '../src/testing.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(url: string, key: string | undefined, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Json; text: string }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = contentType;
  const r = await fetch(url + path, { method, headers, ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await r.text();
  let parsed: Json = {};
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    /* text body */
  }
  return { status: r.status, body: parsed, text };
}

/** A random PDQ hash (hex) that stays far from the others. */
function pdq(seed: number): string {
  const bytes = new Uint8Array(32);
  let s = seed * 2654435761 + 7;
  for (let i = 0; i < 32; i++) bytes[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return PdqHash.fromBytes(bytes).toHex();
}

describe('the hash-sharing hub', () => {
  let hub: RunningHub;
  const keys: Record<string, string> = {};
  let webhookServer: Server;
  const alerts: Array<{ body: string; signature: string }> = [];
  const secrets: Record<string, string> = {};
  const as = (who: string, method: string, path: string, body?: unknown, contentType?: string) => call(hub.url, keys[who], method, path, body, contentType);

  beforeAll(async () => {
    webhookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        alerts.push({ body, signature: String(req.headers['x-hub-signature-256']) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhookServer.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(webhookServer.address() as { port: number }).port}/hook`;
    hub = await startTestHub({ rateLimit: 10_000 });
    for (const [name, scopes, extra] of [
      ['alpha', ['submit', 'read'], { webhookUrl: hookUrl }],
      ['bravo', ['submit', 'read'], {}],
      ['charlie', ['read'], {}],
      ['delta', ['submit', 'read'], { rateLimit: 3 }],
      ['operator', ['admin'], {}],
    ] as const) {
      const added = await hub.hub.members.add(name, { scopes, ...extra });
      keys[name] = added.key;
      secrets[name] = added.webhookSecret;
    }
  });
  afterAll(async () => {
    await hub.close();
    webhookServer.close();
  });

  it('authenticates every request: no key, an unknown key, a wrong scope', async () => {
    for (const path of ['/v1/hub', '/v1/feed', '/v1/log/checkpoint', '/v1/transparency', '/v1/export', '/nowhere']) {
      const r = await call(hub.url, undefined, 'GET', path);
      expect({ path, status: r.status, code: r.body.code }).toEqual({ path, status: 401, code: 'unauthenticated' });
      expect((await call(hub.url, 'dlhub_forged', 'GET', path)).status).toBe(401);
    }
    expect((await call(hub.url, undefined, 'POST', '/v1/signals', { signals: [] })).status).toBe(401);
    const readOnly = await as('charlie', 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value: pdq(1), labels: [] }] });
    expect(readOnly).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect((await as('alpha', 'POST', '/v1/incidents', { name: 'not mine to declare' })).status).toBe(403);
    const me = await as('alpha', 'GET', '/v1/hub');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ member: 'alpha', scopes: ['read', 'submit'] });
    expect(me.body.logKey).toMatch(/^hub\.doublelock\.localhost\/log\+[0-9a-f]{8}\+/);
  });

  it('refuses bad input with clear 4xx errors, and writes nothing', async () => {
    const size = (await as('alpha', 'GET', '/v1/hub')).body.size;
    const bad = async (body: unknown, status: number, message: RegExp) => {
      const r = await as('alpha', 'POST', '/v1/signals', body);
      expect({ status: r.status, message: r.body.message }).toMatchObject({ status, message: expect.stringMatching(message) });
      expect(['validation_failed', 'invalid_json', 'payload_too_large']).toContain(r.body.code);
    };
    await bad({ signals: [{ bank: 'tvec', type: 'pdq', value: pdq(2) }, { bank: 'tvec', type: 'pdq', value: 'abc123' }] }, 400, /signals\[1\]\.value: not a valid pdq signal/);
    await bad({ signals: [{ bank: 'tvec', type: 'md5', value: 'z'.repeat(32) }] }, 400, /signals\[0\]\.value/);
    await bad({ signals: [{ bank: 'tvec', type: 'pdq', value: pdq(3), labels: ['tvec:glorification', 'tvec:propaganda'] }] }, 400, /unknown label "tvec:propaganda"/);
    await bad({ signals: [{ bank: 'tvec', type: 'pdq', value: pdq(3), labels: ['review:disputed'] }] }, 400, /set by the hub/);
    await bad({ signals: [{ bank: 'tvec', type: 'tmk', value: pdq(3) }] }, 400, /type/);
    await bad({ signals: [{ bank: '../etc', type: 'pdq', value: pdq(3) }] }, 400, /bank name/);
    await bad({ signals: Array.from({ length: 10_001 }, (_, i) => ({ bank: 'tvec', type: 'md5', value: i.toString(16).padStart(32, '0') })) }, 400, /at most 10000 signals per request/);
    await bad('{"signals": [', 400, /JSON/);
    await bad({ signals: [{ bank: 'tvec', type: 'pdq', value: pdq(3), incident: 99 }] }, 400, /no open incident 99/);
    expect((await as('alpha', 'GET', '/v1/feed?after=999999')).status).toBe(400);
    expect((await as('alpha', 'GET', '/v1/feed?limit=100000')).status).toBe(400);
    expect((await as('alpha', 'POST', '/v1/opinions', { bank: 'tvec', type: 'pdq', value: pdq(2) })).status).toBe(400);
    expect((await as('alpha', 'GET', '/v1/hub')).body.size).toBe(size);
  });

  it('takes provenance from the key: no member submits, relabels or withdraws as another', async () => {
    const value = pdq(10);
    const asOther = await as('alpha', 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value, labels: ['tvec:glorification'], member: 'bravo' }] });
    expect(asOther).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    const mine = await as('alpha', 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value, labels: ['tvec:glorification'], member: 'alpha' }] });
    expect(mine.status).toBe(200);
    expect(mine.body.results[0].status).toBe('added');
    const ref = { bank: 'tvec', type: 'pdq', value };
    expect((await as('bravo', 'POST', '/v1/signals/withdraw', { signals: [ref] })).status).toBe(403);
    expect((await as('bravo', 'POST', '/v1/signals/labels', { ...ref, labels: [] })).status).toBe(403);
    // bravo submitting the same hash endorses it; it does not take it over
    const endorse = await as('bravo', 'POST', '/v1/signals', { signals: [{ ...ref, labels: ['tvec:publication'] }] });
    expect(endorse.body.results[0].status).toBe('recorded');
    const s = await as('charlie', 'GET', `/v1/signals?bank=tvec&type=pdq&value=${value}`);
    expect(s.body).toMatchObject({ member: 'alpha', labels: ['tvec:glorification'], opinions: [{ member: 'bravo', opinion: 'positive', feedback: 'true_positive' }] });
    // the operator may withdraw anything
    expect((await as('operator', 'POST', '/v1/signals/labels', { ...ref, labels: ['tvec:branded_content'] })).body.results[0].status).toBe('updated');
  });

  it('stops a revoked key and a revoked member at once', async () => {
    const extra = await hub.hub.members.createKey('bravo', ['read']);
    expect((await call(hub.url, extra, 'GET', '/v1/feed')).status).toBe(200);
    const [key] = (await hub.hub.members.list()).find((m) => m.name === 'bravo')!.keys.slice(-1);
    expect(await hub.hub.members.revokeKey(key!.id)).toBe(true);
    expect((await call(hub.url, extra, 'GET', '/v1/feed')).status).toBe(401);
    expect((await as('bravo', 'GET', '/v1/feed')).status).toBe(200); // its other key still works
    const temp = await hub.hub.members.add('echo', { scopes: ['submit', 'read'] });
    expect((await call(hub.url, temp.key, 'GET', '/v1/feed')).status).toBe(200);
    expect(await hub.hub.members.revoke('echo')).toBe(true);
    expect((await call(hub.url, temp.key, 'GET', '/v1/feed')).status).toBe(401);
    expect((await call(hub.url, temp.key, 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value: pdq(11) }] })).status).toBe(401);
  });

  it('limits each member to its own rate', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await as('delta', 'GET', '/v1/hub')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await as('delta', 'GET', '/v1/feed');
    expect(limited.body.code).toBe('rate_limited');
    expect((await as('alpha', 'GET', '/v1/hub')).status).toBe(200);
  });

  it('serves the feed as its log: every page proved against a signed checkpoint', async () => {
    const logKey = (await as('charlie', 'GET', '/v1/hub')).body.logKey as string;
    const value = pdq(20);
    await as('alpha', 'POST', '/v1/signals', { signals: [{ bank: 'feed', type: 'pdq', value, labels: ['tvec:publication'] }, { bank: 'feed', type: 'url', value: 'Propaganda.example', labels: ['tvec:publication'] }] });
    await as('alpha', 'POST', '/v1/signals/labels', { bank: 'feed', type: 'pdq', value, labels: ['tvec:publication', 'basis:un_designated'] });
    expect((await as('alpha', 'POST', '/v1/signals/withdraw', { signals: [{ bank: 'feed', type: 'url', value: 'https://propaganda.example/x' }] })).status).toBe(404);
    expect((await as('alpha', 'POST', '/v1/signals/withdraw', { signals: [{ bank: 'feed', type: 'url', value: 'PROPAGANDA.example' }] })).body.results[0].status).toBe('withdrawn');
    const builder = new RootBuilder();
    const entries = [];
    for (let after = 0; ; ) {
      const page = (await as('charlie', 'GET', `/v1/feed?after=${after}&limit=3`)).body as HubFeedResponse;
      const cp = openCheckpoint(page.checkpoint, logKey);
      for (const e of page.entries) builder.addEntry(new TextEncoder().encode(e));
      if (builder.size < cp.size) verifyConsistency(builder.size, cp.size, page.proof.map(fromBase64Url), builder.root(), cp.rootHash);
      else expect(builder.root()).toEqual(cp.rootHash);
      entries.push(...page.entries.map((e) => decodeEntry(e)));
      after += page.entries.length;
      if (after >= page.size) break;
    }
    const mine = entries.filter((e) => 'bank' in e && e.bank === 'feed');
    expect(mine.map((e) => e.op)).toEqual(['signal', 'signal', 'signal', 'withdraw']);
    expect(mine[2]).toMatchObject({ op: 'signal', labels: ['basis:un_designated', 'tvec:publication'], member: 'alpha', by: 'alpha' });
    // a deletion carries no signal metadata (HMA's fetch_iter), only which signal it was
    expect(Object.keys(mine[3]!).sort()).toEqual(['at', 'bank', 'by', 'op', 'type', 'value']);
    expect(mine[3]).toMatchObject({ value: 'propaganda.example' });
    // a tampered page does not verify
    const page = (await as('charlie', 'GET', '/v1/feed?after=0&limit=2')).body as HubFeedResponse;
    const forged = new RootBuilder();
    forged.addEntry(new TextEncoder().encode(page.entries[0]!.replace('"tvec"', '"tvec2"')));
    forged.addEntry(new TextEncoder().encode(page.entries[1]!));
    const cp = openCheckpoint(page.checkpoint, logKey);
    expect(() => verifyConsistency(2, cp.size, page.proof.map(fromBase64Url), forged.root(), cp.rootHash)).toThrow();
    expect(fromBase64(Buffer.from(cp.rootHash).toString('base64'))).toEqual(cp.rootHash);
  });

  it('serves the same pages as NDJSON (the leaves unescaped), and a client refuses a malformed one', async () => {
    const json = (await as('charlie', 'GET', '/v1/feed?after=0&limit=5')).body as HubFeedResponse;
    const r = await fetch(`${hub.url}/v1/feed?after=0&limit=5`, { headers: { authorization: `Bearer ${keys.charlie}`, accept: HUB_FEED_NDJSON } });
    expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await r.text()).split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({ checkpoint: json.checkpoint, size: json.size, after: 0, proof: json.proof, count: json.entries.length });
    expect(lines.slice(1)).toEqual(json.entries);
    // the client's page: the very bytes of each leaf
    const page = await new HubClient(hub.url, keys.charlie!).feed(0, 5);
    expect(page.entries.map((e) => new TextDecoder().decode(e))).toEqual(json.entries);
    expect(page.proof).toEqual(json.proof);
    // no key, no feed, in either format
    expect((await fetch(`${hub.url}/v1/feed`, { headers: { accept: HUB_FEED_NDJSON } })).status).toBe(401);
    // a page whose lines do not add up, or whose header is not one, is refused with the reason
    const body = (text: string) => new TextEncoder().encode(text);
    const header = JSON.stringify({ checkpoint: json.checkpoint, size: json.size, after: 0, proof: json.proof, count: 2 });
    expect(parseFeedNdjson(body(`${header}\n${json.entries[0]}\n${json.entries[1]}`)).entries.length).toBe(2);
    expect(() => parseFeedNdjson(body(`${header}\n${json.entries[0]}`))).toThrow(/1 entries, its header announces 2/);
    expect(() => parseFeedNdjson(body(`${header}\n${json.entries[0]}\n${json.entries[1]}\n${json.entries[2]}`))).toThrow(/more than the 2 entries/);
    expect(() => parseFeedNdjson(body(`{"checkpoint":1}\n`))).toThrow(/malformed NDJSON page header/);
    expect(() => parseFeedNdjson(body('not json\n{}'))).toThrow(/header line is not JSON/);
  });
  it('marks a signal disputed when members disagree, and says so in the feed', async () => {
    const ref = { bank: 'tvec', type: 'pdq', value: pdq(30) };
    await as('alpha', 'POST', '/v1/signals', { signals: [{ ...ref, labels: ['tvec:graphic_violence'] }] });
    const one = await as('bravo', 'POST', '/v1/opinions', { ...ref, feedback: 'false_positive' });
    expect(one.status).toBe(200);
    expect((await as('charlie', 'GET', `/v1/signals?bank=tvec&type=pdq&value=${ref.value}`)).body.disputed).toBe(false);
    await as('charlie', 'POST', '/v1/opinions', { ...ref, opinion: 'negative', feedback: 'false_positive' });
    const s = await as('charlie', 'GET', `/v1/signals?bank=tvec&type=pdq&value=${ref.value}`);
    expect(s.body.disputed).toBe(true);
    const size = (await as('charlie', 'GET', '/v1/hub')).body.size as number;
    const tail = ((await as('charlie', 'GET', `/v1/feed?after=${size - 2}`)).body as HubFeedResponse).entries.map((e) => decodeEntry(e));
    expect(tail).toMatchObject([{ op: 'opinion', by: 'charlie', opinion: 'negative' }, { op: 'signal', by: 'hub', disputed: true, member: 'alpha' }]);
    expect((await as('bravo', 'POST', '/v1/opinions', { ...ref, opinion: 'investigation_seed' })).status).toBe(200);
    expect((await as('bravo', 'POST', '/v1/opinions', { bank: 'tvec', type: 'pdq', value: pdq(31), opinion: 'negative' })).status).toBe(404);
  });

  it('declares an incident: members alerted by signed webhook, its signals shared with its label', async () => {
    const r = await as('operator', 'POST', '/v1/incidents', { name: 'Attack livestream, Dec 2026', label: 'incident:cip' });
    expect(r.status).toBe(201);
    expect(r.body.alerts).toEqual([{ member: 'alpha', status: 200 }]);
    const alert = alerts.at(-1)!;
    expect(alert.signature).toBe(webhookSignature(secrets.alpha!, alert.body));
    expect(JSON.parse(alert.body)).toMatchObject({ type: 'incident.declared', member: 'alpha', incident: { id: r.body.incident.id, label: 'incident:cip' } });
    const value = pdq(40);
    await as('bravo', 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value, labels: ['tvec:attacker_manifesto'], incident: r.body.incident.id }] });
    expect((await as('alpha', 'GET', `/v1/signals?bank=tvec&type=pdq&value=${value}`)).body.labels).toEqual(['basis:incident', 'incident:cip', 'tvec:attacker_manifesto']);
    const closed = await as('operator', 'POST', `/v1/incidents/${r.body.incident.id}/close`);
    expect(closed.body.incident.closedAt).not.toBeNull();
    expect((await as('bravo', 'POST', '/v1/signals', { signals: [{ bank: 'tvec', type: 'pdq', value: pdq(41), incident: r.body.incident.id }] })).status).toBe(400);
  });

  it('imports and exports ThreatExchange/HMA CSV and JSON and TAT hash lists', async () => {
    const md5 = 'a'.repeat(32);
    const csv = `signal_type,signal_str,collab,category,tags\npdq,${pdq(50)},x,POSITIVE_CLASS,tvec:glorification\nHASH_MD5,${md5},x,,tvec:publication ideology_far_right\n`;
    const imported = await as('bravo', 'POST', '/v1/import?format=csv&bank=imported', csv, 'text/csv');
    expect(imported.body).toMatchObject({ added: 2 });
    const tat = [
      { hash_digest: 'b'.repeat(64), algorithm: 'SHA256', ideology: 'Islamist', file_type: 'video', deleted: false, created_on: '2026-01-01T00:00:00Z', updated_on: '2026-01-02T00:00:00Z' },
      { hash_digest: md5, algorithm: 'MD5', deleted: true },
    ];
    expect((await as('bravo', 'POST', '/v1/import?format=tat&bank=imported', tat)).body).toMatchObject({ added: 1, withdrawn: 1 });
    const badCsv = await as('bravo', 'POST', '/v1/import?format=csv&bank=imported', `signal_type,signal_str\npdq,nothex\n`, 'text/csv');
    expect(badCsv.status).toBe(400);
    expect(badCsv.body.message).toMatch(/line 2/);
    const json = await as('charlie', 'GET', '/v1/export?format=json&bank=imported');
    expect(json.body.signals.map((s: Json) => s.signal_type).sort()).toEqual(['pdq', 'sha256']);
    expect(json.body.signals.find((s: Json) => s.signal_type === 'pdq')).toMatchObject({ collab: 'bravo', tags: ['tvec:glorification'], category: 'POSITIVE_CLASS' });
    const exportedCsv = await as('charlie', 'GET', '/v1/export?format=csv&bank=imported&withdrawn=true');
    expect(exportedCsv.text.split('\n')[0]).toBe('signal_type,signal_str,collab,category,tags,added_at,removed_at,quality,action,severity');
    expect(exportedCsv.text).toContain(md5);
    const tatOut = (await as('charlie', 'GET', '/v1/export?format=tat&bank=imported&withdrawn=true')).body as unknown as Json[];
    expect(tatOut.find((r) => r.algorithm === 'SHA256')).toMatchObject({ hash_digest: 'b'.repeat(64), ideology: 'islamist', file_type: 'video', deleted: false });
    expect(tatOut.find((r) => r.algorithm === 'MD5')).toMatchObject({ deleted: true });
    for (const r of tatOut) expect(Object.keys(r)).toEqual(expect.arrayContaining(['hash_digest', 'algorithm', 'ideology', 'file_type', 'deleted', 'created_on', 'updated_on']));
  });

  it('publishes its transparency report, computed from its tables', async () => {
    const r = (await as('charlie', 'GET', '/v1/transparency')).body;
    expect(r.members).toEqual({ active: 5, revoked: 1 });
    expect(r.signals.disputed).toBe(1);
    expect(r.signals.byType.pdq).toBeGreaterThanOrEqual(4);
    expect(r.signals.byLabel['incident:cip']).toBe(1);
    expect(r.feedback.false_positive).toBe(2);
    expect(r.incidents).toEqual({ declared: 1, open: 0 });
  });

  it('rebuilds its tables from its log after a crash between the two', async () => {
    const before = await hub.db.all('SELECT bank, signal_type, value, labels, member, withdrawn_at, disputed, log_index FROM hub_signals ORDER BY id');
    await hub.db.run('DELETE FROM hub_signals');
    await hub.db.run('DELETE FROM hub_opinions');
    await hub.db.run('DELETE FROM hub_incidents');
    await hub.db.run("UPDATE hub_state SET value = 0 WHERE name = 'applied'");
    const reopened = await Hub.open(hub.db);
    const after = await reopened.db.all('SELECT bank, signal_type, value, labels, member, withdrawn_at, disputed, log_index FROM hub_signals ORDER BY log_index');
    const key = (r: Json) => `${r.bank} ${r.signal_type} ${r.value}`;
    expect(new Map(after.map((r) => [key(r), r]))).toEqual(new Map(before.map((r) => [key(r), r])));
    expect((await reopened.incidents()).length).toBe(1);
  });
});
