/**
 * Refusals and cancellations bind, on a real server with a clock the test moves (IPA ss.23–24, 39):
 *   - a Judicial Commissioner's refusal of an urgent warrant is logged and ends its interception; the
 *     agency then strips the refusal from the document and resubmits it (and a "modified" revision): refused,
 *     the id is dead;
 *   - an urgent warrant that lapsed unapproved (or was refused) cannot be followed by another urgent
 *     warrant on the same target without a judge (the Secretary of State alone cannot chain them);
 *   - an urgent warrant approved in time continues to its window's end with no re-submission;
 *   - a cancellation names the revision it cancels and is used once: replayed, it is refused, and an old
 *     cancellation cannot end a later, re-approved revision.
 */
import {
  type SignedWarrant,
  type Warrant,
  calendarOf,
  cancelWarrant,
  cancellationLogEntry,
  checkModification,
  decideWarrant,
  issueWarrant,
  refusalLogEntry,
  refusalNotice,
  signAgencyRequest,
  type TrustConfig,
  urgentDeadlines,
  DAY_MS,
} from '@doublelock/lawful-access';
import { authorityKeys, draftWarrant, providerLawfulAccess, providerTrust } from '@doublelock/lawful-access/testing';
import { CosignatureSigner, generateSignerKey } from '@doublelock/log';
import { SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call } from './harness.ts';

const HOUR = 3_600_000;
const MONDAY = Date.UTC(2026, 10, 23, 9); // Mon 23 Nov 2026, 09:00 London (GMT)
let clock = MONDAY;
const keys = authorityKeys();
const witness = new CosignatureSigner(generateSignerKey('witness.decisions.test', SIGNATURE_COSIGNATURE_V1));
const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-decisions-'));
let server: RunningServer;
let trust: TrustConfig;

beforeAll(async () => {
  const first = await startTestServer({ dataDir, logWitnesses: [witness.verifierKey] });
  const logKey = first.ctx.directory.log.verifierKey;
  await first.close();
  trust = providerTrust(keys, { deployment: 'decisions-test', issuedAt: MONDAY - DAY_MS, logKey, witnesses: [witness.verifierKey] });
  server = await startTestServer(
    {
      dataDir,
      logWitnesses: [witness.verifierKey],
      lawfulAccess: providerLawfulAccess(keys, trust),
    },
    { now: () => clock },
  );
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const draft = (overrides: Partial<Warrant>): Warrant => draftWarrant(clock, 30, overrides);
const issue = (w: Warrant) => issueWarrant(w, 'sos', keys.sos.secretKey);
const decide = (s: SignedWarrant, decision: 'approved' | 'refused', at = clock) =>
  decideWarrant(s, { decision, decidedAt: at, reasons: decision === 'refused' ? 'not necessary: other means are available' : '' }, 'jc', keys.judge.secretKey);
const submit = (signed: SignedWarrant) =>
  call<{ details?: { problem?: string }; code?: string }>(server.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: signed, commitmentNonce: toBase64Url(randomBytes(32)) }, 'nca', keys.agency.secretKey, clock));
const postDecision = (signed: SignedWarrant) => call<{ refused: boolean; leafIndex?: number; until?: number }>(server.url, 'POST', '/v1/lawful-access/decisions', signed);
const postCancellation = (c: ReturnType<typeof cancelWarrant>) => call<{ ended: boolean; leafIndex: number }>(server.url, 'POST', '/v1/lawful-access/cancellations', c);
const task = (id: string) => server.ctx.stores.interception.task(id);
const logEntry = async (i: number) => (await server.ctx.directory.log.entries(i, i + 1))[0];

describe('a Judicial Commissioner’s refusal', () => {
  it('is logged, ends interception at once, and binds: the stripped document and a new revision are refused', async () => {
    const urgent = issue(draft({ urgent: true, targets: ['erin'] }));
    expect((await submit(urgent)).status).toBe(201);
    expect((await task(urgent.warrant.id))!.windowEnd).toBe(urgentDeadlines(urgent.warrant.issuedAt, calendarOf(trust)).approveBy);

    clock += HOUR;
    const refused = decide(urgent, 'refused');
    const forged = { ...refused, decision: { ...refused.decision!, signature: toBase64Url(new Uint8Array(64)) } };
    expect((await postDecision(forged)).status).toBe(401);
    const logged = await postDecision(refused);
    expect(logged).toMatchObject({ status: 200, body: { refused: true } });
    expect(await logEntry(logged.body.leafIndex!)).toEqual(refusalLogEntry(refusalNotice(refused)));
    expect((await task(urgent.warrant.id))!.windowEnd).toBe(clock);

    // The agency strips the refusal (the Secretary of State's signature alone is a valid urgent warrant on paper)…
    expect(await submit(urgent)).toMatchObject({ status: 403, body: { details: { problem: 'refused' } } });
    // …or has the Secretary of State sign a "modified" revision of it
    const modified = draft({ ...urgent.warrant, revision: 1, window: { start: urgent.warrant.window.start, end: urgent.warrant.window.end - DAY_MS } });
    expect(checkModification(urgent.warrant, modified)).toBeUndefined();
    expect(await submit(issue(modified))).toMatchObject({ status: 403, body: { details: { problem: 'refused' } } });
  });
});

describe('serial urgent warrants', () => {
  it('after one lapsed unapproved, the next urgent warrant on that target needs a judge', async () => {
    const first = issue(draft({ urgent: true, targets: ['frank'] }));
    expect((await submit(first)).status).toBe(201);
    clock = urgentDeadlines(first.warrant.issuedAt, calendarOf(trust)).approveBy + HOUR; // it lapsed unapproved
    const second = issue(draft({ urgent: true, targets: ['gus', 'frank'] }));
    expect(await submit(second)).toMatchObject({ status: 403, body: { details: { problem: 'serial_urgent' } } });
    // the same with a judge's approval is fine, as is a normal double-locked warrant
    expect((await submit(decide(issue(draft({ urgent: true, targets: ['frank'] })), 'approved'))).status).toBe(201);
    expect((await submit(decide(issue(draft({ targets: ['frank'] })), 'approved'))).status).toBe(201);
    // a refused urgent warrant counts as well, even before its deadline
    const refusedFirst = issue(draft({ urgent: true, targets: ['hal'] }));
    expect((await submit(refusedFirst)).status).toBe(201);
    expect((await postDecision(decide(refusedFirst, 'refused'))).status).toBe(200);
    expect(await submit(issue(draft({ urgent: true, targets: ['hal'] })))).toMatchObject({ status: 403, body: { details: { problem: 'serial_urgent' } } });
  });
});

describe('an urgent warrant approved in time', () => {
  it('continues as a normal warrant to its window’s end, with no re-submission', async () => {
    const urgent = issue(draft({ urgent: true, targets: ['ivy'], window: { start: clock, end: clock + 60 * DAY_MS } }));
    expect((await submit(urgent)).status).toBe(201);
    const { approveBy } = urgentDeadlines(urgent.warrant.issuedAt, calendarOf(trust));
    expect((await task(urgent.warrant.id))!.windowEnd).toBe(approveBy);
    clock += DAY_MS;
    const approved = await postDecision(decide(urgent, 'approved'));
    expect(approved).toMatchObject({ status: 200, body: { refused: false, until: urgent.warrant.window.end } });
    expect((await task(urgent.warrant.id))!.windowEnd).toBe(urgent.warrant.window.end);
    // an approval for a revision this provider never received is not applied
    const other = issue(draft({ urgent: true, targets: ['ivy'] }));
    expect((await postDecision(decide(other, 'approved'))).status).toBe(404);
    // approved after the third working day: too late, nothing changes
    const late = issue(draft({ urgent: true, targets: ['jon'] }));
    expect((await submit(late)).status).toBe(201);
    clock = urgentDeadlines(late.warrant.issuedAt, calendarOf(trust)).approveBy + HOUR;
    expect(await postDecision(decide(late, 'approved'))).toMatchObject({ status: 403, body: { details: { problem: 'approval_late' } } });
  });
});

describe('cancellations (s.39)', () => {
  it('name the revision they cancel and are used once: a replayed old one cannot end a re-approved revision', async () => {
    const w = draft({ targets: ['kim'] });
    expect((await submit(decide(issue(w), 'approved'))).status).toBe(201);
    const cancellation = cancelWarrant(w, clock, 'sos', keys.sos.secretKey);
    const first = await postCancellation(cancellation);
    expect(first).toMatchObject({ status: 200, body: { ended: true } });
    expect(await logEntry(first.body.leafIndex)).toEqual(cancellationLogEntry(cancellation));
    expect((await postCancellation(cancellation)).status).toBe(409); // replayed
    // the cancelled revision cannot be submitted again
    expect(await submit(decide(issue(w), 'approved'))).toMatchObject({ status: 403, body: { details: { problem: 'cancelled' } } });

    // The Secretary of State and a judge approve a new revision; the old cancellation, replayed, is refused,
    // and another cancellation of the old revision is logged but does not end the new one.
    clock += HOUR;
    const next = { ...w, revision: 1, issuedAt: clock };
    expect((await submit(decide(issue(next), 'approved'))).status).toBe(201);
    expect((await postCancellation(cancellation)).status).toBe(409);
    expect(await postCancellation(cancelWarrant(w, clock, 'sos', keys.sos.secretKey))).toMatchObject({ status: 200, body: { ended: false } });
    expect((await task(w.id))!.windowEnd).toBe(w.window.end);
    expect(await postCancellation(cancelWarrant(next, clock, 'sos', keys.sos.secretKey))).toMatchObject({ status: 200, body: { ended: true } });
    expect((await task(w.id))!.windowEnd).toBe(clock);
  });
});
