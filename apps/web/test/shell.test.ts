/**
 * The shell: `npm start`'s server serves the built app at `/` and at every page address (deep links and
 * reloads), API paths stay JSON, navigation works by keyboard with a visible focus, on a phone too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, chromiumAvailable, expectVisibleFocus, PHONE, startWeb, type WebHarness } from './harness.ts';

describe.runIf(chromiumAvailable)('the web app shell', () => {
  let web: WebHarness;
  beforeAll(async () => {
    web = await startWeb();
  });
  afterAll(async () => web?.close());

  it('is served at / and at deep links; unknown API routes stay JSON 404s', async () => {
    const home = await fetch(`${web.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    expect(await home.text()).toContain('<div id="root">');
    const deep = await fetch(`${web.url}/chats/c/some-chat`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    const api = await fetch(`${web.url}/v1/no-such-route`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: 'not_found' });
    const traversal = await fetch(`${web.url}/..%2f..%2fpackage.json`);
    expect(await traversal.text()).not.toContain('"workspaces"');
  });

  it('has an accessible start page that works by keyboard, with visible focus', async () => {
    const person = await web.person();
    await person.page.goto('/');
    await person.page.getByRole('heading', { name: 'Doublelock', level: 1 }).waitFor();
    await checkPage(person, 'home');
    await expectVisibleFocus(person.page, 4);
    // The skip link comes first and jumps to the content.
    await person.page.goto('/');
    await person.page.getByRole('heading', { name: 'Doublelock', level: 1 }).waitFor();
    await person.page.keyboard.press('Tab');
    expect(await person.page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    // Keyboard navigation to the transparency page.
    await person.page.getByRole('link', { name: 'Transparency' }).first().focus();
    await person.page.keyboard.press('Enter');
    await person.page.getByRole('heading', { name: 'Transparency', level: 1 }).waitFor();
    expect(new URL(person.page.url()).pathname).toBe('/transparency');
  });

  it('shows a not-found page for an unknown address, and fits a phone screen', async () => {
    const person = await web.person(PHONE);
    await person.page.goto('/no/such/page');
    await person.page.getByRole('heading', { name: 'Page not found' }).waitFor();
    const overflow = await person.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await checkPage(person, 'not-found-phone');
  });
});
