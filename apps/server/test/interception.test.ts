/**
 * Prospective interception on the server: only a double-locked, logged warrant starts it; only messages
 * to or from its targets inside its window are retained; the agency gets signed IRI and CC for its own
 * warrant and nothing else; with lawful access off there is nothing to ask for.
 */
import {
  signAgencyRequest,
  type ExportedIntercept,
  cancelWarrant,
  decideWarrant,
  escrowFieldDigest,
  generateSigningKey,
  generateStaticKey,
  issueWarrant,
  releaseLogEntry,
  signReleaseRecord,
  signTrustConfig,
  verifyDeliveryRecord,
  warrantLogEntry,
  type SignedWarrant,
  type TrustConfig,
  type Warrant,
} from '@doublelock/lawful-access';
import { encodeFrame, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call, groupOf, messageId, type TestDevice, devicesOf } from './harness.ts';

const HOUR = 60 * 60 * 1000;
const keys = { custodian: generateSigningKey(), root: generateSigningKey(), sos: generateSigningKey(), judge: generateSigningKey(), agency: generateSigningKey(), other: generateSigningKey(), provider: generateSigningKey() };
const dataDir = mkdtempSync(join(tmpdir(), 'doublelock-interception-'));
let server: RunningServer;
let trust: TrustConfig;
let alice: TestDevice, bob: TestDevice, carol: TestDevice, dave: TestDevice;
let aliceBob: string, carolDave: string;

beforeAll(async () => {
  // The trust configuration pins the server's log key, so learn it first, then restart with lawful access on.
  const first = await startTestServer({ dataDir });
  const logKey = first.ctx.directory.log.verifierKey;
  await first.close();
  const custodian = generateStaticKey();
  trust = {
    version: 1,
    deployment: 'interception-test',
    issuedAt: Date.now(),
    secretaryOfState: [{ id: 'sos', publicKey: toBase64Url(keys.sos.publicKey) }],
    judicialCommissioners: [{ id: 'jc', publicKey: toBase64Url(keys.judge.publicKey) }],
    agencies: [
      { id: 'nca', publicKey: toBase64Url(keys.agency.publicKey) },
      { id: 'other-agency', publicKey: toBase64Url(keys.other.publicKey) },
    ],
    provider: [{ id: 'provider', publicKey: toBase64Url(keys.provider.publicKey) }],
    coordinators: [{ id: 'coordinator', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    custodians: [{ index: 1, name: 'c1', url: 'http://127.0.0.1:9/', staticKey: toBase64Url(custodian.publicKey), signingKey: toBase64Url(keys.custodian.publicKey) }],
    threshold: 1,
    // a quorum of at least one witness is required; this test never needs its cosignatures
    log: { verifierKey: logKey, witnesses: ['witness.doublelock.test+2a954dea+BHfd9kHsYFDKAtMJjQNcaE7w8QI8vzxOQ+PeuCv2wXoa'], witnessQuorum: 1 },
    epoch: { lengthMs: 24 * HOUR, retentionDays: 30 },
    bankHolidays: [],
  };
  server = await startTestServer({
    dataDir,
    lawfulAccess: { trust: signTrustConfig(trust, keys.root.secretKey), trustRootKey: toBase64Url(keys.root.publicKey), providerKeyId: 'provider', providerSecretKey: keys.provider.secretKey },
  });
  [alice, bob, carol, dave] = await devicesOf(server, ['alice', 'bob', 'carol', 'dave'] as const);
  aliceBob = await groupOf([alice, bob]);
  carolDave = await groupOf([carol, dave]);
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function warrant(overrides: Partial<Warrant> = {}): Warrant {
  const now = Date.now();
  return {
    format: 1, id: `w-${toBase64Url(randomBytes(6))}`, revision: 0, kind: 'targeted-interception', targets: ['alice'],
    window: { start: now - 1000, end: now + 24 * HOUR }, grounds: ['serious-crime'], justification: 'test', agency: 'nca',
    products: ['iri', 'cc'], limits: { maxMessages: 100 }, urgent: false, issuedAt: now - 1000, renews: null, ...overrides,
  };
}
const doubleLocked = (w: Warrant): SignedWarrant =>
  decideWarrant(issueWarrant(w, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: Date.now() - 500, reasons: '' }, 'jc', keys.judge.secretKey);
const submit = (signed: SignedWarrant, agency = 'nca', key = keys.agency.secretKey) =>
  call(server.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: signed, commitmentNonce: toBase64Url(randomBytes(32)) }, agency, key));
const exportFor = async (warrantId: string, agency = 'nca', key = keys.agency.secretKey) =>
  call<{ intercepts: ExportedIntercept[] }>(server.url, 'POST', '/v1/lawful-access/intercepts', signAgencyRequest({ warrantId, after: 0, limit: 1000 }, agency, key));

async function send(from: TestDevice, groupId: string): Promise<{ clientMessageId: string; frame: Uint8Array; field: Uint8Array }> {
  const field = randomBytes(80);
  const frame = encodeFrame({ mlsMessage: randomBytes(100), sealedPayload: randomBytes(60), escrow: { scheme: 'test-eaf', field } });
  const clientMessageId = messageId();
  const r = await from.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId, epoch: 1, ciphertext: toBase64Url(frame) });
  expect(r.status).toBe(200);
  return { clientMessageId, frame, field };
}

describe('prospective interception', () => {
  it('retains only the target’s messages sent after a logged, double-locked warrant, and exports signed IRI and CC', async () => {
    const before = await send(alice, aliceBob);
    const w = warrant();
    const logSizeBefore = server.ctx.directory.log.size;
    const accepted = await submit(doubleLocked(w));
    expect(accepted.status).toBe(201);
    // The warrant's commitment was appended to the public log before interception began.
    const leafIndex = Number(accepted.body.leafIndex);
    expect(leafIndex).toBeGreaterThanOrEqual(logSizeBefore);
    const [entry] = await server.ctx.directory.log.entries(leafIndex, leafIndex + 1);
    expect(entry).toEqual(warrantLogEntry(fromBase64Url(String(accepted.body.commitment)), w));

    const during = [await send(alice, aliceBob), await send(bob, aliceBob)];
    await send(carol, carolDave); // neither party is a target

    const exported = await exportFor(w.id);
    expect(exported.status).toBe(200);
    const intercepts = exported.body.intercepts;
    expect(intercepts).toHaveLength(2);
    const frames = intercepts.map((i) => i.cc!.frame);
    expect(frames).toEqual(during.map((d) => toBase64Url(d.frame)));
    expect(frames).not.toContain(toBase64Url(before.frame));
    for (const [i, item] of intercepts.entries()) {
      expect(verifyDeliveryRecord(item.iri!, trust)).toBe(true);
      expect(item.iri!.record.fieldDigest).toBe(toBase64Url(escrowFieldDigest(during[i]!.field)));
    }
    expect(intercepts.map((i) => [i.iri!.record.sender, i.iri!.record.recipients])).toEqual([['alice', ['bob']], ['bob', ['alice']]]);
    // A tampered record no longer verifies.
    expect(verifyDeliveryRecord({ ...intercepts[0]!.iri!, record: { ...intercepts[0]!.iri!.record, sender: 'carol' } }, trust)).toBe(false);
  });

  it('refuses a warrant with only one of the two signatures, a forged one, or one not in force', async () => {
    const onlySos = await submit(issueWarrant(warrant(), 'sos', keys.sos.secretKey));
    expect(onlySos).toMatchObject({ status: 403, body: { details: { problem: 'approval_missing' } } });
    const forged = issueWarrant(warrant(), 'sos', keys.agency.secretKey); // signed with the wrong key
    expect((await submit(decideWarrant(forged, { decision: 'approved', decidedAt: Date.now(), reasons: '' }, 'jc', keys.judge.secretKey))).body).toMatchObject({
      details: { problem: 'issue_signature' },
    });
    const judgeForged = decideWarrant(issueWarrant(warrant(), 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: Date.now(), reasons: '' }, 'jc', keys.sos.secretKey);
    expect((await submit(judgeForged)).body).toMatchObject({ details: { problem: 'approval_signature' } });
    const now = Date.now();
    const expired = warrant({ issuedAt: now - 10 * HOUR, window: { start: now - 10 * HOUR, end: now - HOUR } });
    expect((await submit(decideWarrant(issueWarrant(expired, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: now - 9 * HOUR, reasons: '' }, 'jc', keys.judge.secretKey))).body).toMatchObject({
      details: { problem: 'expired' },
    });
  });

  it('authenticates agencies: wrong key, another agency’s warrant, replays and stale requests are refused', async () => {
    const w = warrant({ targets: ['dave'] });
    expect((await submit(doubleLocked(w), 'nca', keys.other.secretKey)).body).toMatchObject({ code: 'bad_signature' });
    expect((await submit(doubleLocked(w), 'other-agency', keys.other.secretKey)).status).toBe(403); // names agency nca
    const signed = signAgencyRequest({ warrant: doubleLocked(w), commitmentNonce: toBase64Url(randomBytes(32)) }, 'nca', keys.agency.secretKey);
    expect((await call(server.url, 'POST', '/v1/lawful-access/warrants', signed)).status).toBe(201);
    expect(await call(server.url, 'POST', '/v1/lawful-access/warrants', signed)).toMatchObject({ status: 409 });
    const stale = signAgencyRequest({ warrantId: w.id, after: 0, limit: 10 }, 'nca', keys.agency.secretKey, Date.now() - HOUR);
    expect((await call(server.url, 'POST', '/v1/lawful-access/intercepts', stale)).status).toBe(403);
    expect((await exportFor(w.id, 'other-agency', keys.other.secretKey)).status).toBe(404);
  });

  it('stops retaining when the Secretary of State cancels the warrant, and honours the message limit', async () => {
    const w = warrant({ targets: ['carol'], limits: { maxMessages: 2 } });
    expect((await submit(doubleLocked(w))).status).toBe(201);
    for (let i = 0; i < 3; i++) await send(carol, carolDave);
    expect((await exportFor(w.id)).body.intercepts).toHaveLength(2);

    const c = warrant({ targets: ['dave'] });
    expect((await submit(doubleLocked(c))).status).toBe(201);
    await send(dave, carolDave);
    const forgedCancel = cancelWarrant({ id: c.id, revision: 0 }, Date.now(), 'sos', keys.agency.secretKey);
    expect((await call(server.url, 'POST', '/v1/lawful-access/cancellations', forgedCancel)).status).toBe(401);
    expect((await call(server.url, 'POST', '/v1/lawful-access/cancellations', cancelWarrant({ id: c.id, revision: 0 }, Date.now(), 'sos', keys.sos.secretKey))).body).toMatchObject({ ended: true });
    await send(dave, carolDave);
    expect((await exportFor(c.id)).body.intercepts).toHaveLength(1);
  });
});

describe('release records', () => {
  it('logs a custodian’s signed release once, and refuses one the custodian did not sign', async () => {
    const record = { custodian: 1, warrantCommitment: toBase64Url(randomBytes(32)), messageDigest: toBase64Url(randomBytes(32)), requestId: 'req-1', epoch: 1, releasedAt: Date.now() };
    const signed = signReleaseRecord(record, keys.custodian.secretKey);
    const first = await call<{ leafIndex: number; duplicate: boolean }>(server.url, 'POST', '/v1/lawful-access/releases', signed);
    expect(first).toMatchObject({ status: 201, body: { duplicate: false } });
    const [entry] = await server.ctx.directory.log.entries(first.body.leafIndex, first.body.leafIndex + 1);
    expect(entry).toEqual(releaseLogEntry(signed));
    expect(await call(server.url, 'POST', '/v1/lawful-access/releases', signed)).toMatchObject({ status: 200, body: { leafIndex: first.body.leafIndex, duplicate: true } });
    const forged = signReleaseRecord({ ...record, requestId: 'req-2' }, keys.agency.secretKey);
    expect(await call(server.url, 'POST', '/v1/lawful-access/releases', forged)).toMatchObject({ status: 401, body: { code: 'bad_signature' } });
    const tampered = { ...signed, record: { ...signed.record, epoch: 2 } };
    expect((await call(server.url, 'POST', '/v1/lawful-access/releases', tampered)).status).toBe(401);
  });
});

describe('lawful access off', () => {
  it('offers nothing to ask for and retains nothing', async () => {
    const plain = await startTestServer();
    try {
      expect((await call(plain.url, 'GET', '/v1/lawful-access')).body).toEqual({ enabled: false });
      const r = await call(plain.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: doubleLocked(warrant()), commitmentNonce: toBase64Url(randomBytes(32)) }, 'nca', keys.agency.secretKey));
      expect(r).toMatchObject({ status: 404, body: { code: 'not_found' } });
    } finally {
      await plain.close();
    }
  });
});
