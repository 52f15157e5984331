/**
 * The public transparency page with lawful access on: every figure is recomputed in the browser from the
 * log's entries (packages/lawful-access oversight.ts), so a warrant whose secrecy period ended without a
 * valid opening in the log is shown to the public as overdue, and a forged opening does not hide it; a
 * release under an urgent warrant after it lapsed (never approved by the end of the third working day,
 * s.24(3)) is shown as an anomaly, which needs the bank-holiday rules the page loads only then.
 */
import { DAY_MS, commitToWarrant, decideWarrant, issueWarrant, messageDigest, releaseLogEntry, signReleaseRecord, unsealLogEntry, warrantLogEntry } from '@doublelock/lawful-access';
import { generateSigningKey } from '@doublelock/lawful-access/signature';
import { assembleNote, CosignatureSigner, generateSignerKey } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { authorityKeys, draftWarrant, providerLawfulAccess, providerTrust } from '@doublelock/lawful-access/testing';
import { toBase64Url } from '@doublelock/protocol';
import { startTestServer } from '@doublelock/server/testing';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPage, chromiumAvailable, startWeb, type WebHarness } from './harness.ts';

describe.runIf(chromiumAvailable)('the public transparency page, lawful access on', () => {
  let web: WebHarness;
  const witness = new CosignatureSigner(generateSignerKey('witness.example', SIGNATURE_COSIGNATURE_V1));
  const keys = authorityKeys();
  const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-web-unsealing-'));
  const now = Date.now();
  let overdueCommitment = '';

  beforeAll(async () => {
    const first = await startTestServer({ dataDir, logWitnesses: [witness.verifierKey] });
    const logKey = first.ctx.directory.log.verifierKey;
    await first.close();
    const trust = providerTrust(keys, { deployment: 'web-unsealing-test', issuedAt: now - 100 * DAY_MS, logKey, witnesses: [witness.verifierKey] });
    const custodian = generateSigningKey();
    trust.custodians[0]!.signingKey = toBase64Url(custodian.publicKey);
    web = await startWeb({
      dataDir,
      logWitnesses: [witness.verifierKey],
      lawfulAccess: providerLawfulAccess(keys, trust),
    });
    // A warrant that ended 40 days ago with a 10-day secrecy period, logged; its provider never unsealed it
    // and instead logged an opening with a wrong nonce.
    const issuedAt = now - 70 * DAY_MS;
    const warrant = draftWarrant(issuedAt, 30, { id: 'w-overdue', limits: { maxMessages: 10 }, secrecyDays: 10 });
    const signed = decideWarrant(issueWarrant(warrant, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: issuedAt, reasons: '' }, 'jc', keys.judge.secretKey);
    const { commitment } = commitToWarrant(warrant);
    overdueCommitment = toBase64Url(commitment);
    const log = web.server.ctx.directory.log;
    // An urgent warrant, never approved, duly unsealed; custodian 1 released one message an hour after issue
    // (in force) and one ten days after (lapsed at the end of the third working day).
    const urgentAt = now - 60 * DAY_MS;
    const urgent = draftWarrant(urgentAt, 20, { id: 'w-urgent', urgent: true, secrecyDays: 5 });
    const urgentCommitment = commitToWarrant(urgent);
    const release = (messageId: string, releasedAt: number) =>
      releaseLogEntry(
        signReleaseRecord(
          { custodian: 1, warrantCommitment: toBase64Url(urgentCommitment.commitment), messageDigest: messageDigest(urgentCommitment.commitment, messageId), requestId: messageId, epoch: 0, releasedAt },
          custodian.secretKey,
        ),
      );
    await log.append([
      warrantLogEntry(commitment, warrant),
      unsealLogEntry(signed, randomBytes(32)),
      warrantLogEntry(urgentCommitment.commitment, urgent),
      release('in-time', urgentAt + 3_600_000),
      release('too-late', urgentAt + 10 * DAY_MS),
      unsealLogEntry(issueWarrant(urgent, 'sos', keys.sos.secretKey), urgentCommitment.nonce),
    ]);
    await log.flush();
    const note = await (await fetch(`${web.url}/v1/log/checkpoint`)).text();
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    await fetch(`${web.url}/v1/log/cosignatures`, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: assembleNote(text, [witness.cosign(text)]) });
  }, 120_000);
  afterAll(async () => {
    await web?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the overdue unsealing, and the forged opening as an anomaly', async () => {
    const person = await web.person();
    await person.page.goto('/transparency');
    await person.page.getByText('All entries match the signed root').waitFor({ timeout: 60_000 });
    await person.page.getByText('Warrants whose unsealing is overdue').waitFor({ timeout: 30_000 });
    const due = new Date(Math.ceil((now - 30 * DAY_MS) / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
    await person.page.getByText(new RegExp(`commitment ${overdueCommitment.slice(0, 12)}… \\(revision 0\\): due ${due}, (29|30) day\\(s\\) overdue`)).waitFor();
    await person.page.getByText(/unsealing refused: .*open no warrant commitment in the log/).waitFor();
    // Only the late release is flagged: the deadline was counted in working days, with the holiday rules loaded for it.
    const anomalies = person.page.getByRole('alert').filter({ hasText: 'Anomalies found in the log' });
    await anomalies.getByText(/release under warrant w-urgent when it was not in force \(lapsed\)/).waitFor();
    expect(await anomalies.getByText(/w-urgent/).count()).toBe(1);
    await checkPage(person, 'transparency-unsealing-overdue');
  }, 120_000);
});
