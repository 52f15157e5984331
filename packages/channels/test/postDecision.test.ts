/**
 * A new post and its upload check decision commit in one transaction, on both stores: the check is
 * evaluated before anything is written, so the decision costs no commit of its own, and a post never
 * exists without its decision (nor a decision without its post). A write of the decision that fails
 * (here a trigger refusing it, as a full disk or a constraint would) leaves nothing behind.
 */
import { BankStore, LiveBanks, prepareSignal, UploadCheck } from '@doublelock/moderation';
import { dialectCases } from '@doublelock/store/testing';
import { describe, expect, it } from 'vitest';
import { ChannelService, type MediaBlobStore } from '../src/index.ts';

const noUploads: MediaBlobStore = {
  stage: () => Promise.reject(new Error('not used')),
  path: async () => undefined,
};

describe.each(dialectCases())('a post and its decision on $name', ({ name, open }) => {
  it('commit together: a failing decision write leaves no post, and every post has its decision', async () => {
    const db = await open();
    const banks = new BankStore(db);
    await banks.createBank('rules');
    await banks.putSignals('rules', [prepareSignal({ type: 'text', value: 'caliphate', labels: ['tvec:glorification'], action: 'block', severity: 'high' })]);
    const check = new UploadCheck(db, await LiveBanks.open(db));
    const service = new ChannelService(db, { check, blobs: noUploads });
    await service.createChannel('ann', { handle: 'ann', name: 'Ann', description: '' });
    const count = async (table: string) => Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n);

    // the decision cannot be written: the post must not be either
    if (name === 'sqlite') {
      await db.run("CREATE TRIGGER refuse_decisions BEFORE INSERT ON moderation_decisions BEGIN SELECT RAISE(ABORT, 'decision store unavailable'); END");
    } else {
      await db.run("CREATE FUNCTION refuse_decision() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'decision store unavailable'; END $$ LANGUAGE plpgsql");
      await db.run('CREATE TRIGGER refuse_decisions BEFORE INSERT ON moderation_decisions FOR EACH ROW EXECUTE FUNCTION refuse_decision()');
    }
    await expect(service.createPost('ann', 'ann', { text: 'an ordinary day #city https://example.org/a' })).rejects.toThrow(/decision store unavailable/);
    expect(await count('channel_posts')).toBe(0);
    expect(await count('channel_hashtags')).toBe(0);
    expect(await count('moderation_content_signals')).toBe(0);
    await db.run(name === 'sqlite' ? 'DROP TRIGGER refuse_decisions' : 'DROP TRIGGER refuse_decisions ON moderation_decisions');

    // published and blocked posts alike: each with exactly its own decision
    const ok = await service.createPost('ann', 'ann', { text: 'an ordinary day #city https://example.org/a' });
    expect(ok.post.visibility).toBe('published');
    expect(ok.decision.subject).toBe(`post:${ok.post.id}`);
    await expect(service.createPost('ann', 'ann', { text: 'praise the c a l i p h a t e' })).rejects.toMatchObject({ code: 'content_blocked' });
    const posts = await db.all<{ id: number; visibility: string }>('SELECT id, visibility FROM channel_posts ORDER BY id');
    expect(posts.map((p) => p.visibility)).toEqual(['published', 'blocked']);
    for (const p of posts) {
      const decisions = await check.decisions.forSubject(`post:${p.id}`);
      expect(decisions.map((d) => d.verdict)).toEqual([p.visibility === 'published' ? 'publish' : 'block']);
    }
    // what the sweep will compare later was kept with the published post only
    expect(await count('moderation_content_signals')).toBeGreaterThan(0);
    expect((await check.contentSignals.forSubject(`post:${posts[1]!.id}`)).length).toBe(0);
    await db.close();
  });
});
