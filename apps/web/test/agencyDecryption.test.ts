/**
 * The agency decrypts in its browser, every party real: the provider's server with its log, a witness
 * cosigning all along, three custodian processes (`doublelock custodian serve`, 2 of 3) that ran the DKG, and
 * two messenger clients that put an escrow field on every message. The agency's console (its key imported into
 * the browser) submits a double-locked warrant, collects, asks the custodians for shares from the page,
 * verifies every proof, shows the plaintext of only the warrant's messages, and saves evidence bundles that
 * `doublelock agency verify-evidence` accepts. An intercept the warrant does not cover (a provider-signed
 * record of two other people's message) is refused by the browser before any custodian is asked.
 */
import {
  DAY_MS,
  decideWarrant,
  deploymentEscrow,
  generateSigningKey,
  issueWarrant,
  signDeliveryRecord,
  signShareRequest,
  type ExportedIntercept,
  type LogInclusion,
  type SignedWarrant,
  type TrustConfig,
  type Warrant,
} from '@doublelock/lawful-access';
import { generateSignerKey } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { decodeFrame, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { startLawfulAccessDeployment, type LawfulAccessDeployment } from '@doublelock/server/lawfulAccessTesting';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Messenger } from '../../../packages/client/src/messenger.ts';
import { MemoryStorage } from '../../../packages/client/src/storage/storage.ts';
import type { WebSocketConstructor } from '../../../packages/client/src/api/mailboxSocket.ts';
import { checkPage, chromiumAvailable, startWeb, type Person, type WebHarness } from './harness.ts';

const keys = { root: generateSigningKey(), sos: generateSigningKey(), judge: generateSigningKey(), agency: generateSigningKey(), provider: generateSigningKey(), coordinator: generateSigningKey(), operator: generateSigningKey(), stranger: generateSigningKey() };
const witnessKey = generateSignerKey('witness.doublelock.test/w1', SIGNATURE_COSIGNATURE_V1);
const tmp = mkdtempSync(join(tmpdir(), 'doublelock-web-decrypt-'));
const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));
const trustRoot = toBase64Url(keys.root.publicKey);


async function saveDownload(page: Page, click: () => Promise<void>, name: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = join(tmp, name);
  await download.saveAs(path);
  return path;
}

describe.runIf(chromiumAvailable)('the agency decrypts in its browser', () => {
  let deployment: LawfulAccessDeployment<WebHarness>;
  let web: WebHarness;
  let trust: TrustConfig;
  const escrows: Array<{ close(): void }> = [];
  let agency: Person;

  beforeAll(async () => {
    deployment = await startLawfulAccessDeployment({
      dir: tmp,
      deployment: 'web-decrypt',
      keys,
      witnessKey,
      start: (config) => startWeb(config),
      // Custodian 1 holds every release for its human operator's review (the custodians' console below).
      custodianFlags: (index) => (index === 1 ? ['--operator-key', toBase64Url(keys.operator.publicKey)] : []),
    });
    ({ server: web, trust } = deployment);
    agency = await web.person();
  }, 180_000);

  afterAll(async () => {
    for (const e of escrows) e.close();
    await deployment?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const client = async (username: string) => {
    const escrow = (await deploymentEscrow({ serverUrl: web.url, trustRoot }))!;
    escrows.push(escrow);
    return Messenger.register({ serverUrl: web.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, escrow }, username);
  };

  it('submits, collects, decrypts with 2 of 3 custodians, and saves evidence the verifier accepts; refuses what the warrant does not cover', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const chat = await alice.createChat('bob');
    await alice.sendText(chat, 'before any warrant');
    await bob.sync();
    const carol = await client('carol');
    const notes = await alice.createChat('carol');

    // The double lock (drafted, issued and approved in browsers in authorities.test.ts).
    const now = Date.now();
    const w: Warrant = {
      format: 1, id: 'op-kestrel-1', revision: 0, kind: 'targeted-interception', targets: ['alice'], window: { start: now, end: now + 10 * DAY_MS },
      grounds: ['serious-crime'], justification: 'necessary and proportionate', agency: 'nca', products: ['iri', 'cc'], limits: { maxMessages: 50 }, urgent: false, issuedAt: now, renews: null,
    };
    const approved = decideWarrant(issueWarrant(w, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: now + 1, reasons: '' }, 'jc', keys.judge.secretKey);
    const warrantFile = join(tmp, 'approved.json');
    writeFileSync(warrantFile, JSON.stringify(approved));
    const agencyKey = join(tmp, 'agency.key.json');
    writeFileSync(agencyKey, JSON.stringify({ id: 'nca', secretKey: toBase64Url(keys.agency.secretKey) }));

    const page = agency.page;
    await page.goto('/authorities/agency');
    await page.getByLabel('Or import a key file').setInputFiles(agencyKey);
    await page.getByText(/The deployment’s trust configuration names this key/).waitFor({ timeout: 30_000 });
    await page.getByLabel('The warrant file, signed and decided').setInputFiles(warrantFile);
    await page.getByText('Both locks hold').waitFor();
    // The submission file is saved at once (its nonce must not be lost), then again with the witnessed proof.
    const saved = new Promise<Download[]>((resolve) => {
      const got: Download[] = [];
      page.on('download', (d) => void (got.push(d) === 2 && resolve(got)));
    });
    await page.getByRole('button', { name: 'Submit to the provider' }).click();
    await page.getByText('Witnessed: the proof is in the submission file.').waitFor({ timeout: 60_000 });
    const submission = join(tmp, 'submission.json');
    await (await saved)[1]!.saveAs(submission);
    page.removeAllListeners('download');
    expect(JSON.parse(readFileSync(submission, 'utf8'))).toMatchObject({ warrantId: w.id, inclusion: { leafIndex: expect.any(Number) } });

    await alice.sendText(chat, 'meet at noon');
    await bob.sync();
    await bob.sendText(chat, 'see you there');
    await alice.sync();
    // More than a page of requests for custodian 1's operator (the console shows 10 at a time), in a batch.
    for (let i = 0; i < 10; i++) await alice.sendText(notes, `note ${i}`);
    await carol.sync();

    await saveDownload(page, () => page.getByRole('button', { name: 'Collect what was retained' }).click(), 'intercepts.json');
    await page.getByText('Collected 12 intercept(s); saved as a file.').waitFor();
    // By default the batch is everything the warrant covers; it runs a few at a time, with progress.
    await page.getByText('Choose what to decrypt (12 of 12 chosen)').waitFor();
    await page.getByRole('button', { name: 'Decrypt the 12 chosen with the custodians' }).click();
    await page.getByText('12 of 12 message(s) decrypted.').waitFor({ timeout: 120_000 });
    expect(await page.getByLabel(/^Messages processed: 12 of 12/).count()).toBe(1);
    const shown = page.getByRole('list', { name: 'Decrypted messages' });
    expect(await shown.locator('.message-text').allTextContents()).toEqual(['meet at noon', 'see you there', ...Array.from({ length: 10 }, (_, i) => `note ${i}`)]);
    expect(await shown.textContent()).not.toContain('before any warrant');
    await checkPage(agency, 'authorities-agency-decrypted');

    // Each bundle stands on its own: the CLI's verifier accepts it from the trust root alone.
    const first = await shown.getByRole('button', { name: /^Save the evidence bundle/ }).first();
    const bundle = await saveDownload(page, () => first.click(), 'evidence.json');
    const verify = (path: string) =>
      promisify(execFile)(process.execPath, [CLI, 'agency', 'verify-evidence', path, '--trust-root', trustRoot]).then(
        ({ stdout }) => ({ code: 0, out: stdout }),
        (e: { code: number; stderr: string }) => ({ code: e.code, out: e.stderr }),
      );
    const verified = await verify(bundle);
    expect(verified.out).toMatch(/evidence verified/);
    expect(verified.code).toBe(0);
    const tampered = JSON.parse(readFileSync(bundle, 'utf8')) as { delivery: { record: { recipients: string[] } } };
    tampered.delivery.record.recipients = ['carol'];
    writeFileSync(join(tmp, 'tampered.json'), JSON.stringify(tampered));
    expect((await verify(join(tmp, 'tampered.json'))).code).not.toBe(0);

    // A provider (or whoever edits the file) slips in someone else's message under this warrant, its
    // delivery record genuinely signed by the provider: the browser refuses it and asks no custodian.
    const collected = JSON.parse(readFileSync(join(tmp, 'intercepts.json'), 'utf8')) as ExportedIntercept[];
    const real = collected[0]!;
    const stray: ExportedIntercept = { ...real, id: 999, iri: signDeliveryRecord({ ...real.iri!.record, sender: 'erin', recipients: ['frank'] }, 'provider', keys.provider.secretKey) };
    const early: ExportedIntercept = { ...real, id: 998, iri: signDeliveryRecord({ ...real.iri!.record, serverTime: now - 60_000 }, 'provider', keys.provider.secretKey) };
    const doctored = join(tmp, 'doctored.json');
    writeFileSync(doctored, JSON.stringify([stray, early, real]));
    await page.reload();
    await page.getByLabel('The warrant file, signed and decided').setInputFiles(warrantFile);
    await page.getByLabel('The submission file').setInputFiles(submission);
    await page.getByLabel('The collected intercepts').setInputFiles(doctored);
    // The page marks both as outside the warrant and leaves them out of the batch; the agent (or a modified
    // page) chooses them anyway: the SDK refuses each inside the batch, before any custodian is asked.
    const listed = page.getByRole('list', { name: 'Collected intercepts' });
    await listed.getByText(/Intercept 999: erin → frank.*\(outside the warrant: no target of the warrant sent or received it\)/).waitFor();
    await listed.getByText(/Intercept 998: .*\(outside the warrant: it was delivered outside the warrant’s window\)/).waitFor();
    expect(await listed.getByRole('checkbox', { checked: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'Choose all', exact: true }).click();
    await page.getByRole('button', { name: 'Decrypt the 3 chosen with the custodians' }).click();
    await page.getByText('1 of 3 message(s) decrypted.').waitFor({ timeout: 60_000 });
    await page.getByRole('alert').filter({ hasText: 'Intercept 999 not decrypted' }).filter({ hasText: 'no target of the warrant sent or received it' }).filter({ hasText: 'not sent to any custodian' }).waitFor();
    await page.getByRole('alert').filter({ hasText: 'Intercept 998 not decrypted' }).filter({ hasText: 'outside the warrant’s window' }).waitFor();
    expect(await shown.locator('.message-text').allTextContents()).toEqual(['meet at noon']);

    // Stop: the messages under way (four at a time) finish; the rest of the batch is never put to a custodian.
    // The page's share requests are held until Stop is clicked, so what is under way then is known.
    const held: Array<() => Promise<void>> = [];
    let holding = true;
    const askedFor = new Set<string>();
    await page.route('**/v1/shares', async (route) => {
      askedFor.add((route.request().postDataJSON() as { request: { delivery: { record: { messageId: string } } } }).request.delivery.record.messageId);
      if (holding) held.push(() => route.continue());
      else await route.continue();
    });
    await page.reload();
    await page.getByLabel('The warrant file, signed and decided').setInputFiles(warrantFile);
    await page.getByLabel('The submission file').setInputFiles(submission);
    await page.getByLabel('The collected intercepts').setInputFiles(join(tmp, 'intercepts.json'));
    await page.getByRole('button', { name: 'Decrypt the 12 chosen with the custodians' }).click();
    await expect.poll(() => held.length, { timeout: 60_000 }).toBe(8); // four messages, each asking t = 2 custodians
    expect(askedFor.size).toBe(4);
    await page.getByRole('button', { name: 'Stop after the messages under way' }).click();
    holding = false;
    for (const release of held.splice(0)) await release();
    await page.getByText('4 of 4 message(s) decrypted. Stopped: 8 chosen message(s) were not put to the custodians.').waitFor({ timeout: 120_000 });
    expect(askedFor.size).toBe(4);
    await page.unroute('**/v1/shares');
  }, 300_000);

  it('the custodian’s operator reviews the held requests in the console, every check shown, and decides; the custodian abides by it', async () => {
    const operatorKey = join(tmp, 'operator.key.json');
    writeFileSync(operatorKey, JSON.stringify({ id: 'operator-1', secretKey: toBase64Url(keys.operator.secretKey) }));
    const operator = await web.person();
    const page = operator.page;
    await page.goto('/authorities/custodian');
    await page.getByLabel('Or import a key file').setInputFiles(operatorKey);
    await page.getByText(`--operator-key ${toBase64Url(keys.operator.publicKey)}`).waitFor({ timeout: 30_000 });
    await page.getByLabel('Custodian', { exact: true }).selectOption('1');
    // The agency's requests for all 12 messages wait at custodian 1 (it asked the others meanwhile): the
    // console shows the 10 oldest and pages on to the rest.
    await page.getByRole('heading', { name: 'Waiting for your decision (12)' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByRole('article').count()).toBe(10);
    await page.getByRole('button', { name: 'Show 2 more requests (2 not shown)' }).click();
    await expect.poll(() => page.getByRole('article').count()).toBe(12);
    expect(await page.getByRole('button', { name: /^Show \d+ more requests/ }).count()).toBe(0);
    const first = page.getByRole('article').filter({ hasText: 'alice → bob' });
    const second = page.getByRole('article').filter({ hasText: 'bob → alice' });
    for (const request of [first, second]) {
      await request.locator('[data-check]').first().waitFor({ timeout: 30_000 });
      expect(await request.locator('[data-check="fail"]').count()).toBe(0);
      expect(await request.locator('[data-check="pass"]').allTextContents()).toEqual([
        expect.stringMatching(/^✓ Double lock: issued by sos .* approved by jc/),
        expect.stringMatching(/^✓ Public log: the warrant's commitment is entry \d+ of a checkpoint .* cosigned by 1 witness/),
        expect.stringMatching(/^✓ Delivery record: signed by the provider/),
        expect.stringMatching(/^✓ Target and window: a target \(alice\)/),
        expect.stringMatching(/^✓ Limits: \d+ of at most 50 message/),
      ]);
    }
    await checkPage(operator, 'authorities-custodian');

    // A custodian (or a network) that shows its operator a doctored request — another sender than the
    // provider signed — is caught in the browser: the check fails and approval is not offered.
    const misled = await web.person();
    await misled.page.route('**/v1/operator/reviews', async (route) => {
      const response = await route.fetch();
      const body = (await response.json()) as { reviews: Array<{ state: string; delivery: { record: { sender: string } } }> };
      const pending = body.reviews.find((r) => r.state === 'pending'); // (the decided list comes the same way)
      if (pending) pending.delivery.record.sender = 'mallory';
      await route.fulfill({ response, json: body });
    });
    await misled.page.goto('/authorities/custodian');
    await misled.page.getByLabel('Or import a key file').setInputFiles(operatorKey);
    await misled.page.getByLabel('Custodian', { exact: true }).selectOption('1');
    const doctored = misled.page.getByRole('article').filter({ hasText: 'mallory' });
    await doctored.locator('[data-check="fail"]').filter({ hasText: 'Delivery record: not signed by the provider' }).waitFor({ timeout: 30_000 });
    expect(await doctored.getByRole('button', { name: 'Approve release' }).isDisabled()).toBe(true);
    await misled.context.close();
    await first.getByLabel(/^Your reasons/).fill('Within the warrant; checked against the log.');
    await first.getByRole('button', { name: 'Approve release' }).click();
    await page.getByRole('heading', { name: 'Waiting for your decision (11)' }).waitFor({ timeout: 30_000 });
    await second.getByLabel(/^Your reasons/).fill('Hold: the agency must say why it needs replies.');
    await second.getByRole('button', { name: 'Refuse' }).click();
    await page.getByRole('heading', { name: 'Waiting for your decision (10)' }).waitFor({ timeout: 30_000 });
    const history = page.getByRole('table');
    await history.getByRole('row').filter({ hasText: 'Approved' }).filter({ hasText: 'Within the warrant' }).waitFor();
    await history.getByRole('row').filter({ hasText: 'Refused' }).filter({ hasText: 'must say why' }).waitFor();

    // The custodian abides: the agency's next request for the approved message gets a share, for the refused one a refusal.
    const submission = JSON.parse(readFileSync(join(tmp, 'submission.json'), 'utf8')) as { commitmentNonce: string; inclusion: LogInclusion };
    const approved = JSON.parse(readFileSync(join(tmp, 'approved.json'), 'utf8')) as SignedWarrant;
    const intercepts = JSON.parse(readFileSync(join(tmp, 'intercepts.json'), 'utf8')) as ExportedIntercept[];
    const ask = async (item: ExportedIntercept) => {
      const field = decodeFrame(fromBase64Url(item.cc!.frame)).escrow!.field;
      const body = signShareRequest(
        { requestId: toBase64Url(randomBytes(16)), requestedAt: Date.now(), custodian: 1, warrant: approved, commitmentNonce: submission.commitmentNonce, inclusion: submission.inclusion, delivery: item.iri!, field: toBase64Url(field), cancellations: [] },
        'nca',
        keys.agency.secretKey,
      );
      const response = await fetch(`${trust.custodians[0]!.url}/v1/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { code?: string; share?: string } };
    };
    const byText = (sender: string) => intercepts.find((i) => i.iri!.record.sender === sender)!;
    const released = await ask(byText('alice'));
    expect(released.status).toBe(200);
    expect(released.body.share).toEqual(expect.any(String));
    expect(await ask(byText('bob'))).toMatchObject({ status: 403, body: { code: 'operator_refused' } });

    // A console holding another key lists nothing: the custodian refuses its commands, and the page says why.
    const stranger = await web.person();
    const strangerKey = join(tmp, 'stranger.key.json');
    writeFileSync(strangerKey, JSON.stringify({ id: 'operator-x', secretKey: toBase64Url(keys.stranger.secretKey) }));
    await stranger.page.goto('/authorities/custodian');
    await stranger.page.getByLabel('Or import a key file').setInputFiles(strangerKey);
    await stranger.page.getByLabel('Custodian', { exact: true }).selectOption('1');
    await stranger.page.getByRole('alert').filter({ hasText: 'not signed by an operator key of this custodian' }).first().waitFor({ timeout: 30_000 });
  }, 180_000);
});
