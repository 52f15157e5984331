/**
 * The retro-sweep over real posts on both stores: a bank gains signals, posts already published are
 * found (an image, a mirrored copy of another, a text rule), acted on once, and a sweep interrupted
 * mid-way (a crash, or a shutdown) resumes from its saved cursor without losing or repeating anything.
 */
import sharp from 'sharp';
import { BankStore, hashImage, LiveBanks, runSweep, SweepStore, UploadCheck, type ImageSignals } from '@doublelock/moderation';
import { dialectCases } from '@doublelock/store/testing';
import { describe, expect, it } from 'vitest';
import { ChannelService, type MediaBlobStore } from '../src/index.ts';
import { blockPicture } from '@doublelock/moderation/testing';

/** These tests attach media rows directly (hashed here); nothing is uploaded. */
const noUploads: MediaBlobStore = {
  stage: () => Promise.reject(new Error('not used')),
  path: async () => undefined,
};


describe.each(dialectCases())('retro-sweep on $name', ({ open }) => {
  it('finds matching published posts, acts once, and resumes after an interruption', async () => {
    const db = await open();
    const banks = new BankStore(db);
    const check = new UploadCheck(db, await LiveBanks.open(db));
    const service = new ChannelService(db, { check, blobs: noUploads });
    await service.createChannel('ann', { handle: 'ann', name: 'Ann', description: '' });
    const channel = (await service.store.channel('ann'))!;
    const imagePosts: number[] = [];
    const hashes: ImageSignals[] = [];
    for (let i = 0; i < 12; i++) {
      const signals = await hashImage(await blockPicture(i));
      hashes.push(signals);
      const m = await service.store.addMedia({ owner: 'ann', channelId: channel.id, kind: 'image', contentType: 'image/png', sha256: signals.sha256, bytes: 1, width: 200, height: 150, signals: signals as never, createdAt: 1 });
      imagePosts.push((await service.createPost('ann', 'ann', { text: `picture ${i}`, media: [m.id] })).post.id);
    }
    // a mirrored copy of another picture inside black letterbox bars: only its cropped variants can match
    const boxed = await hashImage(await sharp(await blockPicture(21, true)).extend({ top: 50, bottom: 50, background: '#000' }).png().toBuffer());
    expect(boxed.cropped).toBeDefined();
    const boxedMedia = await service.store.addMedia({ owner: 'ann', channelId: channel.id, kind: 'image', contentType: 'image/png', sha256: boxed.sha256, bytes: 1, width: 200, height: 250, signals: boxed as never, createdAt: 1 });
    const boxedPost = (await service.createPost('ann', 'ann', { text: 'boxed', media: [boxedMedia.id] })).post.id;
    const textPosts: number[] = [];
    for (let i = 0; i < 12; i++) textPosts.push((await service.createPost('ann', 'ann', { text: i === 3 ? 'praise for the #Caliphate' : `an ordinary day ${i}` })).post.id);
    for (const id of [...imagePosts, ...textPosts]) expect((await service.store.post(id))!.visibility).toBe('published');

    // the bank gains: one image as posted, a mirrored copy of another, unrelated hashes, and a rule
    await banks.createBank('late');
    const before = await banks.maxSignalId();
    await banks.addSignal('late', { type: 'pdq', value: hashes[2]!.pdq.original, labels: ['tvec:branded_content'] });
    await banks.addSignal('late', { type: 'pdq', value: (await hashImage(await blockPicture(5, true))).pdq.original, labels: ['tvec:glorification'] });
    await banks.addSignal('late', { type: 'pdq', value: (await hashImage(await blockPicture(21))).pdq.original, labels: ['tvec:glorification'] });
    for (let i = 0; i < 5; i++) await banks.addSignal('late', { type: 'pdq', value: 'f'.repeat(60) + i.toString(16).padStart(4, '0'), labels: ['tvec:publication'] });
    await banks.addSignal('late', { type: 'text', value: '#caliphate', labels: ['tvec:glorification'], action: 'block' });
    const sweep = await new SweepStore(db).create({ bank: 'late', afterSignalId: before, uptoSignalId: await banks.maxSignalId() });

    // first run: stops after three pages, as if the process died (status stays running)
    const progress: number[] = [];
    const first = await runSweep({ db, sweepId: sweep.id, actioner: service.actioner, pageSize: 4, pdqChunk: 24, stopAfterPages: 3, onProgress: (s) => progress.push(s.checked) });
    expect(first.status).toBe('running');
    expect(first.phase).not.toBe('done');
    // a new process resumes it from the saved cursor
    const done = await runSweep({ db, sweepId: sweep.id, actioner: service.actioner, pageSize: 4, pdqChunk: 24, onProgress: (s) => progress.push(s.checked) });
    expect(done.status).toBe('done');
    expect(progress).toEqual([...progress].sort((a, b) => a - b)); // never moves backwards
    expect(done.checked).toBe(done.total); // every stored signal counted once
    const expected = [imagePosts[2]!, imagePosts[5]!, boxedPost, textPosts[3]!].map((id) => `post:${id}`).sort();
    expect(done.findings.map((f) => f.subject).sort()).toEqual(expected);
    expect(done.findings.every((f) => f.verdict === 'block')).toBe(true);
    expect(done.actioned).toBe(4);
    for (const subject of expected) {
      const decisions = (await check.decisions.forSubject(subject)).filter((d) => d.stage === 'retro_sweep');
      expect(decisions).toHaveLength(1);
      expect(decisions[0]!.sweepId).toBe(sweep.id);
      expect((await service.store.post(Number(subject.slice(5))))!.visibility).toBe('removed');
      expect(await check.contentSignals.forSubject(subject)).toEqual([]); // nothing left to sweep again
    }
    const mirrored = (await check.decisions.forSubject(`post:${imagePosts[5]}`)).find((d) => d.stage === 'retro_sweep')!;
    expect(mirrored.matches[0]!.variant).not.toBe('original');
    for (const id of [...imagePosts, ...textPosts]) if (!expected.includes(`post:${id}`)) expect((await service.store.post(id))!.visibility).toBe('published');

    // running it again changes nothing
    const again = await runSweep({ db, sweepId: sweep.id, actioner: service.actioner });
    expect(again.actioned).toBe(4);

    // a shutdown mid-sweep leaves it queued, so the next process claims it at once
    const second = await new SweepStore(db).create({ bank: 'late', afterSignalId: before, uptoSignalId: await banks.maxSignalId() });
    await runSweep({ db, sweepId: second.id, actioner: service.actioner, pageSize: 2, stopping: () => true });
    expect((await new SweepStore(db).get(second.id))!.status).toBe('queued');
    expect((await new SweepStore(db).claim())!.id).toBe(second.id);
    await db.close();
  });
});
