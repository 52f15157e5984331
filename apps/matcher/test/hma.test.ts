/**
 * `doublelock matcher serve` as a non-Doublelock platform runs it: a real process with the HMA-compatible
 * public API and its banks synced from a real hub. A hash shared on the hub is found by one HTTP call
 * (by hash, or by uploading the image), a withdrawal there clears it here; banks are curated over HMA's
 * routes; every route needs the API key; bad input gets a clear 4xx.
 */
import sharp from 'sharp';
import { HubClient } from '@doublelock/hub/platform';
import { hashImage } from '@doublelock/moderation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../../hub/src/app.ts';
import { startTestHub } from '../../hub/src/testing.ts';
import { until } from '@doublelock/store/testing';
import { HMA_API_KEY as API_KEY, serveHubMatcher } from './process.ts';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function picture(seed: number): Promise<Buffer> {
  const w = 320;
  const h = 240;
  const px = Buffer.alloc(w * h * 3);
  let s = seed * 7919 + 1;
  for (let i = 0; i < 30; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x0 = s % w;
    const y0 = (s >>> 9) % h;
    const c = [s & 255, (s >>> 7) & 255, (s >>> 15) & 255];
    for (let y = y0; y < Math.min(h, y0 + 50); y++) for (let x = x0; x < Math.min(w, x0 + 70); x++) px.set(c, (y * w + x) * 3);
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg().toBuffer();
}

describe('the standalone matcher with HMA routes, synced from the hub', () => {
  let hub: RunningHub;
  let matcher: { url: string; stop(): Promise<void> };
  let url: string;
  let member: HubClient;
  let image: Buffer;
  let pdq: string;

  const api = async (method: string, path: string, body?: unknown, key: string | null = API_KEY): Promise<{ status: number; body: Json }> => {
    const headers: Record<string, string> = {};
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch(url + path, { method, headers, ...(payload !== undefined && { body: payload }) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  const upload = (field: string, bytes: Buffer) => {
    const form = new FormData();
    form.append(field, new Blob([new Uint8Array(bytes)]), 'upload.jpg');
    return form;
  };

  beforeAll(async () => {
    hub = await startTestHub();
    const added = await hub.hub.members.add('small-forum', { scopes: ['submit', 'read'] });
    member = new HubClient(hub.url, added.key);
    image = await picture(5);
    pdq = (await hashImage(image)).pdq.original;
    matcher = await serveHubMatcher({ hubUrl: hub.url, hubKey: added.key, syncSeconds: 1, refreshMs: 500 });
    url = matcher.url;
  });
  afterAll(async () => {
    await matcher?.stop();
    await hub?.close();
  });

  it('needs its API key on every route', async () => {
    for (const [method, path] of [
      ['POST', '/h/hash'],
      ['GET', `/m/lookup?signal_type=pdq&signal=${pdq}`],
      ['POST', '/m/lookup'],
      ['GET', '/m/index/status'],
      ['GET', '/c/banks'],
      ['POST', '/c/bank/x/signal'],
      ['GET', '/c/exchange/HUB/status'],
    ] as const) {
      expect((await api(method, path, undefined, null)).status, path).toBe(401);
      expect((await api(method, path, undefined, 'not-the-key-0123456789')).status, path).toBe(401);
    }
  });

  it('finds a hash shared on the hub, by hash and by upload, and loses it when withdrawn', async () => {
    await member.submit([{ bank: 'tvec', type: 'pdq', value: pdq, labels: ['tvec:glorification'] }]);
    expect(await until('synced', async () => (await api('GET', `/m/lookup?signal_type=pdq&signal=${pdq}`)).body, (b) => b?.length === 1)).toEqual(['hub-tvec']);
    const hashed = await api('POST', '/h/hash', upload('photo', image));
    expect(hashed.status).toBe(200);
    expect(hashed.body.pdq).toBe(pdq);
    const looked = await api('POST', '/m/lookup', upload('photo', await sharp(image).resize(300).jpeg({ quality: 70 }).toBuffer()));
    expect(looked.body.pdq).toEqual(['hub-tvec']);
    const raw = await api('GET', `/m/raw_lookup?signal_type=pdq&signal=${pdq}&include_distance=true`);
    expect(raw.body.matches[0]).toMatchObject({ distance: '0', bank: 'hub-tvec', labels: ['tvec:glorification'] });
    const status = await api('GET', '/m/index/status');
    expect(status.body.pdq).toMatchObject({ present: true, size: 1 });
    expect((await api('GET', '/c/exchange/HUB/status')).body).toMatchObject({ success: true });
    await member.withdraw([{ bank: 'tvec', type: 'pdq', value: pdq }]);
    await until('withdrawn', async () => (await api('GET', `/m/lookup?signal_type=pdq&signal=${pdq}`)).body, (b) => b?.length === 0);
  });

  it("curates banks over HMA's routes", async () => {
    expect((await api('POST', '/c/banks', { name: 'LOCAL_BANK' })).status).toBe(201);
    expect((await api('POST', '/c/banks', { name: 'LOCAL_BANK' })).status).toBe(403);
    const other = await picture(9);
    const added = await api('POST', '/c/bank/LOCAL_BANK/content', upload('photo', other));
    expect(added.status).toBe(200);
    const otherPdq = (await hashImage(other)).pdq.original;
    expect(added.body.signals.pdq).toBe(otherPdq);
    expect((await api('GET', `/m/lookup?signal_type=pdq&signal=${otherPdq}`)).body).toEqual(['LOCAL_BANK']);
    expect((await api('PUT', '/c/bank/LOCAL_BANK', { enabled: false })).body).toEqual({ name: 'LOCAL_BANK', matching_enabled_ratio: 0 });
    expect((await api('GET', `/m/lookup?signal_type=pdq&signal=${otherPdq}`)).body).toEqual([]);
    await api('PUT', '/c/bank/LOCAL_BANK', { enabled_ratio: 1 });
    expect((await api('DELETE', `/c/bank/LOCAL_BANK/content/${added.body.id}`)).body).toEqual({ deleted: 1 });
    expect((await api('GET', `/m/lookup?signal_type=pdq&signal=${otherPdq}`)).body).toEqual([]);
    const md5 = await api('POST', '/c/bank/LOCAL_BANK/signal', { video_md5: 'ABCDEF0123456789abcdef0123456789' });
    expect(md5.body.signals).toEqual({ video_md5: 'abcdef0123456789abcdef0123456789' });
    expect((await api('GET', '/m/lookup?signal_type=video_md5&signal=abcdef0123456789abcdef0123456789')).body).toEqual(['LOCAL_BANK']);
    expect((await api('GET', '/c/banks')).body).toEqual(expect.arrayContaining([{ name: 'LOCAL_BANK', matching_enabled_ratio: 1 }]));
  });

  it('refuses bad input with clear 4xx errors', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['GET', '/m/lookup?signal_type=pdq&signal=abc', undefined, 400, /invalid signal/],
      ['GET', `/m/lookup?signal_type=tmk&signal=${pdq}`, undefined, 400, /No such SignalType/],
      ['GET', '/m/lookup?signal_type=pdq', undefined, 400, /signal is required/],
      ['GET', `/m/lookup?url=http://169.254.169.254/`, undefined, 400, /not offered/],
      ['POST', '/h/hash', upload('photo', Buffer.from('not an image at all')), 400, /./],
      ['POST', '/h/hash', upload('audio', image), 400, /content_type/],
      ['POST', '/h/hash', { pdq }, 400, /multipart/],
      ['POST', '/c/bank/NOPE/signal', { pdq }, 404, /not found/],
      ['POST', '/c/bank/LOCAL_BANK/signal', { pdq: 'zz' }, 400, /Invalid pdq/],
      ['POST', '/c/banks', { name: '../etc' }, 400, /bank name/],
      ['PUT', '/c/bank/LOCAL_BANK', { enabled_ratio: 7 }, 400, /enabled_ratio/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await api(method, path, body);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.body.message).toMatch(message);
    }
  });
});
