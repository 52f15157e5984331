/**
 * The messenger in real browsers: two people (two browser profiles) register, chat, send an image and a
 * file, compare safety numbers by scanning each other's QR code, keep drafts across reloads, catch up on
 * what arrived while offline, report a message, manage a group, link a second device by its code (which
 * then receives the chat from then on), and see a loud warning when the server slips in a ghost device.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { accountResponse, deviceCertificateBytes, deviceIdFor, toBase64Url } from '@doublelock/protocol';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, chromiumAvailable, PHONE, screenshotDir, startWeb, uniqueName, type Person, type WebHarness } from './harness.ts';
import { join } from 'node:path';
import { Messenger } from '../../../packages/client/src/messenger.ts';
import { MemoryStorage } from '../../../packages/client/src/storage/storage.ts';
import { deviceOptions, register as registerSdk, serverChangesIdentity, TestDevice } from '../../../packages/client/test/harness.ts';

async function register(person: Person, username: string): Promise<void> {
  await person.page.goto('/chats');
  await person.page.getByLabel('Choose a name').fill(username);
  await person.page.getByRole('button', { name: 'Create account' }).click();
  await person.page.getByText(`Signed in as ${username}`).waitFor({ timeout: 30_000 });
}

async function openChatWith(page: Page, name: string): Promise<void> {
  // On a phone the chat list gives way to the open chat: go back to it first.
  await page.getByRole('navigation', { name: 'Chats' }).or(page.getByRole('link', { name: '← All chats' })).first().waitFor({ timeout: 30_000 });
  if (!(await page.getByRole('navigation', { name: 'Chats' }).isVisible())) await page.getByRole('link', { name: '← All chats' }).click();
  await page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name }).click().catch(async (e: unknown) => {
    await page.screenshot({ path: join(screenshotDir, `failed-open-chat.png`), fullPage: true });
    throw e;
  });
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });
/** The delivery mark (sent, delivered, read) on one's own message with this text. */
const markOf = (page: Page, text: string) => messages(page).locator('li', { hasText: text }).locator('[data-delivery]');

describe.runIf(chromiumAvailable)('the messenger in Chromium', () => {
  let web: WebHarness;
  let alice: Person;
  let bob: Person;
  let aliceName: string;
  let bobName: string;
  beforeAll(async () => {
    web = await startWeb({ maxBlobBytes: 3 * 1024 * 1024 });
    alice = await web.person();
    bob = await web.person(PHONE);
    aliceName = uniqueName('alice');
    bobName = uniqueName('bob');
  }, 120_000);
  afterAll(async () => web?.close());

  it('registers two people; a taken name shows the server’s own message', async () => {
    await alice.page.goto('/chats');
    await alice.page.getByRole('heading', { name: 'Start using the messenger' }).waitFor();
    await checkPage(alice, 'messenger-welcome');
    await register(alice, aliceName);
    await register(bob, bobName);
    const intruder = await web.person();
    await intruder.page.goto('/chats');
    await intruder.page.getByLabel('Choose a name').fill(aliceName);
    await intruder.page.getByRole('button', { name: 'Create account' }).click();
    // The server's human message for username_taken, not a code or a stack.
    const alert = intruder.page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/taken/i);
    expect(intruder.errors.every((e) => /status of 409/.test(e))).toBe(true);
    await intruder.context.close();
  }, 120_000);

  it('keeps the device’s keys sealed in IndexedDB under a WebCrypto key no script can export', async () => {
    const found = await alice.page.evaluate(async (name) => {
      const open = (db: string) => new Promise<IDBDatabase>((resolve, reject) => { const r = indexedDB.open(db); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
      const get = <T,>(db: IDBDatabase, store: string, key: string) => new Promise<T>((resolve, reject) => { const r = db.transaction(store).objectStore(store).get(key); r.onsuccess = () => resolve(r.result as T); r.onerror = () => reject(r.error); });
      const all = (db: IDBDatabase) => new Promise<Array<Uint8Array>>((resolve, reject) => { const r = db.transaction('kv').objectStore('kv').getAll(); r.onsuccess = () => resolve(r.result as Uint8Array[]); r.onerror = () => reject(r.error); });
      const kv = await open('doublelock-web');
      const device = new Uint8Array(await get<Uint8Array>(kv, 'kv', 'device'));
      const values = (await all(kv)).map((v) => new Uint8Array(v));
      const key = await get<CryptoKey>(await open('doublelock-web-keys'), 'keys', 'messenger-storage');
      const exported = await crypto.subtle.exportKey('raw', key).then(() => 'exported', (e: Error) => e.name);
      const plain = values.some((v) => v.length > 1 && new TextDecoder().decode(v).includes(name));
      return { version: device[0], length: device.length, sealed: values.filter((v) => v[0] === 1).length, total: values.length, plain, extractable: key.extractable, algorithm: key.algorithm.name, exported };
    }, aliceName);
    // Every value is sealed (the marker is the one raw byte), none carries the account's name in clear.
    expect(found).toMatchObject({ version: 1, plain: false, extractable: false, algorithm: 'AES-GCM', exported: 'InvalidAccessError' });
    expect(found.sealed).toBe(found.total);
    expect(found.length).toBeGreaterThan(29);
  }, 60_000);

  it('chats: text both ways with delivery state, drafts kept across reloads, an image with its preview', async () => {
    await alice.page.getByRole('link', { name: 'New chat' }).click();
    await alice.page.getByLabel('With').fill(bobName);
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await alice.page.getByRole('heading', { level: 1, name: bobName }).waitFor({ timeout: 30_000 });
    await checkPage(alice, 'messenger-new-chat');
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('hello bob');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await messages(alice.page).getByText('hello bob').waitFor();
    await messages(alice.page).locator('[data-delivery]').first().waitFor();

    // Bob's chat list shows the new chat (pushed over the WebSocket), and the message.
    await openChatWith(bob.page, aliceName);
    await messages(bob.page).getByText('hello bob').waitFor();

    // A draft survives a reload.
    await bob.page.getByRole('textbox', { name: /^Message/ }).fill('half-written reply');
    await bob.page.reload();
    await bob.page.getByRole('heading', { level: 1, name: aliceName }).waitFor({ timeout: 30_000 });
    expect(await bob.page.getByRole('textbox', { name: /^Message/ }).inputValue()).toBe('half-written reply');
    await bob.page.getByRole('textbox', { name: /^Message/ }).fill('hi alice');
    await bob.page.getByRole('button', { name: 'Send' }).click();
    await messages(alice.page).getByText('hi alice').waitFor();
    expect(await bob.page.getByRole('textbox', { name: /^Message/ }).inputValue()).toBe('');
    await checkPage(bob, 'messenger-chat-phone');

    // An image of 14 chunks (a noisy photo, 640×480): sealed from the File in slices, with a WebP preview made
    // in alice's browser. Bob sees the preview first — only the preview's blob is fetched — then downloads
    // the exact bytes, with progress.
    const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 30, b: 60 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).png().toBuffer();
    expect(png.length).toBeGreaterThan(13 * 64 * 1024);
    const blobRequests: string[] = [];
    bob.page.on('request', (r) => /\/blobs\//.test(r.url()) && r.method() === 'GET' && blobRequests.push(r.url()));
    await alice.page.getByLabel('Attach an image or file').setInputFiles({ name: 'noisy.png', mimeType: 'image/png', buffer: png });
    await alice.page.getByRole('img', { name: 'Preview of noisy.png' }).waitFor();
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('a noisy photo');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const preview = messages(bob.page).getByRole('img', { name: 'a noisy photo (preview)' });
    await preview.waitFor({ timeout: 30_000 });
    await expect.poll(() => preview.evaluate((img: HTMLImageElement) => (img.complete ? `${img.naturalWidth}x${img.naturalHeight}` : ''))).toBe('320x240');
    expect(await preview.evaluate((img: HTMLImageElement) => fetch(img.src).then((r) => r.blob()).then((b) => b.type))).toBe('image/webp');
    expect(blobRequests).toHaveLength(1); // the preview's blob, not the file's
    const getPhoto = messages(bob.page).getByRole('button', { name: /Download noisy\.png \(\d+ KB\)/ });
    const [photo] = await Promise.all([bob.page.waitForEvent('download'), getPhoto.click()]);
    const photoPath = join(screenshotDir, 'noisy.png');
    await photo.saveAs(photoPath);
    expect(Buffer.compare((await import('node:fs')).readFileSync(photoPath), png)).toBe(0);
    await messages(bob.page).getByRole('img', { name: 'a noisy photo', exact: true }).waitFor();
    expect(blobRequests).toHaveLength(2);

    // A server (or network) that alters one byte of the file's second chunk: the browser refuses it with
    // the reason, and hands over nothing.
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
    await alice.page.getByLabel('Attach an image or file').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: data });
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const getData = messages(bob.page).getByRole('button', { name: /Download data\.bin/ });
    await getData.waitFor({ timeout: 30_000 });
    await bob.page.route('**/blobs/**', async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[32 + 64 * 1024 + 16 + 100]! ^= 1; // past the commitment and chunk 0 (64 KiB + tag): inside chunk 1
      await route.fulfill({ response, body });
    });
    let saved = 0;
    bob.page.on('download', () => saved++);
    await getData.click();
    await messages(bob.page).getByRole('alert').filter({ hasText: 'data.bin was refused and not saved.' }).filter({ hasText: 'chunk 1 of the attachment does not verify' }).waitFor({ timeout: 30_000 });
    expect(saved).toBe(0);
    await bob.page.unroute('**/blobs/**');

    // A file larger than the server takes (this server: 3 MiB) is refused as soon as it is chosen: nothing is
    // sealed or uploaded.
    const puts: string[] = [];
    alice.page.on('request', (r) => /\/blobs\//.test(r.url()) && r.method() === 'PUT' && puts.push(r.url()));
    await alice.page.getByLabel('Attach an image or file').setInputFiles({ name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3.5 * 1024 * 1024, 7) });
    await alice.page.getByRole('alert').filter({ hasText: 'huge.bin is 3.5 MB; this server takes files up to 3.0 MB. Nothing was sent.' }).waitFor();
    await alice.page.getByRole('button', { name: 'Send' }).click();
    expect(puts).toEqual([]);
    // A file, downloaded and decrypted intact.
    await alice.page.getByLabel('Attach an image or file').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('minutes of the meeting') });
    await alice.page.getByRole('button', { name: 'Send' }).click();
    const downloadButton = messages(bob.page).getByRole('button', { name: /Download notes\.txt/ });
    await downloadButton.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([bob.page.waitForEvent('download'), downloadButton.click()]);
    const path = join(screenshotDir, 'notes.txt');
    await download.saveAs(path);
    expect((await import('node:fs')).readFileSync(path, 'utf8')).toBe('minutes of the meeting');
    await checkPage(alice, 'messenger-chat');
  }, 180_000);

  it('works by keyboard alone: Tab to the message box, type, Enter sends; focus stays visible', async () => {
    await openChatWith(alice.page, bobName);
    await alice.page.locator('body').focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await alice.page.keyboard.press('Tab');
      reached = await alice.page.evaluate(() => (document.activeElement as HTMLElement | null)?.tagName === 'TEXTAREA');
      const visible = await alice.page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return !el || el === document.body || getComputedStyle(el).outlineStyle !== 'none';
      });
      expect(visible).toBe(true);
    }
    expect(reached).toBe(true);
    await alice.page.keyboard.type('typed without a mouse');
    await alice.page.keyboard.press('Enter');
    await messages(bob.page).getByText('typed without a mouse').waitFor({ timeout: 30_000 });
  }, 120_000);

  it('catches up on reload with what arrived while the page was closed', async () => {
    await bob.page.goto('about:blank');
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('sent while you were away');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await messages(alice.page).getByText('sent while you were away').waitFor();
    // Bob's only device is offline: sent, not delivered.
    const mark = markOf(alice.page, 'sent while you were away');
    expect(await mark.textContent()).toBe(' · Sent ✓');
    await bob.page.goto('/chats');
    // His browser fetched it (the chat not yet opened): delivered, not read.
    await alice.page.locator('li', { hasText: 'sent while you were away' }).locator('[data-delivery="delivered"]').waitFor({ timeout: 30_000 });
    expect(await mark.textContent()).toBe(' · Delivered ✓✓');
    await openChatWith(bob.page, aliceName);
    await messages(bob.page).getByText('sent while you were away').waitFor({ timeout: 30_000 });
    // He sees it: his read receipt reaches her.
    await alice.page.locator('li', { hasText: 'sent while you were away' }).locator('[data-delivery="read"]').waitFor({ timeout: 30_000 });
    expect(await mark.textContent()).toBe(' · Read ✓✓');
  }, 120_000);

  it('read receipts follow the setting, both ways: off, none is sent and none is shown', async () => {
    await bob.page.getByRole('link', { name: '← All chats' }).click(); // on his phone the list gives way to the chat
    await bob.page.getByRole('link', { name: 'Settings' }).click();
    const box = bob.page.getByRole('checkbox', { name: /Read receipts/ });
    expect(await box.isChecked()).toBe(true);
    await box.uncheck();
    await bob.page.getByRole('checkbox', { name: /Read receipts/, checked: false }).waitFor();
    await checkPage(bob, 'messenger-settings-phone');
    await openChatWith(bob.page, aliceName);
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('will you tell me you read this?');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await messages(bob.page).getByText('will you tell me you read this?').waitFor({ timeout: 30_000 });
    await bob.page.getByRole('textbox', { name: /^Message/ }).fill('read it, not telling');
    await bob.page.getByRole('button', { name: 'Send' }).click();
    // Her reply arrives after anything he sent before it (one group, one order): no receipt came.
    await messages(alice.page).getByText('read it, not telling').waitFor({ timeout: 30_000 });
    await alice.page.locator('li', { hasText: 'will you tell me you read this?' }).locator('[data-delivery="delivered"]').waitFor({ timeout: 30_000 });
    // She read his reply (her receipts are on) and wrote again: he, with receipts off, is not shown that.
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('fair enough');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await messages(bob.page).getByText('fair enough').waitFor({ timeout: 30_000 });
    await bob.page.locator('li', { hasText: 'read it, not telling' }).locator('[data-delivery="delivered"]').waitFor({ timeout: 30_000 });
    await bob.page.getByRole('link', { name: '← All chats' }).click();
    await bob.page.getByRole('link', { name: 'Settings' }).click();
    await bob.page.getByRole('checkbox', { name: /Read receipts/ }).check();
    await bob.page.getByRole('checkbox', { name: /Read receipts/, checked: true }).waitFor();
  }, 120_000);

  it('compares safety numbers: the same 60 digits on both sides, and a scanned QR code matches', async () => {
    await alice.page.getByRole('link', { name: 'Safety number' }).first().click();
    const aliceDigits = await alice.page.locator('[data-safety-number]').getAttribute('data-safety-number', { timeout: 30_000 });
    await bob.page.goto(`/chats/safety/${aliceName}`);
    const bobDigits = await bob.page.locator('[data-safety-number]').getAttribute('data-safety-number', { timeout: 30_000 });
    expect(aliceDigits).toMatch(/^\d{60}$/);
    expect(bobDigits).toBe(aliceDigits);
    await checkPage(alice, 'messenger-safety-number');
    // Bob "scans" Alice's screen: a picture of her QR code, decoded in his browser.
    const qr = await alice.page.getByRole('img', { name: /QR code of the safety number/ }).screenshot();
    await bob.page.getByLabel(/Or choose a picture of/).setInputFiles({ name: 'qr.png', mimeType: 'image/png', buffer: qr });
    await bob.page.getByText('The safety numbers match').waitFor();
  }, 120_000);

  it('reports a message: the server verifies the franked report', async () => {
    await openChatWith(alice.page, bobName);
    const item = messages(alice.page).locator('li', { hasText: 'hi alice' });
    await item.getByRole('button', { name: 'Report' }).click();
    await item.getByLabel('Why are you reporting this message?').fill('spam');
    await item.getByRole('button', { name: 'Send report' }).click();
    await item.getByText(/Reported\. The server checked/).waitFor();
  }, 60_000);

  it('groups: create, add, rename, remove; the removed person stops receiving', async () => {
    const carol = await web.person();
    const carolName = uniqueName('carol');
    await register(carol, carolName);
    await alice.page.getByRole('link', { name: 'New chat' }).click();
    await alice.page.getByLabel('With').fill(bobName);
    await alice.page.getByLabel('Group name').fill('Book club');
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await alice.page.getByRole('heading', { level: 1, name: 'Book club' }).waitFor({ timeout: 30_000 });
    await alice.page.getByLabel('Add people').fill(carolName);
    await alice.page.getByRole('button', { name: 'Add', exact: true }).click();
    await alice.page.getByRole('button', { name: `Remove ${carolName}` }).waitFor({ timeout: 30_000 });
    await alice.page.getByLabel('Rename the chat').fill('Reading group');
    await alice.page.getByRole('button', { name: 'Rename', exact: true }).click();
    await alice.page.getByRole('heading', { level: 1, name: 'Reading group' }).waitFor({ timeout: 30_000 });
    await carol.page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name: 'Reading group' }).waitFor({ timeout: 30_000 });
    await alice.page.getByRole('button', { name: `Remove ${carolName}` }).click();
    await alice.page.getByRole('button', { name: `Remove ${carolName}` }).waitFor({ state: 'detached', timeout: 30_000 });
    await alice.page.getByRole('textbox', { name: /^Message/ }).fill('carol is gone');
    await alice.page.getByRole('button', { name: 'Send' }).click();
    await openChatWith(bob.page, 'Reading group');
    await messages(bob.page).getByText('carol is gone').waitFor({ timeout: 30_000 });
    await carol.page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name: 'Reading group' }).waitFor({ state: 'detached', timeout: 30_000 });
    // Bob leaves; Alice's device commits his removal.
    await bob.page.getByRole('button', { name: 'Leave this chat' }).click();
    await bob.page.getByRole('navigation', { name: 'Chats' }).getByRole('link', { name: 'Reading group' }).waitFor({ state: 'detached', timeout: 30_000 });
    await alice.page.getByRole('button', { name: `Remove ${bobName}` }).waitFor({ state: 'detached', timeout: 30_000 });
    await carol.context.close();
  }, 180_000);

  it('offers add, remove and rename only to the admins of a chat that has admins', async () => {
    // Dora's device (the SDK) makes a chat where only she manages, with Alice (this browser) in it.
    const dora = await registerSdk(web.url, uniqueName('dora'), 2);
    const doraName = dora.messenger.username;
    const chat = await dora.messenger.createGroup('Admins only', [aliceName], { admins: true });
    await openChatWith(alice.page, 'Admins only');
    const people = alice.page.getByRole('region', { name: 'People and settings' });
    await people.getByText(`Only this chat’s admins add, remove and rename (admins: ${doraName})`).waitFor({ timeout: 30_000 });
    expect(await people.getByRole('button', { name: `Remove ${doraName}` }).count()).toBe(0);
    expect(await people.getByLabel('Add people').count()).toBe(0);
    expect(await people.getByLabel('Rename the chat').count()).toBe(0);
    await people.getByRole('button', { name: 'Leave this chat' }).waitFor();
    await checkPage(alice, 'messenger-not-admin');
    // Named an admin by Dora's commit, Alice's screen offers the actions.
    await dora.messenger.setAdmins(chat, [doraName, aliceName]);
    await people.getByRole('button', { name: `Remove ${doraName}` }).waitFor({ timeout: 30_000 });
    await people.getByLabel('Add people').waitFor();
    await people.getByLabel('Rename the chat').waitFor();
    await people.getByText('You are an admin of this chat').waitFor();
    // Demoted while the push channel holds back Dora's commit, Alice still sees the controls and clicks: her
    // device catches up on the refused commit and shows the plain refusal; the controls then go.
    let holdPushes = false;
    await alice.page.routeWebSocket(/./, (ws) => {
      const server = ws.connectToServer();
      server.onMessage((message) => !holdPushes && ws.send(message));
    });
    await alice.page.reload();
    await people.getByRole('button', { name: `Remove ${doraName}` }).waitFor({ timeout: 30_000 });
    holdPushes = true;
    await dora.messenger.setAdmins(chat, [doraName]);
    const refusals = /status of (409|403)/;
    alice.expected.push(refusals);
    await people.getByRole('button', { name: `Remove ${doraName}` }).click();
    await people.getByRole('alert').getByText(`${aliceName} is not an admin of this group and may not remove ${doraName}`).waitFor({ timeout: 30_000 });
    await people.getByRole('button', { name: `Remove ${doraName}` }).waitFor({ state: 'detached', timeout: 30_000 });
    alice.expected.splice(alice.expected.indexOf(refusals), 1);
    holdPushes = false;
    await alice.page.unrouteAll();
    await alice.page.reload(); // a plain push channel again for the tests that follow
    await dora.messenger.close();
  }, 90_000);

  it('shows in the chat that a member’s device lost its state and rejoined, and confirms the rejoin', async () => {
    // Frank's device (the SDK) makes a group with Alice (this browser) and George, is backed up, and moves on.
    const storage = new MemoryStorage();
    const frank = await registerSdk(web.url, uniqueName('frank'), 6, { storage });
    const george = await registerSdk(web.url, uniqueName('george'));
    const chat = await frank.messenger.createGroup('Rejoiners', [aliceName, george.messenger.username], { admins: true });
    await george.messenger.sync();
    await openChatWith(alice.page, 'Rejoiners');
    const backup = new MemoryStorage();
    await backup.write(await Promise.all((await storage.keys('')).map(async (key) => ({ key, value: (await storage.get(key))! }))));
    await frank.messenger.setAdmins(chat, [frank.messenger.username, george.messenger.username]);
    await frank.messenger.sync();
    await frank.messenger.close();
    // Restored from the backup, it finds it cannot follow the group and rejoins by external commit.
    const restored = new TestDevice(await Messenger.open(await deviceOptions(web.url, { storage: backup })));
    await george.messenger.sendText(chat, 'anyone there?');
    await restored.messenger.sync();
    expect(restored.events).toContainEqual({ type: 'rejoin_pending', groupId: chat });
    await messages(alice.page).getByText(`${frank.messenger.username}’s device lost its state and rejoined`).waitFor({ timeout: 30_000 });
    await checkPage(alice, 'messenger-rejoined');
    // Alice's browser confirmed it to Frank's device, which now counts itself back and can send.
    await expect.poll(async () => (await restored.messenger.sync(), restored.events.some((e) => e.type === 'rejoined')), { timeout: 30_000 }).toBe(true);
    await restored.messenger.sendText(chat, 'back from a backup');
    await messages(alice.page).getByText('back from a backup').waitFor({ timeout: 30_000 });
    await restored.messenger.close();
  }, 120_000);

  it('links a second device by its code (made on the new device, approved on the old); it receives the chat from then on; then it is revoked', async () => {
    // The new browser makes its own keys and shows a code (and its QR code)…
    const laptop = await web.person();
    await laptop.page.goto('/chats');
    await laptop.page.getByRole('textbox', { name: /^Your account name/ }).fill(aliceName);
    await laptop.page.getByRole('button', { name: 'Show my link code' }).click();
    const code = (await laptop.page.locator('[data-link-code]').getAttribute('data-link-code', { timeout: 30_000 }))!;
    await laptop.page.getByRole('img', { name: /QR code of this browser/ }).waitFor();
    // …which one of Alice's devices approves.
    await alice.page.getByRole('link', { name: 'Devices' }).click();
    await alice.page.getByRole('heading', { name: 'Your devices' }).waitFor();
    await checkPage(alice, 'messenger-devices');
    await alice.page.getByLabel('Name of the new device').fill('laptop');
    await alice.page.getByRole('textbox', { name: /^Code shown on the new device/ }).fill(code);
    await alice.page.getByRole('button', { name: 'Approve', exact: true }).click();
    await laptop.page.getByText(`Signed in as ${aliceName}`).waitFor({ timeout: 30_000 });
    await alice.page.getByText('The new device is in all your chats').waitFor({ timeout: 60_000 });
    await openChatWith(laptop.page, bobName);
    await openChatWith(bob.page, aliceName);
    await bob.page.getByRole('textbox', { name: /^Message/ }).fill('for both of your devices');
    await bob.page.getByRole('button', { name: 'Send' }).click();
    await messages(laptop.page).getByText('for both of your devices').waitFor({ timeout: 30_000 });
    // History before the link is not readable there (forward secrecy): only from then on.
    expect(await messages(laptop.page).getByText('hello bob').count()).toBe(0);

    await alice.page.getByRole('link', { name: 'Devices' }).click();
    await alice.page.getByRole('button', { name: 'Revoke laptop' }).click();
    await alice.page.getByRole('cell', { name: /revoked/ }).waitFor({ timeout: 30_000 });
    await laptop.context.close();
  }, 180_000);

  it('warns loudly, in plain words, when the server slips a ghost device into an account', async () => {
    const victim = await web.person();
    const victimName = uniqueName('dave');
    await register(victim, victimName);
    // The server (played by the network layer) swaps Dave's identity and lists a device it controls.
    const attackerIdentity = ed25519.utils.randomSecretKey();
    const ghost = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    await alice.page.route(`**/v1/accounts/${victimName}`, async (route) => {
      const response = await route.fetch();
      const account = accountResponse.parse(await response.json());
      const createdAt = Date.now();
      const cert = ed25519.sign(deviceCertificateBytes({ username: victimName, signatureKey: ghost, name: 'ghost', createdAt }), attackerIdentity);
      await route.fulfill({
        response,
        json: { ...account, identityKey: toBase64Url(ed25519.getPublicKey(attackerIdentity)), devices: [{ deviceId: deviceIdFor(ghost), signatureKey: toBase64Url(ghost), name: 'ghost', createdAt, accountSignature: toBase64Url(cert), revokedAt: null }] },
      });
    });
    await alice.page.getByRole('link', { name: 'New chat' }).click();
    await alice.page.getByLabel('With').fill(victimName);
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    const warning = alice.page.getByRole('alert').filter({ hasText: 'not the ones in the public log' });
    await warning.first().waitFor({ timeout: 30_000 });
    expect(await warning.first().textContent()).toContain('ghost');
    await alice.page.unroute(`**/v1/accounts/${victimName}`);
    alice.errors.length = 0; // the refused request is logged by the browser, by design
    await checkPage(alice, 'messenger-ghost-warning');
    await victim.context.close();
  }, 120_000);

  it('verifies a contact; when the contact’s identity key and device change, warns loudly and sends nothing until the new number is accepted', async () => {
    const carol = await web.person();
    const carolName = uniqueName('carol');
    await register(carol, carolName);
    const erin = await registerSdk(web.url, uniqueName('erin'));
    const erinName = erin.messenger.username;
    await carol.page.getByRole('link', { name: 'New chat' }).click();
    await carol.page.getByLabel('With').fill(erinName);
    await carol.page.getByRole('button', { name: 'Start chat' }).click();
    await carol.page.getByRole('heading', { level: 1, name: erinName }).waitFor({ timeout: 30_000 });
    await carol.page.getByRole('link', { name: 'Safety number' }).click();
    const before = await carol.page.locator('[data-safety-number]').getAttribute('data-safety-number', { timeout: 30_000 });
    expect(before).toBe((await erin.messenger.safetyNumber(carolName)).replace(/\s+/g, ''));
    await carol.page.getByRole('button', { name: `Mark ${erinName} as verified` }).click();
    await carol.page.getByText('Verified ✓').waitFor();
    await checkPage(carol, 'messenger-verified');

    // Erin's account gets a new identity key with a device certified by it (a reinstall, or a server
    // putting itself in the middle); the directory logs it, so key transparency has nothing to object to.
    await serverChangesIdentity(web.server, erinName);

    await openChatWith(carol.page, erinName);
    const warning = carol.page.getByRole('alert').filter({ hasText: `${erinName}’s safety number has changed` });
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toContain(`You had verified ${erinName}`);
    await checkPage(carol, 'messenger-safety-number-changed');
    // Adding Erin again (her new device) is refused until Carol accepts the new number.
    await carol.page.getByLabel('Add people').fill(erinName);
    await carol.page.getByRole('button', { name: 'Add', exact: true }).click();
    await carol.page.getByRole('alert').filter({ hasText: /identity key .* changed/ }).waitFor({ timeout: 30_000 });

    await warning.getByRole('link', { name: 'Look at the new safety number' }).click();
    await carol.page.getByRole('button', { name: 'I have compared it: accept the new safety number' }).click();
    await carol.page.getByRole('button', { name: `Mark ${erinName} as verified` }).waitFor();
    // The number shown now is the new key's: not the one Carol verified.
    const after = await carol.page.locator('[data-safety-number]').getAttribute('data-safety-number');
    expect(after).toMatch(/^\d{60}$/);
    expect(after).not.toBe(before);
    await openChatWith(carol.page, erinName);
    expect(await carol.page.getByRole('alert').filter({ hasText: 'safety number has changed' }).count()).toBe(0);
    await carol.context.close();
  }, 120_000);
});
