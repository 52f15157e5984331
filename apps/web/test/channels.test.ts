/**
 * Public channels in browsers: a person starts a channel and posts text with a hashtag and an image; anyone
 * reads it without an account (on a phone), on the channel and on the hashtag's page, and follows it once
 * signed in; a post with an image from the bank of known terrorist content is refused at once with the
 * reasons, and the uploader's own list shows the decision (the statement of reasons).
 */
import { BankSettingsStore, BankStore, hashImage } from '@doublelock/moderation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasFfmpeg, picture, video } from '../../server/test/media.ts';
import { checkPage, chromiumAvailable, PHONE, startWeb, uniqueName, type Person, type WebHarness } from './harness.ts';

async function register(person: Person, username: string): Promise<void> {
  await person.page.goto('/chats');
  await person.page.getByLabel('Choose a name').fill(username);
  await person.page.getByRole('button', { name: 'Create account' }).click();
  await person.page.getByText(`Signed in as ${username}`).waitFor({ timeout: 30_000 });
}

describe.runIf(chromiumAvailable)('channels in Chromium', () => {
  let web: WebHarness;
  let banked: Buffer;
  let alice: Person;
  const handle = uniqueName('news').toLowerCase().slice(0, 30);
  beforeAll(async () => {
    web = await startWeb({ bankRefreshMs: 60_000, moderationWorkMs: 200 });
    const banks = new BankStore(web.server.db);
    await banks.createBank('tvec', 'known terrorist content');
    banked = await picture(1);
    await banks.addSignal('tvec', { type: 'pdq', value: (await hashImage(banked)).pdq.original, labels: ['tvec:branded_content', 'basis:un_designated'] });
    await new BankSettingsStore(web.server.db).set('tvec', { publicLabel: 'Known terrorist content (hash-sharing database)' });
    await web.server.ctx.moderation.banks.refresh();
    alice = await web.person();
    await register(alice, uniqueName('alice'));
  }, 120_000);
  afterAll(async () => web?.close());

  it('starts a channel and posts text, a hashtag and an image; anyone reads it, on a phone too', async () => {
    await alice.page.goto('/channels');
    await alice.page.getByLabel(/^Handle/).fill(handle);
    await alice.page.getByLabel('Channel name').fill('Morning News');
    await alice.page.getByRole('button', { name: 'Create channel' }).click();
    await alice.page.getByRole('link', { name: `@${handle}` }).click();
    await alice.page.getByRole('heading', { level: 1, name: 'Morning News' }).waitFor();
    await alice.page.getByRole('textbox', { name: /^Post/ }).fill('Floods in the #valley today');
    await alice.page.getByLabel('Images or videos').setInputFiles({ name: 'river.jpg', mimeType: 'image/jpeg', buffer: await picture(2) });
    await alice.page.getByRole('button', { name: 'Post', exact: true }).click();
    await alice.page.getByText('Posted (published).').waitFor({ timeout: 30_000 });
    const posts = alice.page.getByRole('list', { name: 'Posts' });
    await posts.getByText(/Floods in the/).waitFor();
    await checkPage(alice, 'channel-owner');

    const reader = await web.person(PHONE);
    await reader.page.goto('/channels');
    await reader.page.getByRole('link', { name: 'Morning News' }).click();
    const image = reader.page.getByRole('img', { name: 'Image posted in Morning News' });
    await image.waitFor();
    expect(await image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(640);
    await reader.page.getByRole('link', { name: '#valley' }).click();
    await reader.page.getByRole('heading', { level: 1, name: '#valley' }).waitFor();
    await reader.page.getByText(/Floods in the/).waitFor();
    await checkPage(reader, 'channel-hashtag-phone');
    // Signed in, the reader can follow.
    await register(reader, uniqueName('reader'));
    await reader.page.goto(`/channels/c/${handle}`);
    await reader.page.getByRole('button', { name: 'Follow', exact: true }).click();
    await reader.page.getByRole('status').filter({ hasText: 'Following' }).waitFor();
    await reader.page.getByText(/1 follower\(s\)/).waitFor();
  }, 180_000);

  it('refuses a banked image at once, with its reasons, and lists the decision with the uploader’s posts', async () => {
    await alice.page.goto(`/channels/c/${handle}`);
    await alice.page.getByRole('textbox', { name: /^Post/ }).fill('look at this');
    await alice.page.getByLabel('Images or videos').setInputFiles({ name: 'poster.jpg', mimeType: 'image/jpeg', buffer: banked });
    await alice.page.getByRole('button', { name: 'Post', exact: true }).click();
    const refusal = alice.page.getByRole('alert').filter({ hasText: 'Your post was not published' });
    await refusal.waitFor({ timeout: 30_000 });
    const text = await refusal.textContent();
    expect(text).toContain('tvec:branded_content');
    expect(text).toContain('Known terrorist content (hash-sharing database)');
    alice.errors.length = 0; // the refused request (422) is logged by the browser
    await checkPage(alice, 'channel-post-refused');
    await alice.page.getByRole('link', { name: 'See your posts' }).click();
    await alice.page.getByRole('heading', { level: 1, name: 'Your posts' }).waitFor();
    const blocked = alice.page.locator('li', { hasText: 'look at this' });
    await blocked.getByText(/Decision: /).waitFor();
    expect(await blocked.textContent()).toContain('tvec:branded_content');
    // Nobody else sees it.
    const res = await fetch(`${web.url}/v1/channels/${handle}/posts`);
    expect(JSON.stringify(await res.json())).not.toContain('look at this');
  }, 120_000);

  it.runIf(hasFfmpeg())('posts a video and a link: the video is shown once its check has run, the link as a link', async () => {
    await alice.page.goto(`/channels/c/${handle}`);
    await alice.page.getByRole('textbox', { name: /^Post/ }).fill('Clip of the flood, more at https://example.org/flood-report');
    await alice.page.getByLabel('Images or videos').setInputFiles({ name: 'clip.mp4', mimeType: 'video/mp4', buffer: video(3) });
    await alice.page.getByRole('button', { name: 'Post', exact: true }).click();
    await alice.page.getByText(/Posted \((pending|published)\)\./).waitFor({ timeout: 60_000 });
    // Readers see it once the background video check has passed.
    const reader = await web.person();
    for (let i = 0; i < 60; i++) {
      await reader.page.goto(`/channels/c/${handle}`);
      await reader.page.getByRole('heading', { level: 1, name: 'Morning News' }).waitFor();
      if (await reader.page.getByRole('list', { name: 'Posts' }).getByText(/Clip of the flood/).count()) break;
      await reader.page.waitForTimeout(500);
    }
    const item = reader.page.locator('li', { hasText: 'Clip of the flood' });
    await item.getByLabel('Video posted in Morning News').waitFor();
    expect(await item.getByRole('link', { name: 'https://example.org/flood-report' }).getAttribute('rel')).toContain('nofollow');
    await checkPage(reader, 'channel-video');
  }, 120_000);
});

