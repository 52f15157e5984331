/**
 * Web app tests: the built app (apps/web/build.ts builds it when stale) served by a real server on
 * loopback, driven in Debian's Chromium by playwright-core. Each page check runs axe-core (no serious or
 * critical violation), takes a screenshot and checks it is not blank, and fails on any console error.
 */
import { startTestServer } from '@doublelock/server/testing';
import type { RunningServer, ServerConfig } from '@doublelock/server';
import { requireBinary } from '@doublelock/store/testing';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { expect } from 'vitest';
import { chromiumInstalled, launchChromium } from '../../../packages/client/test/browser/chromium.ts';
import { ensureWebBuilt, webDist } from '../build.ts';

export const chromiumAvailable = requireBinary('Chromium', chromiumInstalled());
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const screenshotDir = join(tmpdir(), 'doublelock-web-screenshots');
mkdirSync(screenshotDir, { recursive: true });

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 860 };

export interface WebHarness {
  server: RunningServer;
  browser: Browser;
  url: string;
  /** A fresh browser profile (its own IndexedDB and localStorage), like a separate person's browser. */
  person(viewport?: { width: number; height: number }): Promise<Person>;
  close(): Promise<void>;
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far. */
  errors: string[];
  /** Console errors that a test expects from here on (each with its reason in the test), not counted. */
  expected: RegExp[];
}

export async function startWeb(overrides: Partial<ServerConfig> = {}): Promise<WebHarness> {
  await ensureWebBuilt({ quiet: true });
  const server = await startTestServer({ webRoot: webDist, ...overrides });
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    server,
    browser,
    url: server.url,
    async person(viewport = DESKTOP) {
      const context = await browser.newContext({ viewport, baseURL: server.url });
      contexts.push(context);
      const page = await context.newPage();
      const errors: string[] = [];
      const expected: RegExp[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && !expected.some((e) => e.test(m.text()))) errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      return { context, page, errors, expected };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await server.close();
    },
  };
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core on the page as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/**
 * A screenshot of the page, checked to show something: more than one colour, and enough variation that
 * it is not a blank or single-colour page. Returns the file path (kept in the temp dir for a look).
 */
export async function expectScreenshot(person: Person, name: string): Promise<string> {
  const path = join(screenshotDir, `${name}.png`);
  const png = await person.page.screenshot({ path, fullPage: true });
  const stats = await sharp(png).stats();
  const spread = stats.channels.slice(0, 3).reduce((a, c) => a + c.stdev, 0);
  expect(spread, `screenshot ${name} looks blank`).toBeGreaterThan(5);
  expect(person.errors, `console errors on ${name}`).toEqual([]);
  return path;
}

/** Every check a main page gets: axe, a non-blank screenshot, no console error. */
export async function checkPage(person: Person, name: string): Promise<void> {
  await expectAccessible(person.page);
  await expectScreenshot(person, name);
}

/** Tabs through the page and checks that the focused element shows a visible focus indicator. */
export async function expectVisibleFocus(page: Page, presses = 3): Promise<void> {
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return { tag: el.tagName, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2, shadow: style.boxShadow !== 'none' };
    });
    expect(focus, 'Tab moved focus to an element').not.toBeNull();
    expect(focus!.outline || focus!.shadow, `focus on ${focus!.tag} is visible`).toBe(true);
  }
}

let counter = 0;
export const uniqueName = (prefix: string): string => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
