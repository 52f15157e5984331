/**
 * Public channels end to end on a real server (SQLite and PostgreSQL), with real images made by sharp and
 * real videos made by ffmpeg: a banked image is refused with its reason and appears nowhere, nor do its
 * re-encoded, resized, mirrored, cropped and letterboxed copies; a video post stays invisible until its
 * vPDQ is checked; text evasions are caught and ordinary sentences pass; a negative bank wins; a
 * retro-sweep removes a published post after an import and reports the ads shown next to it.
 */
import { BankSettingsStore, BankStore, hashImage, SweepStore } from '@doublelock/moderation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { call, serverCases, TestAccount, type TestDevice } from './harness.ts';
import { bomb, cropped, flat, hasFfmpeg, letterboxed, mirrored, picture, reencoded, resized, video } from './media.ts';
import { until } from '@doublelock/store/testing';

type Json = Record<string, unknown>;
type Post = { id: number; visibility?: string; labels: string[]; decision?: { verdict: string; reasons: Array<{ label: string; source: string; description: string; span?: { start: number; end: number } }> } };

async function upload(device: TestDevice, handle: string, bytes: Uint8Array, contentType = 'application/octet-stream') {
  const r = await fetch(`${device.url}/v1/channels/${handle}/media`, { method: 'POST', headers: { authorization: `Bearer ${device.token}`, 'content-type': contentType }, body: bytes as unknown as BodyInit });
  return { status: r.status, body: (await r.json()) as Json };
}

describe.each(serverCases())('channels on $name', ({ start }) => {
  let server: RunningServer;
  let alice: TestDevice;
  let bob: TestDevice;
  let banked: Buffer;
  const allIds = new Set<number>();

  const publicIds = async (path: string) => {
    const r = await call<Json>(server.url, 'GET', path);
    expect(r.status).toBe(200);
    const items = (r.body.items as Array<{ type: string; post?: Post }> | undefined)?.filter((i) => i.type === 'post').map((i) => i.post!.id) ?? (r.body.posts as Post[]).map((p) => p.id);
    return items;
  };

  beforeAll(async () => {
    server = await start({ bankRefreshMs: 60_000, moderationWorkMs: 200 });
    alice = await (await new TestAccount(server, 'alice').register()).login();
    bob = await (await new TestAccount(server, 'bob').register()).login();
    expect((await alice.call('POST', '/v1/channels', { handle: 'Alice-News', name: 'Alice News', description: 'daily' })).status).toBe(201);
    expect((await bob.call('POST', '/v1/channels', { handle: 'bobs', name: 'Bob' })).status).toBe(201);
    // a bank of known terrorist content, and one rule list
    const banks = new BankStore(server.db);
    await banks.createBank('tvec', 'known terrorist content');
    banked = await picture(1);
    const signals = await hashImage(banked);
    await banks.addSignal('tvec', { type: 'pdq', value: signals.pdq.original, labels: ['tvec:branded_content', 'basis:un_designated'] });
    await banks.addSignal('tvec', { type: 'url', value: 'propaganda.example', labels: ['tvec:publication'] });
    await new BankSettingsStore(server.db).set('tvec', { publicLabel: 'Known terrorist content (hash-sharing database)' });
    await banks.createBank('rules');
    for (const rule of ['isis', 'daesh', 'abu bakr al baghdadi', '#caliphate', '*amaq*']) await banks.addSignal('rules', { type: 'text', value: rule, labels: ['tvec:glorification'], severity: 'high', action: 'block' });
    await banks.addSignal('rules', { type: 'text', value: 'war footage', labels: ['iab:I4GWl6'], action: 'label', severity: 'low' });
    await server.ctx.moderation.banks.refresh();
  });
  afterAll(async () => server.close());

  it('publishes an ordinary post with hashtags and links, readable without an account', async () => {
    const media = await upload(alice, 'alice-news', await picture(2));
    expect(media.status).toBe(201);
    expect(media.body).toMatchObject({ kind: 'image', contentType: 'image/jpeg', width: 640, height: 480 });
    const r = await alice.call<Post & Json>('POST', '/v1/channels/alice-news/posts', { text: 'Morning #News from the #Ｃity: https://example.org/story?utm_source=x.', media: [media.body.id] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ visibility: 'published', hashtags: ['news', 'city'], links: ['https://example.org/story'] });
    allIds.add(r.body.id);
    const anon = await call<Json>(server.url, 'GET', `/v1/posts/${r.body.id}`);
    expect(anon.status).toBe(200);
    expect(anon.body.visibility).toBeUndefined(); // only the uploader sees the state
    expect(await publicIds('/v1/channels/alice-news/posts')).toContain(r.body.id);
    expect(await publicIds('/v1/hashtags/NEWS')).toContain(r.body.id);
    expect(await publicIds('/v1/hashtags/%23city')).toContain(r.body.id);
    const bytes = await fetch(`${server.url}/v1/media/${media.body.id}`);
    expect(bytes.headers.get('content-type')).toBe('image/jpeg');
    expect(bytes.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses a banked image with its reason, and every re-upload of it, and shows none of them anywhere', async () => {
    const before = await publicIds('/v1/channels/alice-news/posts');
    for (const [how, bytes] of [
      ['as banked', banked],
      ['re-encoded', await reencoded(banked)],
      ['resized', await resized(banked)],
      ['mirrored', await mirrored(banked)],
      ['cropped', await cropped(banked)],
      ['letterboxed', await letterboxed(banked)],
    ] as const) {
      const media = await upload(alice, 'alice-news', bytes);
      expect(media.status, how).toBe(201);
      const r = await alice.call<{ code: string; message: string; details: { postId: number; reasons: Post['decision'] extends infer D ? (D extends { reasons: infer R } ? R : never) : never } }>('POST', '/v1/channels/alice-news/posts', { text: `look #daily ${how}`, media: [media.body.id] });
      expect({ how, status: r.status, code: r.body.code }).toEqual({ how, status: 422, code: 'content_blocked' });
      expect(r.body.details.reasons.map((x) => x.label).sort()).toEqual(['basis:un_designated', 'tvec:branded_content']);
      expect(r.body.details.reasons[0]!.source).toBe('Known terrorist content (hash-sharing database)');
      // the uploader learns the label, never the list: no hash, no signal id, no distance
      expect(JSON.stringify(r.body)).not.toMatch(/[0-9a-f]{64}|signalId|distance/);
      const id = r.body.details.postId;
      expect((await call(server.url, 'GET', `/v1/posts/${id}`)).status).toBe(404);
      expect((await bob.call('GET', `/v1/posts/${id}`)).status).toBe(404);
      expect((await call(server.url, 'GET', `/v1/media/${media.body.id}`)).status).toBe(404);
      const own = await alice.call<Post>('GET', `/v1/posts/${id}`);
      expect(own.body.visibility).toBe('blocked');
      expect(own.body.decision?.verdict).toBe('block');
    }
    expect(await publicIds('/v1/channels/alice-news/posts')).toEqual(before);
    expect(await publicIds('/v1/hashtags/daily')).toEqual([]);
    const decisions = await server.ctx.moderation.check.decisions.forSubject(`post:${before[0]! + 1}`);
    expect(decisions[0]!.matches[0]).toMatchObject({ bank: 'tvec', signalType: 'pdq', negative: false });
  });

  it('refuses a post that links to a banked site, after canonicalisation', async () => {
    const r = await alice.call<{ code: string }>('POST', '/v1/channels/alice-news/posts', { text: 'read HTTPS://WWW.Propaganda.EXAMPLE./issue-7#top' });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('content_blocked');
  });

  it('catches text evasions with offsets, and lets ordinary sentences through', async () => {
    for (const text of ['Join ＩＳＩＳ', 'j0in і\u200bѕіѕ now', 'support D.A.E.S.H', 'Abu-Bakr al-Baghdadi speaks', 'the #Caliphate rises', 'via amaqnews', '1s1s!']) {
      const r = await alice.call<{ code: string; details: { reasons: Array<{ span?: { start: number; end: number } }> } }>('POST', '/v1/channels/alice-news/posts', { text });
      expect({ text, status: r.status }).toEqual({ text, status: 422 });
      const span = r.body.details.reasons[0]!.span!;
      expect(text.slice(span.start, span.end).length).toBeGreaterThan(0);
    }
    for (const text of ['The crisis is over, this is it.', 'An emphasis is analysis.', 'Mississippi is a state', 'The caliphate was a historical state.', 'Daisy has a dash of paint.']) {
      const r = await alice.call('POST', '/v1/channels/alice-news/posts', { text });
      expect({ text, status: r.status }).toEqual({ text, status: 201 });
    }
  });

  it('labels a post when a rule says label, and keeps adverts that exclude its category away', async () => {
    const r = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { text: 'Raw war footage from the front' });
    expect(r.status).toBe(201);
    expect(r.body.labels).toEqual(['iab:I4GWl6']);
    expect(r.body.decision?.verdict).toBe('label');
  });

  it('publishes an item of a negative bank even though a positive bank matches it', async () => {
    const news = await picture(7);
    const signals = await hashImage(news);
    const banks = new BankStore(server.db);
    await banks.createBank('news-footage');
    await banks.addSignal('news-footage', { type: 'pdq', value: signals.pdq.original, labels: ['custom:news_archive'] });
    await new BankSettingsStore(server.db).set('news-footage', { negative: true });
    await banks.addSignal('tvec', { type: 'sha256', value: signals.sha256, labels: ['tvec:graphic_violence'] });
    await server.ctx.moderation.banks.refresh();
    const media = await upload(alice, 'alice-news', news);
    const r = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { text: 'archive', media: [media.body.id] });
    expect(r.status).toBe(201);
    const [d] = await server.ctx.moderation.check.decisions.forSubject(`post:${r.body.id}`);
    expect(d!.verdict).toBe('publish');
    expect(d!.matches.find((m) => m.bank === 'tvec')).toMatchObject({ skipped: 'negative_bank' });
  });

  it('holds (never blocks) a featureless image that matches: PDQ quality below 50 is never auto-actioned', async () => {
    const bytes = await flat();
    const s = await hashImage(bytes);
    expect(s.quality).toBeLessThan(50);
    await new BankStore(server.db).addSignal('tvec', { type: 'pdq', value: s.pdq.original, labels: ['tvec:branded_content'] });
    await server.ctx.moderation.banks.refresh();
    const media = await upload(alice, 'alice-news', bytes);
    const r = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { media: [media.body.id] });
    expect(r.status).toBe(202);
    expect(r.body.visibility).toBe('held');
    expect((await call(server.url, 'GET', `/v1/posts/${r.body.id}`)).status).toBe(404);
  });

  it('refuses bad input with clear 4xx errors', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');
    expect(await upload(alice, 'alice-news', svg, 'image/png')).toMatchObject({ status: 415, body: { code: 'unsupported_media' } });
    expect(await upload(alice, 'alice-news', Buffer.from('just some text, not media at all'))).toMatchObject({ status: 415, body: { code: 'unsupported_media' } });
    expect(await upload(alice, 'alice-news', await bomb())).toMatchObject({ status: 422, body: { code: 'too_many_pixels' } });
    const truncated = (await picture(3)).subarray(0, 2000);
    expect((await upload(alice, 'alice-news', truncated)).body.code).toBe('corrupt_media');
    expect(await upload(alice, 'alice-news', Buffer.alloc(0))).toMatchObject({ status: 400 });
    expect((await upload(bob, 'alice-news', await picture(4))).status).toBe(403); // another's channel
    expect((await bob.call('POST', '/v1/channels/alice-news/posts', { text: 'hi' })).status).toBe(403);
    expect((await alice.call('POST', '/v1/channels/nobody-here/posts', { text: 'hi' })).status).toBe(404);
    expect((await alice.call('POST', '/v1/channels/alice-news/posts', { text: '' })).status).toBe(400);
    expect((await alice.call('POST', '/v1/channels/alice-news/posts', { text: 'x'.repeat(10_001) })).status).toBe(400);
    expect((await alice.call('POST', '/v1/channels/alice-news/posts', { text: 'a\u0000b' })).status).toBe(400);
    expect((await alice.call('POST', '/v1/channels', { handle: 'alice-news', name: 'again' })).status).toBe(409);
    expect((await alice.call('POST', '/v1/channels', { handle: 'no spaces!', name: 'x' })).status).toBe(400);
    const bobsMedia = await upload(bob, 'bobs', await picture(5));
    expect((await alice.call('POST', '/v1/channels/alice-news/posts', { text: 'steal', media: [bobsMedia.body.id] })).status).toBe(400);
  });

  it('serves oversize uploads a 413 without reading them whole', async () => {
    const small = await start({ maxImageBytes: 1000, maxVideoBytes: 2000 });
    try {
      const carol = await (await new TestAccount(small, 'carol').register()).login();
      await carol.call('POST', '/v1/channels', { handle: 'carol', name: 'Carol' });
      expect(await upload(carol, 'carol', Buffer.alloc(50_000, 7))).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
      expect(await upload(carol, 'carol', await picture(6))).toMatchObject({ status: 413 });
    } finally {
      await small.close();
    }
  });

  it('edits, replies, deletes, follows and the home feed', async () => {
    const p = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { text: 'first draft' });
    expect((await alice.call<Post & { text: string }>('PATCH', `/v1/posts/${p.body.id}`, { text: 'final #edit' })).body).toMatchObject({ text: 'final #edit', hashtags: ['edit'] });
    const badEdit = await alice.call<{ code: string }>('PATCH', `/v1/posts/${p.body.id}`, { text: 'now with daesh' });
    expect(badEdit.status).toBe(422);
    expect((await call<{ text: string }>(server.url, 'GET', `/v1/posts/${p.body.id}`)).body.text).toBe('final #edit');
    expect((await bob.call('PATCH', `/v1/posts/${p.body.id}`, { text: 'hijack' })).status).toBe(403);
    const reply = await bob.call<Post>('POST', `/v1/posts/${p.body.id}/replies`, { text: 'well said' });
    expect(reply.status).toBe(201);
    expect((await bob.call('POST', `/v1/posts/${p.body.id}/replies`, { text: 'isis forever' })).status).toBe(422);
    const replies = await call<{ posts: Post[] }>(server.url, 'GET', `/v1/posts/${p.body.id}/replies`);
    expect(replies.body.posts.map((x) => x.id)).toEqual([reply.body.id]);
    expect((await bob.call<{ following: boolean; followers: number }>('POST', '/v1/channels/alice-news/follow')).body).toEqual({ following: true, followers: 1 });
    const feed = await bob.call<{ posts: Post[] }>('GET', '/v1/feed?limit=100');
    expect(feed.body.posts.map((x) => x.id)).toContain(p.body.id);
    expect(feed.body.posts.map((x) => x.id)).not.toContain(reply.body.id);
    expect((await bob.call('DELETE', `/v1/posts/${p.body.id}`)).status).toBe(403);
    expect((await alice.call('DELETE', `/v1/posts/${p.body.id}`)).status).toBe(204);
    expect((await call(server.url, 'GET', `/v1/posts/${p.body.id}`)).status).toBe(404);
    expect((await bob.call<{ posts: Post[] }>('GET', '/v1/feed?limit=100')).body.posts.map((x) => x.id)).not.toContain(p.body.id);
    expect((await bob.call<{ followers: number }>('DELETE', '/v1/channels/alice-news/follow')).body.followers).toBe(0);
  });

  it('pages feeds by cursor without gaps or repeats', async () => {
    await bob.call('POST', '/v1/channels', { handle: 'pager', name: 'Pager' });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push((await bob.call<Post>('POST', '/v1/channels/pager/posts', { text: `post ${i} #paged` })).body.id);
    const seen: number[] = [];
    let before: number | null = null;
    do {
      const r: { status: number; body: { items: Array<{ post: Post }>; next: number | null } } = await call(server.url, 'GET', `/v1/channels/pager/posts?limit=3${before ? `&before=${before}` : ''}`);
      seen.push(...r.body.items.map((i) => i.post.id));
      before = r.body.next;
    } while (before);
    expect(seen).toEqual([...ids].reverse());
  });

  it('serves video with range requests, and keeps a video post invisible until its vPDQ is checked', async () => {
    if (!hasFfmpeg()) return;
    const clip = video(3);
    const media = await upload(alice, 'alice-news', clip, 'video/quicktime');
    expect(media).toMatchObject({ status: 201, body: { kind: 'video', contentType: 'video/mp4', width: 320, height: 240 } });
    // the owner can fetch a range of it before it is posted
    const part = await fetch(`${server.url}/v1/media/${media.body.id}`, { headers: { authorization: `Bearer ${alice.token}`, range: 'bytes=10-109' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${clip.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(clip.subarray(10, 110));
    const outside = await fetch(`${server.url}/v1/media/${media.body.id}`, { headers: { authorization: `Bearer ${alice.token}`, range: `bytes=${clip.length}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${clip.length}`);

    const r = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { text: 'clip #video', media: [media.body.id] });
    expect(r.status).toBe(202);
    expect(r.body.visibility).toBe('pending');
    const visible = await until('the video check', () => call(server.url, 'GET', `/v1/posts/${r.body.id}`), (x) => x.status === 200);
    expect(visible.status).toBe(200);
    expect(await publicIds('/v1/hashtags/video')).toContain(r.body.id);
    const decisions = await server.ctx.moderation.check.decisions.forSubject(`post:${r.body.id}`);
    expect(decisions.map((d) => `${d.stage}:${d.verdict}`)).toEqual(['upload:pending', 'video_check:publish']);
  });

  it('blocks a banked video after its check, and it is never visible on the way', async () => {
    if (!hasFfmpeg()) return;
    const clip = video(3, 'smptebars');
    const media = await upload(alice, 'alice-news', clip);
    // bank the clip's vPDQ as the hub would share it
    const { vpdqHashVideo, formatVpdqSignal } = await import('@doublelock/moderation');
    const stored = await server.ctx.channels.store.media(media.body.id as number);
    const { features } = await vpdqHashVideo((await server.ctx.blobs.path(stored!.sha256))!);
    await new BankStore(server.db).addSignal('tvec', { type: 'vpdq', value: formatVpdqSignal(features), labels: ['tvec:attacker_manifesto'] });
    await server.ctx.moderation.banks.refresh();
    const r = await alice.call<Post>('POST', '/v1/channels/alice-news/posts', { text: 'clip two', media: [media.body.id] });
    expect(r.body.visibility).toBe('pending');
    const seen = new Set<number>();
    const final = await until(
      'the video block',
      async () => {
        seen.add((await call(server.url, 'GET', `/v1/posts/${r.body.id}`)).status);
        return (await alice.call<Post>('GET', `/v1/posts/${r.body.id}`)).body;
      },
      (p) => p.visibility !== 'pending',
    );
    expect(final.visibility).toBe('blocked');
    expect(final.decision?.reasons.map((x) => x.label)).toEqual(['tvec:attacker_manifesto']);
    expect([...seen]).toEqual([404]);
  });

  it('a retro-sweep removes a published post after an import and reports the ads served next to it', async () => {
    await bob.call('POST', '/v1/channels', { handle: 'adsy', name: 'Ads channel' });
    expect((await bob.call('PATCH', '/v1/channels/adsy', { adsEvery: 1 })).status).toBe(200);
    const later = await picture(11);
    const m = await upload(bob, 'adsy', later);
    const target = await bob.call<Post>('POST', '/v1/channels/adsy/posts', { text: 'innocent-looking', media: [m.body.id] });
    expect(target.status).toBe(201);
    const next = await bob.call<Post>('POST', '/v1/channels/adsy/posts', { text: 'a neighbour' });
    const advertiser = await (await new TestAccount(server, 'acme').register()).login();
    expect((await advertiser.call('POST', '/v1/ads/campaigns', { name: 'Spring', text: 'Buy ACME', url: 'https://acme.example/' })).status).toBe(201);
    const page = await call<{ items: Array<{ type: string; ad?: { impressionId: number } }> }>(server.url, 'GET', '/v1/channels/adsy/posts');
    expect(page.body.items.filter((i) => i.type === 'ad').length).toBeGreaterThan(0);

    // the import: the image becomes known, and a sweep of the new signals is queued as `bank import` does
    const banks = new BankStore(server.db);
    const before = await banks.maxSignalId();
    await banks.addSignal('tvec', { type: 'pdq', value: (await hashImage(await mirrored(later))).pdq.original, labels: ['tvec:glorification'] });
    const sweep = await new SweepStore(server.db).create({ bank: 'tvec', afterSignalId: before, uptoSignalId: await banks.maxSignalId() });
    const report = await until('the sweep', () => new SweepStore(server.db).report(sweep.id), (s) => s?.status === 'done');
    expect(report!.findings.map((f) => [f.subject, f.verdict])).toEqual([[`post:${target.body.id}`, 'block']]);
    expect((await call(server.url, 'GET', `/v1/posts/${target.body.id}`)).status).toBe(404);
    expect((await bob.call<Post>('GET', `/v1/posts/${target.body.id}`)).body.visibility).toBe('removed');
    expect((await call(server.url, 'GET', `/v1/posts/${next.body.id}`)).status).toBe(200);

    const notices = await advertiser.call<{ notices: Array<{ postId: number; action: string }> }>('GET', '/v1/ads/notices');
    expect(notices.body.notices.length).toBeGreaterThan(0);
    expect(notices.body.notices.every((n) => n.postId === target.body.id && n.action === 'removed')).toBe(true);
    const brand = await advertiser.call<{ impressions: number; flaggedImpressions: number; flaggedByAction: Record<string, number>; exclusionViolations: number }>('GET', '/v1/ads/report');
    expect(brand.body.flaggedImpressions).toBe(notices.body.notices.length);
    expect(brand.body.flaggedByAction.removed).toBe(notices.body.notices.length);
    expect(brand.body.exclusionViolations).toBe(0);
    // and no ad stands next to it now
    const after = await call<{ items: Array<{ type: string; post?: Post }> }>(server.url, 'GET', '/v1/channels/adsy/posts');
    expect(after.body.items.some((i) => i.post?.id === target.body.id)).toBe(false);
  });

  it('never places an ad next to a flagged post', async () => {
    await bob.call('POST', '/v1/channels', { handle: 'mixed', name: 'Mixed' });
    await bob.call('PATCH', '/v1/channels/mixed', { adsEvery: 1 });
    const advertiser = await (await new TestAccount(server, 'careful').register()).login();
    const campaign = await advertiser.call<{ id: number; excludedCategories: string[] }>('POST', '/v1/ads/campaigns', { name: 'Careful', text: 'Safe brand', url: 'https://careful.example/', excludedCategories: ['I4GWl6'] });
    expect(campaign.body.excludedCategories).toEqual(['8FD8nI', 'I4GWl6']); // Terrorism always
    const labelled = await bob.call<Post>('POST', '/v1/channels/mixed/posts', { text: 'war footage again' });
    expect(labelled.body.labels).toEqual(['iab:I4GWl6']);
    const declared = await bob.call<Post>('POST', '/v1/channels/mixed/posts', { text: 'a report', categories: ['I4GWl6'] });
    const clean = await bob.call<Post>('POST', '/v1/channels/mixed/posts', { text: 'a cat picture' });
    const demonetised = await bob.call<Post>('POST', '/v1/channels/mixed/posts', { text: 'fine but demonetised' });
    await server.ctx.channels.actioner.apply(`post:${demonetised.body.id}`, { type: 'demonetise' }, { actor: 'moderator', reason: 'test' });
    for (let i = 0; i < 3; i++) await call(server.url, 'GET', '/v1/channels/mixed/posts');
    const rows = await server.db.all<{ before_post: number; after_post: number | null; campaign_id: number }>('SELECT before_post, after_post, campaign_id FROM ad_impressions i JOIN channels c ON c.id = i.channel_id WHERE c.handle = ?', ['mixed']);
    const flagged = new Set([labelled.body.id, declared.body.id, demonetised.body.id]);
    for (const r of rows.filter((x) => x.campaign_id === campaign.body.id)) {
      expect(flagged.has(Number(r.before_post))).toBe(false);
      expect(r.after_post === null || !flagged.has(Number(r.after_post))).toBe(true);
    }
    void clean;
  });
});
