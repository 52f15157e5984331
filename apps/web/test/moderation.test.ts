/**
 * Notice and action in browsers: an uploader whose image was refused reads the statement of reasons and
 * appeals, and the appeal reaches the moderators' console, where one decides it; a removal order arrives
 * (signed by a registered authority), the moderator sees its deadline counting down, looks at the media
 * only after choosing to (blurred and greyscale until then), and removes the post within the hour.
 */
import { listQueue, signAuthorityRequest } from '@doublelock/cases';
import { BankSettingsStore, BankStore, hashImage } from '@doublelock/moderation';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { picture } from '../../server/test/media.ts';
import { checkPage, chromiumAvailable, startWeb, uniqueName, type Person, type WebHarness } from './harness.ts';

async function register(person: Person, username: string): Promise<void> {
  await person.page.goto('/chats');
  await person.page.getByLabel('Choose a name').fill(username);
  await person.page.getByRole('button', { name: 'Create account' }).click();
  await person.page.getByText(`Signed in as ${username}`).waitFor({ timeout: 30_000 });
}

describe.runIf(chromiumAvailable)('the moderation console in Chromium', () => {
  let web: WebHarness;
  let uploader: Person;
  let moderator: Person;
  const authorityKey = ed25519.utils.randomSecretKey();
  const handle = uniqueName('feed').toLowerCase().slice(0, 30);
  let modName: string;
  beforeAll(async () => {
    web = await startWeb({ bankRefreshMs: 60_000, moderationWorkMs: 200, casesProvider: 'social.test' });
    const banks = new BankStore(web.server.db);
    await banks.createBank('tvec', 'known terrorist content');
    await banks.addSignal('tvec', { type: 'pdq', value: (await hashImage(await picture(1))).pdq.original, labels: ['tvec:branded_content'] });
    await new BankSettingsStore(web.server.db).set('tvec', { publicLabel: 'Known terrorist content (hash-sharing database)' });
    await web.server.ctx.moderation.banks.refresh();
    await web.server.ctx.cases.authorities.register({ id: 'de-bka', name: 'Bundeskriminalamt', memberState: 'DE', publicKey: ed25519.getPublicKey(authorityKey), contact: 'tco@bka.example' }, 'operator', Date.now());
    uploader = await web.person();
    await register(uploader, uniqueName('uploader'));
    moderator = await web.person();
    modName = uniqueName('mod');
    await register(moderator, modName);
    // The operator grants the role on the store (as `doublelock moderation role grant` does).
    await web.server.ctx.cases.roles.grant(modName, 'moderator', 'operator', Date.now());
    await uploader.page.goto('/channels');
    await uploader.page.getByLabel(/^Handle/).fill(handle);
    await uploader.page.getByLabel('Channel name').fill('Feed');
    await uploader.page.getByRole('button', { name: 'Create channel' }).click();
    await uploader.page.getByRole('link', { name: `@${handle}` }).waitFor();
  }, 180_000);
  afterAll(async () => web?.close());

  async function post(text: string, image?: Buffer): Promise<void> {
    await uploader.page.goto(`/channels/c/${handle}`);
    await uploader.page.getByRole('textbox', { name: /^Post/ }).fill(text);
    if (image) await uploader.page.getByLabel('Images or videos').setInputFiles({ name: 'p.jpg', mimeType: 'image/jpeg', buffer: image });
    await uploader.page.getByRole('button', { name: 'Post', exact: true }).click();
  }

  it('a refused upload’s statement of reasons, the uploader’s appeal, and the moderator deciding it', async () => {
    await post('our poster', await picture(1));
    await uploader.page.getByRole('alert').filter({ hasText: 'Your post was not published' }).waitFor({ timeout: 30_000 });
    await web.server.ctx.cases.sweep(); // takes the upload check's decision in, with its statement
    await uploader.page.getByRole('link', { name: 'Statements of reasons and appeals' }).first().click();
    await uploader.page.getByRole('heading', { level: 1, name: 'Statements of reasons' }).waitFor();
    await uploader.page.locator('[data-statement]').first().waitFor({ timeout: 30_000 });
    uploader.errors.length = 0; // the refused post (422) was logged by the browser
    await checkPage(uploader, 'statements');
    await uploader.page.getByLabel('Why the decision is wrong').fill('It is a news report about the group, not their propaganda.');
    await uploader.page.getByRole('button', { name: 'Appeal' }).click();
    await uploader.page.getByText('Appeal received').waitFor();

    await moderator.page.goto('/moderation/appeals');
    const card = moderator.page.locator('section', { hasText: 'It is a news report about the group' });
    await card.waitFor({ timeout: 30_000 });
    await checkPage(moderator, 'moderation-appeals');
    await card.getByRole('button', { name: 'Claim this appeal' }).click();
    await card.getByLabel('Reasons for the outcome').fill('The image is the group’s branded content, whatever the caption.');
    await card.getByRole('button', { name: 'Uphold the decision' }).click();
    await moderator.page.getByText('No appeal waiting.').waitFor({ timeout: 30_000 });
  }, 180_000);

  it('a removal order counts down in the queue; the moderator reveals the media, then removes it inside the hour', async () => {
    await post('wanted: fighters, see picture', await picture(5));
    await uploader.page.getByText('Posted (published).').waitFor({ timeout: 30_000 });
    const feed = (await (await fetch(`${web.url}/v1/channels/${handle}/posts`)).json()) as { items: Array<{ type: string; post?: { id: number; text: string } }> };
    const target = feed.items.find((i) => i.post?.text.startsWith('wanted'))!.post!;
    const order = signAuthorityRequest('de-bka', authorityKey, {
      type: 'removal_order',
      provider: 'social.test',
      body: { reference: 'BKA-7', memberState: 'DE', issuingAuthority: 'Bundeskriminalamt', content: [{ url: `${web.url}/v1/posts/${target.id}` }], grounds: ['incitement'], reasons: 'Recruits fighters.', feedbackContact: 'tco@bka.example', redress: 'VG Wiesbaden' },
    });
    const received = await fetch(`${web.url}/v1/moderation/removal-orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
    expect(received.status, await received.clone().text()).toBe(201);
    const { caseIds } = (await received.json()) as { caseIds: number[] };

    await moderator.page.goto('/moderation');
    const row = moderator.page.getByRole('row', { name: new RegExp(`#${caseIds[0]}`) });
    await row.waitFor({ timeout: 30_000 });
    const first = await row.locator('[data-due]').textContent();
    expect(first).toMatch(/^due in \d+m \d\ds$/);
    await moderator.page.waitForTimeout(1500);
    expect(await row.locator('[data-due]').textContent()).not.toBe(first); // it counts down
    await checkPage(moderator, 'moderation-queue');

    await row.getByRole('link').click();
    await moderator.page.getByText('Removal order BKA-7').waitFor();
    const image = moderator.page.getByRole('img', { name: 'Reported image' });
    expect(await image.evaluate((img) => getComputedStyle(img).filter)).toMatch(/blur.*grayscale/);
    await checkPage(moderator, 'moderation-case');
    await moderator.page.getByRole('button', { name: 'Reveal this media' }).click();
    expect(await image.evaluate((img) => getComputedStyle(img).filter)).toBe('none');
    await moderator.page.getByRole('button', { name: 'Claim this case' }).click();
    await moderator.page.getByLabel('Facts relied on (the uploader reads this)').fill('The post recruits fighters for a designated group.');
    await moderator.page.getByRole('button', { name: 'Decide' }).click();
    await moderator.page.getByText(/Decided\. The statement of reasons/).waitFor({ timeout: 30_000 });
    expect((await fetch(`${web.url}/v1/posts/${target.id}`)).status).toBe(404);
    const status = signAuthorityRequest('de-bka', authorityKey, { type: 'order_status', provider: 'social.test', body: { reference: 'BKA-7' } });
    const feedback = (await (await fetch(`${web.url}/v1/moderation/removal-orders/status`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(status) })).json()) as { complete: boolean; withinOneHour: boolean };
    expect(feedback).toMatchObject({ complete: true, withinOneHour: true });
  }, 180_000);

  it('crisis mode: an incident’s hashes sent in batches with a progress bar; a matching upload is held; then closed', async () => {
    await web.server.ctx.cases.roles.grant(modName, 'admin', 'operator', Date.now());
    await moderator.page.goto('/moderation/crisis');
    await moderator.page.getByLabel('Incident name').fill('Live-streamed attack');
    await moderator.page.getByLabel('What is happening').fill('Copies of the attacker’s video are being re-uploaded.');
    await moderator.page.getByRole('button', { name: 'Declare the incident' }).click();
    const card = moderator.page.locator('section', { hasText: 'OPEN: Live-streamed attack' });
    await card.waitFor({ timeout: 30_000 });
    const crisisImage = await picture(9);
    const hex = () => Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
    const list = [`pdq,${(await hashImage(crisisImage)).pdq.original}`, ...Array.from({ length: 1200 }, hex)].join('\n');
    await card.getByLabel(/Add hashes from a list/).setInputFiles({ name: 'hashes.txt', mimeType: 'text/plain', buffer: Buffer.from(list) });
    await card.getByText('Added 1201 hash(es)').waitFor({ timeout: 60_000 });
    expect(await card.getByRole('progressbar').evaluate((p: HTMLProgressElement) => [p.value, p.max])).toEqual([1201, 1201]);
    await checkPage(moderator, 'moderation-crisis');
    await web.server.ctx.moderation.banks.refresh();
    await post('footage from today', crisisImage);
    await uploader.page.getByText('Posted (held).').waitFor({ timeout: 30_000 });
    await card.getByLabel('Debrief').fill('Over: 1 copy held.');
    await card.getByRole('button', { name: 'Close the incident' }).click();
    await moderator.page.getByRole('heading', { name: 'Closed: Live-streamed attack' }).waitFor({ timeout: 30_000 });
  }, 180_000);

  it('banks: a file imported in pieces behind a progress bar, the rules test, and a held upload’s PDQ match side by side', async () => {
    await web.server.ctx.cases.roles.grant(modName, 'admin', 'operator', Date.now());
    const page = moderator.page;
    await page.goto('/moderation');
    await page.getByRole('link', { name: 'Banks and rules' }).click();
    await page.getByLabel('New bank name').fill('web-import');
    await page.getByLabel('What it holds').fill('imported from the console');
    await page.getByRole('button', { name: 'Create bank' }).click();
    await page.locator('tr[data-bank="web-import"]').waitFor({ timeout: 30_000 });

    // 20,000 rows (about 1.7 MB): several pieces, so the bar moves; one row is malformed and skipped.
    const rows = ['signal_type,signal_str,collab,category,tags'];
    for (let i = 1; i <= 20_000; i++) rows.push(`sha256,${i.toString(16).padStart(64, '0')},web-test,,tvec:propaganda`);
    rows.splice(5000, 0, 'sha256,not-a-hash,web-test,,');
    await page.getByLabel('Skip malformed rows (they are listed)').check();
    await page.getByLabel('Into bank').selectOption('web-import');
    await page.getByLabel('Bank file', { exact: true }).setInputFiles({ name: 'export.csv', mimeType: 'text/csv', buffer: Buffer.from(rows.join('\n')) });
    const imported = page.getByRole('status').filter({ hasText: 'Imported' });
    await imported.waitFor({ timeout: 120_000 });
    expect(await imported.textContent()).toMatch(/20,000 signal\(s\) in [4-9] piece\(s\), 1 malformed row\(s\) skipped\. Published posts are being checked against them \(retro-sweep #\d+\)\.line 5001: /);
    const bar = page.getByRole('progressbar', { name: 'Import' });
    const [value, max] = await bar.evaluate((p: HTMLProgressElement) => [p.value, p.max]);
    expect(value).toBe(max);
    await expect.poll(() => page.locator('tr[data-bank="web-import"]').textContent()).toContain('sha256 20,000');
    const banks = new BankStore(web.server.db);
    expect((await banks.listBanks()).find((b) => b.name === 'web-import')!.counts.sha256).toBe(20_000);

    // Text rules: a small rules file, then what they (and a draft rule) catch in an evasive text.
    await page.getByLabel('New bank name').fill('web-words');
    await page.getByRole('button', { name: 'Create bank' }).click();
    await page.locator('tr[data-bank="web-words"]').waitFor({ timeout: 30_000 });
    await page.getByLabel('Into bank').selectOption('web-words');
    await page.getByLabel('Bank file', { exact: true }).setInputFiles({ name: 'rules.txt', mimeType: 'text/plain', buffer: Buffer.from('text join isis\n') });
    await page.getByRole('status').filter({ hasText: /^Imported1 signal/ }).waitFor({ timeout: 30_000 });
    const text = 'Please J0IN  I.S.I.S today #GlorifyTheAttack';
    await page.getByLabel('Text to test').fill(text);
    expect(await page.locator('[data-folded]').textContent()).toMatch(/^pieasejoinisistoday/);
    await page.getByLabel('Rules being drafted (one a line; not stored)').fill('#glorifytheattack');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page.locator('tr[data-rule="join isis"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('tr[data-rule="join isis"]').textContent()).toContain('“J0IN  I.S.I.S”');
    expect(await page.locator('tr[data-rule="#glorifytheattack"]').textContent()).toContain('draft');
    expect(await page.locator('[data-highlighted] mark').allTextContents()).toEqual(['J0IN  I.S.I.S', 'GlorifyTheAttack']);
    await checkPage(moderator, 'moderation-banks');

    // A bank that holds for review: the held upload's case shows the upload beside what is known of the match.
    const image = await picture(11);
    await banks.createBank('held-review', 'hold for a person');
    await banks.addSignal('held-review', { type: 'pdq', value: (await hashImage(image)).pdq.original, labels: ['tvec:attacker_manifesto'] });
    await new BankSettingsStore(web.server.db).set('held-review', { action: 'hold' });
    await web.server.ctx.moderation.banks.refresh();
    await post('is this the manifesto?', image);
    await uploader.page.getByText('Posted (held).').waitFor({ timeout: 30_000 });
    await web.server.ctx.cases.sweep();
    const held = (await listQueue(web.server.ctx.cases.ctx, { source: 'upload_hold' })).find((c) => c.matches.some((m) => m.bank === 'held-review'))!;
    await page.goto('/moderation');
    await page.getByRole('link', { name: new RegExp(`^#${held.id} `) }).click();
    const side = page.locator('.side-by-side');
    await side.waitFor({ timeout: 30_000 });
    expect(await side.textContent()).toMatch(/tvec:attacker_manifesto in bank held-review.*PDQ distance 0 of 256 bits \(the same picture.*The bank holds no reference image/);
    const shown = side.getByRole('img', { name: 'Reported image' });
    expect(await shown.evaluate((img) => getComputedStyle(img).filter)).toMatch(/blur.*grayscale/);
    // The held image is not public, yet the moderator sees it: through the case, with the session.
    await expect.poll(() => shown.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await checkPage(moderator, 'moderation-match');
  }, 240_000);
});

