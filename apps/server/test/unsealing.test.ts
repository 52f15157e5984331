/**
 * Unsealing (issue 9, break 11), on a real server with a clock the test moves: a warrant carries its
 * secrecy period, its log entry the deadline; when the period ends the provider publishes the opening
 * (signed warrant + nonce) in the log, and the auditor's report (`doublelock oversight report`, the
 * same figures as the web transparency page) flags every warrant whose opening is overdue.
 * Attacks: a provider that never unseals is flagged; a forged or mismatched opening is refused by the
 * provider's route and counts for nothing with the auditor; an opening before the period ends is refused
 * by the route, and flagged when a provider appends one to its log anyway.
 */
import {
  type SignedWarrant,
  type Warrant,
  DAY_MS,
  decideWarrant,
  generateSigningKey,
  issueWarrant,
  lawfulAccessStatistics,
  signAgencyRequest,
  type TrustConfig,
  unsealBy,
  unsealLogEntry,
  UNSEAL_GRACE_MS,
} from '@doublelock/lawful-access';
import { authorityKeys, draftWarrant, providerLawfulAccess, providerTrust } from '@doublelock/lawful-access/testing';
import { toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOversightAudit } from '../../cli/src/oversight/audit.ts';
import { renderText } from '../../cli/src/oversight/render.ts';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call } from './harness.ts';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 10, 23, 9);
let clock = START;
const keys = authorityKeys();
const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-unsealing-'));
let server: RunningServer;
let trust: TrustConfig;

beforeAll(async () => {
  const first = await startTestServer({ dataDir });
  const logKey = first.ctx.directory.log.verifierKey;
  await first.close();
  trust = providerTrust(keys, { deployment: 'unsealing-test', issuedAt: START - DAY_MS, logKey, witnesses: [toBase64Url(generateSigningKey().publicKey)] });
  server = await startTestServer(
    { dataDir, lawfulAccess: providerLawfulAccess(keys, trust) },
    { now: () => clock },
  );
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const draft = (overrides: Partial<Warrant>): Warrant => draftWarrant(clock, 2, overrides);
const approved = (w: Warrant): SignedWarrant => decideWarrant(issueWarrant(w, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: clock, reasons: '' }, 'jc', keys.judge.secretKey);
async function submit(w: Warrant): Promise<{ signed: SignedWarrant; nonce: string; commitment: string; leafIndex: number }> {
  const signed = approved(w);
  const nonce = toBase64Url(randomBytes(32));
  const answer = await call<{ commitment: string; leafIndex: number }>(server.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: signed, commitmentNonce: nonce }, 'nca', keys.agency.secretKey, clock));
  expect(answer.status).toBe(201);
  return { signed, nonce, ...answer.body };
}
const postUnsealing = (body: unknown) => call<{ leafIndex?: number; duplicate?: boolean; details?: { problem?: string } }>(server.url, 'POST', '/v1/lawful-access/unsealings', body);
const audit = () => runOversightAudit({ url: server.url, logKey: server.ctx.directory.log.verifierKey, trustRoot: toBase64Url(keys.root.publicKey), asOf: clock });

describe('unsealing', () => {
  it('a provider that never unseals is flagged; forged and mismatched openings are refused and count for nothing; the provider’s own publishing clears it', async () => {
    const w = await submit(draft({ secrecyDays: 3 }));
    const deadline = unsealBy(w.signed.warrant);
    expect(deadline).toBe(Math.ceil((w.signed.warrant.window.end + 3 * DAY_MS) / DAY_MS) * DAY_MS);
    // The log entry carries the deadline: the auditor reads it from the log alone.
    expect((await audit()).tally.warrants.find((e) => e.commitment === w.commitment)?.unsealBy).toBe(new Date(deadline).toISOString().slice(0, 10));

    // Before the period ends the route refuses the genuine opening.
    expect(await postUnsealing({ warrant: w.signed, nonce: w.nonce })).toMatchObject({ status: 403, body: { details: { problem: 'secrecy_not_over' } } });

    // The period ends and a day's grace passes: the provider has published nothing.
    clock = deadline + UNSEAL_GRACE_MS + HOUR;
    let report = await audit();
    expect(report.tally.unsealings.overdue.map((o) => o.commitment)).toEqual([w.commitment]);
    expect(report.tally.problems).toContainEqual(expect.objectContaining({ leafIndex: w.leafIndex, kind: 'overdue-unsealing' }));
    expect(renderText(report)).toMatch(/OVERDUE UNSEALINGS \(1\)/);
    // The public figures (the web transparency page) say the same.
    const entries = await server.ctx.directory.log.entries(0, server.ctx.directory.log.size);
    expect(lawfulAccessStatistics(entries, trust, clock).overdueUnsealings.map((o) => o.commitment)).toEqual([w.commitment]);

    // Forged and mismatched openings: refused by the route…
    const other = approved(draft({}));
    const forged = { ...w.signed, decision: { ...w.signed.decision!, signature: other.decision!.signature } };
    for (const body of [{ warrant: w.signed, nonce: toBase64Url(randomBytes(32)) }, { warrant: other, nonce: w.nonce }, { warrant: forged, nonce: w.nonce }])
      expect(await postUnsealing(body)).toMatchObject({ status: 400, body: { details: { problem: 'bad_opening' } } });
    // …and, appended by a provider anyway, they count for nothing: still overdue, each one flagged.
    await server.ctx.directory.log.append([unsealLogEntry(w.signed, randomBytes(32)), unsealLogEntry(forged, Buffer.from(w.nonce, 'base64url'))]);
    report = await audit();
    expect(report.tally.unsealings.overdue.map((o) => o.commitment)).toEqual([w.commitment]);
    expect(report.tally.problems.filter((p) => p.kind === 'bad-unsealing').map((p) => p.detail)).toEqual([
      expect.stringMatching(/open no warrant commitment in the log/),
      expect.stringMatching(/signatures that do not verify/),
    ]);

    // The provider's sweep publishes the genuine opening: no longer overdue.
    const [leaf] = await server.ctx.lawfulAccess!.publishDueUnsealings();
    expect((await server.ctx.directory.log.entries(leaf!, leaf! + 1))[0]).toEqual(unsealLogEntry(w.signed, Buffer.from(w.nonce, 'base64url')));
    report = await audit();
    expect(report.tally.unsealings.overdue).toEqual([]);
    expect(report.tally.unsealings.opened).toContainEqual(expect.objectContaining({ leafIndex: leaf, warrantId: w.signed.warrant.id, early: false }));
    expect(await postUnsealing({ warrant: w.signed, nonce: w.nonce })).toMatchObject({ status: 200, body: { leafIndex: leaf, duplicate: true } });
  });

  it('anyone holding the opening (a custodian) may publish it once the period is over; an early one a provider appends is flagged', async () => {
    const due = await submit(draft({ secrecyDays: 0 }));
    const secret = await submit(draft({ secrecyDays: 3650 }));
    clock = unsealBy(due.signed.warrant) + 1;
    const published = await postUnsealing({ warrant: due.signed, nonce: due.nonce });
    expect(published).toMatchObject({ status: 201, body: { duplicate: false } });
    expect(await server.ctx.lawfulAccess!.publishDueUnsealings()).toEqual([]); // already out
    expect(await postUnsealing({ warrant: secret.signed, nonce: secret.nonce })).toMatchObject({ status: 403, body: { details: { problem: 'secrecy_not_over' } } });
    // A provider exposing an investigation early, straight into its log:
    await server.ctx.directory.log.append([unsealLogEntry(secret.signed, Buffer.from(secret.nonce, 'base64url'))]);
    const report = await audit();
    expect(report.tally.problems).toContainEqual(expect.objectContaining({ kind: 'early-unsealing', detail: expect.stringContaining(`warrant ${secret.signed.warrant.id} was unsealed before its secrecy period ended`) }));
    expect(report.tally.unsealings.opened.map((o) => [o.warrantId, o.early])).toEqual(
      expect.arrayContaining([
        [due.signed.warrant.id, false],
        [secret.signed.warrant.id, true],
      ]),
    );
  });

  it('refuses a malformed opening with 400', async () => {
    expect((await postUnsealing({ warrant: {}, nonce: 'x' })).status).toBe(400);
  });
});

