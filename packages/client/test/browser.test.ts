/**
 * The SDK in a real browser (Chromium): bundled for the browser with no Node module, keeping its MLS
 * state in IndexedDB, chatting with a Node device through the real server, and still able to read new
 * messages after the page reloads (its state came back from IndexedDB, not from memory).
 */
import { requireBinary } from '@doublelock/store/testing';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumInstalled, launchChromium } from './browser/chromium.ts';
import type { WebSocketConstructor } from '../src/api/mailboxSocket.ts';
import { register, server, uniqueName } from './harness.ts';
import { EXPECTED_OBSERVATIONS } from './storageContract.ts';

const available = requireBinary('Chromium', chromiumInstalled());

describe.runIf(available)('the SDK in Chromium', () => {
  let srv: Awaited<ReturnType<typeof server>>;
  let browser: Browser;
  let bundle: string;

  beforeAll(async () => {
    srv = await server();
    const result = await build({
      entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'Doublelock',
      write: false,
      logLevel: 'silent',
    });
    bundle = result.outputFiles[0]!.text;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  /** Loads the SDK into a page served from the server's own origin (so no CORS is involved). */
  async function openPage(page: Page): Promise<void> {
    await page.goto(`${srv.url}/healthz`);
    await page.addScriptTag({ content: bundle });
  }

  it('passes the storage contract on IndexedDB', async () => {
    const page = await browser.newPage();
    await openPage(page);
    const observed = await page.evaluate(async () => {
      const { IndexedDbStorage, exerciseStorage } = (globalThis as unknown as { Doublelock: typeof import('./browser/entry.ts') }).Doublelock;
      return exerciseStorage(await IndexedDbStorage.open(`contract-${Math.random()}`));
    });
    expect(observed).toEqual(EXPECTED_OBSERVATIONS);
    await page.close();
  });

  it('chats with a Node device, keeps its state in IndexedDB, and reads new messages after a reload', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await openPage(page);

    const browserUser = uniqueName('web');
    const bob = await register(srv.url, uniqueName('bob'));
    const chat = await page.evaluate(
      async ({ username, peer }) => {
        const { Messenger, IndexedDbStorage } = (globalThis as unknown as { Doublelock: typeof import('./browser/entry.ts') }).Doublelock;
        const storage = await IndexedDbStorage.open('doublelock-test');
        const me = await Messenger.register({ serverUrl: location.origin, storage, webSocket: WebSocket as unknown as WebSocketConstructor }, username);
        const groupId = await me.createChat(peer);
        await me.sendText(groupId, 'hello from the browser');
        return groupId;
      },
      { username: browserUser, peer: bob.messenger.username },
    );
    await bob.messenger.sync();
    expect(bob.texts).toEqual([`${browserUser}: hello from the browser`]);

    await bob.messenger.sendText(chat, 'hello, browser');
    await page.reload();
    await openPage(page);
    const received = await page.evaluate(async () => {
      const { Messenger, IndexedDbStorage } = (globalThis as unknown as { Doublelock: typeof import('./browser/entry.ts') }).Doublelock;
      const me = await Messenger.open({ serverUrl: location.origin, storage: await IndexedDbStorage.open('doublelock-test'), webSocket: WebSocket as unknown as WebSocketConstructor });
      const texts: string[] = [];
      me.on((e) => {
        if (e.type === 'message' && e.message.content.type === 'text') texts.push(e.message.content.text);
      });
      await me.sync();
      return texts;
    });
    expect(received).toEqual(['hello, browser']);
    expect(errors).toEqual([]);
    expect(bob.rejections).toEqual([]);
    await page.close();
  }, 120_000);
});
