/**
 * The standalone matcher takes the hub's alerts: a real `doublelock matcher serve` process synced from a
 * real hub every hour, so only an alert can bring it anything sooner. A genuine alert (the hub's own, on
 * an incident, or one signed with the member's webhook secret) reloads the banks in seconds; an unsigned,
 * wrongly signed, tampered, stale, malformed or replayed alert is refused and starts no sync.
 */
import { HubClient } from '@doublelock/hub/platform';
import { webhookSignature } from '@doublelock/hub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../hub/src/app.ts';
import { startTestHub } from '../../hub/src/testing.ts';
import { until } from '@doublelock/store/testing';
import { HMA_API_KEY as API_KEY, serveHubMatcher } from './process.ts';

const randomPdq = (seed: number) => Array.from({ length: 8 }, (_, i) => ((seed * 2654435761 + i * 40503) >>> 0).toString(16).padStart(8, '0')).join('');

describe('the standalone matcher and the hub’s alerts', () => {
  let hub: RunningHub;
  let matcher: { url: string; stop(): Promise<void> };
  let url: string;
  let secret: string;
  let submitter: HubClient;

  const lookup = async (pdq: string): Promise<string[]> => (await (await fetch(`${url}/m/lookup?signal_type=pdq&signal=${pdq}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as string[];
  const post = (body: string, signature: string | undefined) =>
    fetch(`${url}/v1/hub/alerts`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature && { 'x-hub-signature-256': signature }) }, body });
  const alert = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ type: 'incident.declared', member: 'forum', incident: { id: 1, name: 'Livestreamed attack', label: 'incident:cip' }, delivery: crypto.randomUUID().replaceAll('-', ''), sent_at: Date.now(), ...extra });

  beforeAll(async () => {
    hub = await startTestHub();
    const forum = await hub.hub.members.add('forum', { scopes: ['read'] });
    secret = forum.webhookSecret;
    submitter = new HubClient(hub.url, (await hub.hub.members.add('big-platform', { scopes: ['submit', 'read'] })).key);
    matcher = await serveHubMatcher({ hubUrl: hub.url, hubKey: forum.key, syncSeconds: 3600, refreshMs: 0, webhookSecret: secret });
    url = matcher.url;
    // the first pass at start; after it, the next is an hour away
    await until('the first sync', async () => (await (await fetch(`${url}/c/exchange/HUB/status`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { last_fetch_time: number; success: boolean }, (s) => s.last_fetch_time > 0 && s.success);
  });
  afterAll(async () => {
    await matcher?.stop();
    await hub?.close();
  });

  it('refuses unsigned, wrongly signed, tampered, stale, malformed and replayed alerts; a genuine one reloads the banks at once', async () => {
    const pdq = randomPdq(1);
    await submitter.submit([{ bank: 'tvec', type: 'pdq', value: pdq, labels: ['tvec:glorification'] }]);
    const body = alert();
    expect((await post(body, undefined)).status).toBe(401);
    expect((await post(body, webhookSignature('0'.repeat(64), body))).status).toBe(401);
    expect((await post(body.replace('Livestreamed', 'Livestreamez'), webhookSignature(secret, body))).status).toBe(401);
    const stale = alert({ sent_at: Date.now() - 10 * 60_000 });
    expect(await (await post(stale, webhookSignature(secret, stale))).json()).toMatchObject({ code: 'conflict', message: expect.stringMatching(/5 minutes/) });
    const noDelivery = JSON.stringify({ ...JSON.parse(body), delivery: undefined });
    expect((await post(noDelivery, webhookSignature(secret, noDelivery))).status).toBe(400);
    expect((await post('{', webhookSignature(secret, '{'))).status).toBe(400);
    // none of them started a sync: the hub's new signal is not here
    await new Promise((r) => setTimeout(r, 1500));
    expect(await lookup(pdq)).toEqual([]);

    // the genuine alert: accepted once, and the bank reloaded with the hub's signal in seconds
    const accepted = await post(body, webhookSignature(secret, body));
    expect([accepted.status, await accepted.json()]).toEqual([202, { syncing: true }]);
    expect(await until('the alert’s sync', () => lookup(pdq), (banks) => banks.length > 0)).toEqual(['hub-tvec']);
    // the same bytes again: a replay
    expect(await (await post(body, webhookSignature(secret, body))).json()).toMatchObject({ code: 'conflict', message: expect.stringMatching(/replay/) });
  });

  it('syncs the signals shared under an incident the moment the hub alerts them', async () => {
    expect(await hub.hub.members.setWebhook('forum', `${url}/v1/hub/alerts`)).toBe(true);
    const { incident, alerts } = await hub.hub.declareIncident('operator', 'Livestreamed attack');
    expect(alerts.find((a) => a.member === 'forum')).toMatchObject({ status: 202 });
    const frames = [randomPdq(2), randomPdq(3)];
    await submitter.submit(frames.map((value) => ({ bank: 'incident', type: 'pdq' as const, value, labels: ['tvec:glorification'], incident: incident.id })));
    for (const pdq of frames) expect(await until('the incident’s signals', () => lookup(pdq), (banks) => banks.length > 0)).toEqual(['hub-incident']);
  });
});
