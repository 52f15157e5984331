/**
 * The public transparency page verifies the log in the browser with the log's own verifier: a genuine
 * checkpoint (with a witness's cosignature) passes and every entry is re-hashed into its root; a forged
 * checkpoint (tampered, or signed by another key), entries that do not match, and a log that cannot prove it
 * extends what this browser saw before (a split view) are each caught and shown as a warning.
 */
import { assembleNote, checkpointText, CosignatureSigner, generateSignerKey, NoteSigner } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../../packages/client/test/harness.ts';
import { checkPage, chromiumAvailable, expectVisibleFocus, PHONE, startWeb, uniqueName, type WebHarness } from './harness.ts';

describe.runIf(chromiumAvailable)('the public transparency page', () => {
  let web: WebHarness;
  const witness = new CosignatureSigner(generateSignerKey('witness.example', SIGNATURE_COSIGNATURE_V1));
  beforeAll(async () => {
    web = await startWeb({ logWitnesses: [witness.verifierKey] });
    // Some entries: accounts and their devices go into the log.
    for (let i = 0; i < 3; i++) await register(web.url, uniqueName('user'));
    await waitForSize(3);
    const note = await (await fetch(`${web.url}/v1/log/checkpoint`)).text();
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    const cosigned = await fetch(`${web.url}/v1/log/cosignatures`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: assembleNote(text, [witness.cosign(text)]) });
    expect(cosigned.status).toBe(200);
  }, 120_000);
  afterAll(async () => web?.close());

  async function waitForSize(size: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const note = await (await fetch(`${web.url}/v1/log/checkpoint`)).text();
      if (Number(note.split('\n')[1]) >= size) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the log never reached size ${size}`);
  }

  it('verifies the latest checkpoint and its witness in the browser, and re-hashes every entry', async () => {
    const person = await web.person();
    const scripts: string[] = [];
    person.page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
    await person.page.goto('/transparency');
    await person.page.getByRole('heading', { name: 'Latest checkpoint: verified' }).waitFor({ timeout: 30_000 });
    expect(Number(await person.page.locator('[data-tree-size]').getAttribute('data-tree-size'))).toBeGreaterThanOrEqual(3);
    await person.page.getByText(/witness\.example \([0-9a-f]{8}\) cosigned at/).waitFor();
    await person.page.getByText('All entries match the signed root').waitFor({ timeout: 30_000 });
    await person.page.getByText(/Lawful access is switched off/).waitFor();
    // Neither the messenger's MLS code nor the bank-holiday rules of the lawful-access deadlines load here.
    expect(scripts.filter((s) => /holidayData|session|MessengerApp/.test(s))).toEqual([]);
    await checkPage(person, 'transparency');
    await expectVisibleFocus(person.page, 3);
  }, 120_000);

  it('catches a tampered checkpoint and one signed by another key', async () => {
    const person = await web.person(PHONE);
    await person.page.route('**/v1/log/checkpoint', async (route) => {
      const note = await (await route.fetch()).text();
      const [origin, size, ...rest] = note.split('\n');
      await route.fulfill({ contentType: 'text/plain', body: [origin, String(Number(size) + 1), ...rest].join('\n') });
    });
    await person.page.goto('/transparency');
    await person.page.getByText('This log failed verification').waitFor({ timeout: 30_000 });
    await checkPage(person, 'transparency-forged-phone');

    // A whole checkpoint made by someone else's key, for the same origin.
    const impostor = new NoteSigner(generateSignerKey('doublelock.localhost/log'));
    await person.page.unroute('**/v1/log/checkpoint');
    await person.page.route('**/v1/log/checkpoint', (route) => {
      const text = checkpointText('doublelock.localhost/log', 99, new Uint8Array(32).fill(7));
      return route.fulfill({ contentType: 'text/plain', body: assembleNote(text, [impostor.sign(text)]) });
    });
    await person.page.reload();
    const warning = person.page.getByRole('alert').filter({ hasText: 'This log failed verification' });
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toMatch(/signature|verif/i);
  }, 120_000);

  it('catches entries that do not hash to the signed root', async () => {
    const person = await web.person();
    await person.page.route('**/v1/log/entries*', async (route) => {
      const body = (await (await route.fetch()).json()) as { start: number; entries: string[] };
      body.entries[0] = 'AAAA';
      await route.fulfill({ json: body });
    });
    await person.page.goto('/transparency');
    await person.page.getByText('The entries do not match the signed log').waitFor({ timeout: 30_000 });
  }, 60_000);

  it('catches a split view: the log cannot prove it extends the tree this browser saw before', async () => {
    const person = await web.person();
    const scripts: string[] = [];
    person.page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
    await person.page.goto('/transparency');
    await person.page.getByRole('heading', { name: 'Latest checkpoint: verified' }).waitFor({ timeout: 30_000 });
    const before = Number(await person.page.locator('[data-tree-size]').getAttribute('data-tree-size'));
    await register(web.url, uniqueName('later'));
    await waitForSize(before + 1);
    // The server shows this browser a tree that does not extend the one it saw (its proof cannot be right).
    await person.page.route('**/v1/log/proof/consistency*', async (route) => {
      const body = (await (await route.fetch()).json()) as { proof: string[] };
      await route.fulfill({ json: { ...body, proof: body.proof.map(() => 'A'.repeat(43)) } });
    });
    await person.page.reload();
    const warning = person.page.getByRole('alert').filter({ hasText: 'This log failed verification' });
    await warning.waitFor({ timeout: 30_000 });
    expect(await warning.textContent()).toContain('SPLIT VIEW');
    // With an honest proof the same browser accepts the larger tree.
    await person.page.unroute('**/v1/log/proof/consistency*');
    await person.page.reload();
    await person.page.getByText(new RegExp(`extends the tree of ${before} entries`)).waitFor({ timeout: 30_000 });
  }, 120_000);
});
