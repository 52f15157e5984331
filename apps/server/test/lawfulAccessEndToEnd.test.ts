/**
 * Accountable lawful access, end to end, every party real: the server (with its transparency log), a
 * witness, three custodian processes (2-of-3) that run the DKG, two messenger clients that put a verifiable escrow
 * field on every message, and the agency. Alice and Bob chat; a warrant for Alice is issued and approved;
 * the agency decrypts the messages sent after it, with every proof checked; the message before it was
 * never retained; and the public log shows one warrant and the number of messages decrypted.
 */
import {
  signAgencyRequest,
  type ExportedIntercept,
  DecryptionRefused,
  decideWarrant,
  decryptWithCustodians,
  escrowFieldProvider,
  decryptWithSharedPoint,
  combineShares,
  deliveryLabel,
  decodePoint,
  parseEscrowField,
  shareResponseSchema,
  verifyEscrowFieldWithLabel,
  epochAt,
  deploymentEscrow,
  generateSigningKey,
  issueWarrant,
  RELEASE_ENTRY_LABEL,
  runDkgCeremony,
  signShareRequest,
  type ShareRequest,
  WARRANT_ENTRY_V2_LABEL,
  type EpochKey,
  type LogInclusion,
  type SignedWarrant,
  type TrustConfig,
  type Warrant,
} from '@doublelock/lawful-access';
import { generateSignerKey } from '@doublelock/log';
import { parseCheckpoint, parseNote, SIGNATURE_COSIGNATURE_V1 } from '@doublelock/log/verifier';
import { decodeFrame, fromBase64Url, splitLengthPrefixed, toBase64Url, type EscrowFieldProvider } from '@doublelock/protocol';
import { asBytes } from '@doublelock/store';
import { draftWarrant } from '@doublelock/lawful-access/testing';
import { randomBytes } from '@noble/hashes/utils.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Messenger } from '../../../packages/client/src/messenger.ts';
import { MemoryStorage } from '../../../packages/client/src/storage/storage.ts';
import type { WebSocketConstructor } from '../../../packages/client/src/api/mailboxSocket.ts';
import { envelopeContextBytes } from '../../../packages/client/src/envelope/envelope.ts';
import { open } from '../../../packages/client/src/envelope/committingAead.ts';
import { decodeContent } from '../../../packages/client/src/envelope/content.ts';
import type { RunningServer } from '../src/app.ts';
import { startLawfulAccessDeployment, type LawfulAccessDeployment } from '../src/lawfulAccessTesting.ts';
import { startTestServer } from '../src/testing.ts';
import { call } from './harness.ts';

const keys = { root: generateSigningKey(), sos: generateSigningKey(), judge: generateSigningKey(), agency: generateSigningKey(), provider: generateSigningKey(), coordinator: generateSigningKey() };
const witnessKey = generateSignerKey('witness.doublelock.test/w1', SIGNATURE_COSIGNATURE_V1);
const tmp = mkdtempSync(join(tmpdir(), 'doublelock-la-e2e-'));
let deployment: LawfulAccessDeployment<RunningServer>;
let server: RunningServer;
let custodians: Array<{ close(): Promise<void> }> = [];
let trust: TrustConfig;
let epochKey: EpochKey;
/** One witness run now (one also runs every 250 ms, as deployed). */
const witness = () => deployment.witness();

beforeAll(async () => {
  deployment = await startLawfulAccessDeployment({ dir: tmp, deployment: 'doublelock-e2e', keys, witnessKey, start: (config) => startTestServer(config) });
  ({ server, custodians, trust, epochKey } = deployment);
}, 120_000);

afterAll(async () => {
  for (const escrow of escrows) escrow.close();
  await deployment?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** A client configures itself from the deployment: trust configuration from the server, epoch key from the custodians. */
const client = async (username: string) => {
  const escrow = await deploymentEscrow({ serverUrl: server.url, trustRoot: toBase64Url(keys.root.publicKey) });
  if (!escrow) throw new Error('lawful access should be on');
  escrows.push(escrow);
  return Messenger.register({ serverUrl: server.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, escrow }, username);
};
const escrows: Array<{ close(): void }> = [];
/** What the first test recovered, for the checks that no one else can. */
const recovered: Array<{ contentKey: Uint8Array; field: Uint8Array; context: Uint8Array; sealedPayload: Uint8Array; delivery: NonNullable<ExportedIntercept['iri']>; signedWarrant: SignedWarrant; nonce: Uint8Array; inclusion: LogInclusion }> = [];

/** The double lock, then the log: the Secretary of State issues, a Judicial Commissioner approves, the agency logs it (witnessed). */
async function logApprovedWarrant(overrides: Partial<Warrant>) {
  const now = Date.now();
  const warrant = draftWarrant(now - 1000, 1, overrides);
  const signedWarrant: SignedWarrant = decideWarrant(issueWarrant(warrant, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: now - 500, reasons: '' }, 'jc', keys.judge.secretKey);
  const nonce = randomBytes(32);
  const submitted = await call<{ leafIndex: number }>(server.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: signedWarrant, commitmentNonce: toBase64Url(nonce) }, 'nca', keys.agency.secretKey));
  expect(submitted.status).toBe(201);
  await witness();
  return { warrant, signedWarrant, nonce, submitted, inclusion: await inclusionOf(submitted.body.leafIndex) };
}

/** A share request for one custodian, signed by the agency (or by `signer`, an impostor's key). */
function shareRequest(custodian: number, logged: { signedWarrant: SignedWarrant; nonce: Uint8Array; inclusion: LogInclusion }, delivery: ShareRequest['delivery'], field: Uint8Array, signer = keys.agency.secretKey) {
  const { signedWarrant, nonce, inclusion } = logged;
  return signShareRequest({ requestId: toBase64Url(randomBytes(16)), requestedAt: Date.now(), custodian, warrant: signedWarrant, commitmentNonce: toBase64Url(nonce), inclusion, delivery, field: toBase64Url(field), cancellations: [] }, 'nca', signer);
}

async function inclusionOf(leafIndex: number): Promise<LogInclusion> {
  const note = await (await fetch(`${server.url}/v1/log/checkpoint/witnessed?k=1`)).text();
  const { size } = parseCheckpoint(parseNote(note).text);
  const proof = await call<{ proof: string[] }>(server.url, 'GET', `/v1/log/proof/inclusion?index=${leafIndex}&treeSize=${size}`);
  return { leafIndex, treeSize: size, path: proof.body.proof, checkpoint: note };
}

const CLI = fileURLToPath(new URL('../../cli/bin/doublelock.js', import.meta.url));
const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );


/** The provider's log entries of one type. */
async function entriesLabelled(label: string): Promise<Uint8Array[]> {
  const entries = await server.ctx.directory.log.entries(0, server.ctx.directory.log.size);
  return entries.filter((e) => labelOf(e) === label);
}

/** The custodians' release records in the provider's log: one per share released. */
async function releasesInLog(): Promise<Array<{ messageDigest: string; custodian: number }>> {
  return (await entriesLabelled(RELEASE_ENTRY_LABEL)).map((e) => JSON.parse(new TextDecoder().decode(splitLengthPrefixed(e, 3)[1])) as { messageDigest: string; custodian: number });
}

/** The first length-prefixed field of a log entry: its type label (directory entries are JSON and have none). */
function labelOf(entry: Uint8Array): string | undefined {
  if (entry.length < 4) return undefined;
  const length = new DataView(entry.buffer, entry.byteOffset, entry.byteLength).getUint32(0);
  return length <= entry.length - 4 ? new TextDecoder().decode(entry.subarray(4, 4 + length)) : undefined;
}

describe('lawful access, end to end', () => {
  it('decrypts only what a double-locked, logged warrant covers, with t of n custodians, and the public log counts it', async () => {
    const alice = await client('alice');
    const bob = await client('bob');
    const texts = (m: Messenger) => {
      const seen: string[] = [];
      m.on((e) => {
        if (e.type === 'message' && e.message.content.type === 'text') seen.push(e.message.content.text);
        if (e.type === 'rejected') seen.push(`REJECTED ${e.error.message}`);
      });
      return seen;
    };
    const bobSaw = texts(bob);
    const aliceSaw = texts(alice);
    const chat = await alice.createChat('bob');
    await alice.sendText(chat, 'before any warrant');
    await bob.sync();

    // The Secretary of State issues, a Judicial Commissioner approves: the double lock.
    const { warrant: w, signedWarrant, nonce, submitted, inclusion } = await logApprovedWarrant({ id: 'w-2026-0001', targets: ['alice'], grounds: ['serious-crime'], limits: { maxMessages: 50 } });

    await alice.sendText(chat, 'meet at noon');
    await bob.sync();
    await bob.sendText(chat, 'see you there');
    await alice.sync();
    expect(bobSaw).toEqual(['before any warrant', 'meet at noon']);
    expect(aliceSaw).toEqual(['see you there']);

    // The agency takes delivery of what was retained: only the two messages after the warrant.
    const exported = await call<{ intercepts: ExportedIntercept[] }>(server.url, 'POST', '/v1/lawful-access/intercepts', signAgencyRequest({ warrantId: w.id, after: 0, limit: 100 }, 'nca', keys.agency.secretKey));
    expect(exported.body.intercepts).toHaveLength(2);

    const decrypted: string[] = [];
    for (const item of exported.body.intercepts) {
      const frame = decodeFrame(fromBase64Url(item.cc!.frame));
      const field = frame.escrow!.field;
      const context = envelopeContextBytes({ groupId: fromBase64Url(item.cc!.groupId), senderUsername: item.cc!.sender.username, senderDeviceId: item.cc!.sender.deviceId, clientMessageId: item.cc!.clientMessageId });
      const request = (custodian: number) => shareRequest(custodian, { signedWarrant, nonce, inclusion }, item.iri!, field);
      const { contentKey, shares, failures } = await decryptWithCustodians({ trust, epochKey, warrant: w, field, record: item.iri!.record, request });
      recovered.push({ contentKey, field, context, sealedPayload: frame.sealedPayload, delivery: item.iri!, signedWarrant, nonce, inclusion });
      expect(shares).toHaveLength(2);
      expect(failures).toEqual([]);
      const content = decodeContent(open(contentKey, frame.sealedPayload, context));
      if (content.type === 'text') decrypted.push(content.text);
    }
    expect(decrypted).toEqual(['meet at noon', 'see you there']);

    // The same through the agency's command line: collect, decrypt with evidence bundles, verify them.
    const files = {
      key: join(tmp, 'agency.json'),
      warrant: join(tmp, 'warrant.json'),
      submission: join(tmp, 'submission.json'),
      intercepts: join(tmp, 'intercepts.jsonl'),
      evidence: join(tmp, 'evidence'),
    };
    writeFileSync(files.key, JSON.stringify({ id: 'nca', secretKey: toBase64Url(keys.agency.secretKey) }));
    writeFileSync(files.warrant, JSON.stringify(signedWarrant));
    // (with the proof at the first witnessed checkpoint, as `agency submit` keeps it: its witnessed time starts the window)
    writeFileSync(files.submission, JSON.stringify({ warrantId: w.id, commitmentNonce: toBase64Url(nonce), commitment: 'x', leafIndex: submitted.body.leafIndex, inclusion }));
    const collected = await cli('agency', 'collect', '--server', server.url, '--agency-key', files.key, '--warrant-id', w.id);
    expect(collected.code).toBe(0);
    writeFileSync(files.intercepts, collected.stdout);
    const trustRoot = toBase64Url(keys.root.publicKey);
    const decryptedByCli = await cli('agency', 'decrypt', '--server', server.url, '--trust-root', trustRoot, '--agency-key', files.key, '--warrant', files.warrant, '--submission', files.submission, '--intercepts', files.intercepts, '--out', files.evidence, '--json');
    expect(decryptedByCli.code).toBe(0);
    const lines = decryptedByCli.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sender: string; content: { text: string } });
    expect(lines.map((l) => [l.sender, l.content.text])).toEqual([['alice', 'meet at noon'], ['bob', 'see you there']]);
    const bundles = readdirSync(files.evidence);
    expect(bundles).toHaveLength(2);
    const bundle = join(files.evidence, bundles[0]!);
    expect((await cli('agency', 'verify-evidence', bundle, '--trust-root', trustRoot)).code).toBe(0);
    const tampered = JSON.parse(readFileSync(bundle, 'utf8')) as { delivery: { record: { sender: string } } };
    tampered.delivery.record.sender = 'carol';
    writeFileSync(bundle, JSON.stringify(tampered));
    const refused = await cli('agency', 'verify-evidence', bundle, '--trust-root', trustRoot);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/delivery record|outside the warrant/);

    // A doctored message in the batch: a later message of Alice's (which the warrant covers, so custodians
    // would release for it) with its content attributed to someone else. The CLI refuses it before asking
    // any custodian — no release for it reaches the log — and still decrypts the rest of the batch.
    await alice.sendText(chat, 'a later message');
    const later = await call<{ intercepts: ExportedIntercept[] }>(server.url, 'POST', '/v1/lawful-access/intercepts', signAgencyRequest({ warrantId: w.id, after: 0, limit: 100 }, 'nca', keys.agency.secretKey));
    const third = later.body.intercepts.find((i) => !exported.body.intercepts.some((e) => e.id === i.id))!;
    const doctored = { ...third, cc: { ...third.cc!, sender: { ...third.cc!.sender, username: 'bob' } } };
    const releasedDigests = async () => new Set((await releasesInLog()).map((r) => r.messageDigest));
    const digestsBefore = await releasedDigests();
    writeFileSync(files.intercepts, [collected.stdout.trim().split('\n')[0], JSON.stringify(doctored)].join('\n'));
    const batch = await cli('agency', 'decrypt', '--server', server.url, '--trust-root', trustRoot, '--agency-key', files.key, '--warrant', files.warrant, '--submission', files.submission, '--intercepts', files.intercepts, '--out', join(tmp, 'evidence-batch'), '--json');
    expect(batch.code).not.toBe(0);
    expect(batch.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { content: { text: string } }).content.text)).toEqual(['meet at noon']);
    expect(batch.stderr).toContain(`intercept ${third.id} is outside the warrant (its content is not the message its delivery record describes): not sent to any custodian`);
    expect(batch.stderr).toMatch(/1 of 2 intercept\(s\) could not be decrypted/);
    expect(await releasedDigests()).toEqual(digestsBefore);

    // One message whose evidence bundle cannot be written (its path taken by a directory) fails alone: it is
    // reported, and the rest of the batch is still decrypted, printed and bundled.
    const [one, two] = exported.body.intercepts;
    const blockedOut = join(tmp, 'evidence-blocked');
    mkdirSync(join(blockedOut, `evidence-${one!.id}.json`), { recursive: true });
    writeFileSync(files.intercepts, collected.stdout);
    const blocked = await cli('agency', 'decrypt', '--server', server.url, '--trust-root', trustRoot, '--agency-key', files.key, '--warrant', files.warrant, '--submission', files.submission, '--intercepts', files.intercepts, '--out', blockedOut, '--json');
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain(`intercept ${one!.id}: decrypted, but its evidence bundle could not be written`);
    expect(blocked.stderr).toMatch(/decrypted 1 of 2 intercept\(s\)/);
    expect(blocked.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { content: { text: string } }).content.text)).toEqual(['see you there']);
    expect(existsSync(join(blockedOut, `evidence-${two!.id}.json`))).toBe(true);

    // The same field with another message's metadata (the record altered) opens nothing.
    const first = exported.body.intercepts[0]!;
    const field = decodeFrame(fromBase64Url(first.cc!.frame)).escrow!.field;
    const altered = { ...first.iri!, record: { ...first.iri!.record, sender: 'bob' } };
    await expect(
      decryptWithCustodians({
        trust, epochKey, warrant: w, field, record: altered.record,
        request: (custodian) => shareRequest(custodian, { signedWarrant, nonce, inclusion }, altered, field),
      }),
    ).rejects.toThrow(DecryptionRefused);

    // The public log: one warrant, and (t releases each) two messages decrypted.
    expect((await entriesLabelled(WARRANT_ENTRY_V2_LABEL)).length).toBe(1);
    const releases = await releasesInLog();
    const perMessage = new Map<string, Set<number>>();
    for (const r of releases) perMessage.set(r.messageDigest, (perMessage.get(r.messageDigest) ?? new Set()).add(r.custodian));
    expect([...perMessage.values()].filter((c) => c.size >= trust.threshold)).toHaveLength(2);
  }, 120_000);

  it('the provider alone and the agency alone cannot decrypt', async () => {
    expect(recovered.length).toBeGreaterThan(0);
    // The provider: everything it stores (database, blobs) holds neither a content key nor a plaintext.
    const files = readdirSync(join(tmp, 'server'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const stored = Buffer.concat(files.map((f) => readFileSync(join(f.parentPath, f.name))));
    expect(stored.length).toBeGreaterThan(10_000);
    for (const r of recovered) expect(stored.indexOf(Buffer.from(r.contentKey))).toBe(-1);
    expect(stored.indexOf(Buffer.from('meet at noon'))).toBe(-1);
    // Nor can it ask the custodians: its key is not an agency key, so a request it signs is refused.
    const r = recovered[0]!;
    const asProvider = (custodian: number) => shareRequest(custodian, r, r.delivery, r.field, keys.provider.secretKey);
    await expect(decryptWithCustodians({ trust, epochKey, warrant: r.signedWarrant.warrant, field: r.field, record: r.delivery.record, request: asProvider })).rejects.toBeInstanceOf(DecryptionRefused);
    // The agency alone holds everything the provider gave it (frame, field, signed record), the warrant,
    // and everything public (the epoch key, every custodian's verification key). What it can compute from
    // those in place of x·U — the public key, the verification keys combined as if they were shares,
    // the field's own points — opens nothing: the committing AEAD refuses every such key.
    const parsed = parseEscrowField(r.field);
    const label = deliveryLabel(r.delivery.record, parsed.epoch);
    const Y = decodePoint(epochKey.publicKey);
    const U = decodePoint(parsed.u);
    const candidates = [
      Y,
      U,
      Y.add(U),
      decodePoint(combineShares(epochKey.verificationKeys.slice(0, trust.threshold).map((vk, i) => ({ index: i + 1, share: vk, proof: new Uint8Array(64) })))),
      decodePoint(parsed.uBar),
    ];
    for (const S of candidates) {
      const guess = decryptWithSharedPoint(epochKey.publicKey, parsed, S.toBytes(), label);
      expect(() => open(guess, r.sealedPayload, r.context)).toThrow();
      expect(verifyEscrowFieldWithLabel(epochKey, r.field, guess, label)).toBe(false);
    }
  });

  it('custodians are no decryption oracle: a field lifted from non-targets into a message to the target opens nothing', async () => {
    const erin = await client('erin');
    const frank = await client('frank');
    const grace = await client('grace');
    const graceRejected: string[] = [];
    grace.on((e) => void (e.type === 'rejected' && graceRejected.push(e.error.message)));
    // A double-locked, logged warrant on grace.
    const { warrant: w, signedWarrant, nonce, inclusion } = await logApprovedWarrant({ id: 'w-2026-0003', targets: ['grace'], grounds: ['serious-crime'], limits: { maxMessages: 20 } });

    // Two non-targets chat; the agency holds a copy of the provider's data (the stored message row).
    const chatEF = await erin.createChat('frank');
    await erin.sendText(chatEF, 'nothing to do with grace');
    const row = await server.ctx.stores.db.get<{ payload: Uint8Array }>("SELECT payload FROM messages WHERE group_id = ? AND kind = 'application' ORDER BY seq DESC LIMIT 1", [chatEF]);
    const victimField = decodeFrame(asBytes(row!.payload)).escrow!.field;
    const randomMask = victimField.slice();
    randomMask.set(randomBytes(32), 69);
    await frank.sync();

    // The agency's own account runs a modified client that puts the lifted field on its messages to grace.
    const honest = await deploymentEscrow({ serverUrl: server.url, trustRoot: toBase64Url(keys.root.publicKey) });
    escrows.push(honest!);
    let lifted = victimField;
    const lifting: EscrowFieldProvider = {
      get scheme() {
        return honest!.scheme;
      },
      create: () => lifted,
      verify: (...args) => honest!.verify(...args),
    };
    const agent = await Messenger.register({ serverUrl: server.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, escrow: lifting }, 'agent');
    const chat = await agent.createChat('grace');
    await agent.sendText(chat, 'carrying the non-targets’ field');
    lifted = randomMask;
    await agent.sendText(chat, 'carrying random mask bytes');
    await grace.sync();
    expect(graceRejected.length).toBeGreaterThanOrEqual(2); // the target's client refuses them…

    // …but the provider retained them and signs their delivery records; the agency asks every custodian.
    const exported = await call<{ intercepts: ExportedIntercept[] }>(server.url, 'POST', '/v1/lawful-access/intercepts', signAgencyRequest({ warrantId: w.id, after: 0, limit: 100 }, 'nca', keys.agency.secretKey));
    const carrying = exported.body.intercepts.filter((i) => {
      const f = decodeFrame(fromBase64Url(i.cc!.frame)).escrow!.field;
      return Buffer.from(f).equals(Buffer.from(victimField)) || Buffer.from(f).equals(Buffer.from(randomMask));
    });
    expect(carrying.length).toBeGreaterThanOrEqual(2);
    expect(exported.body.intercepts.every((i) => i.iri!.record.sender !== 'erin')).toBe(true); // the non-targets' message was never retained
    for (const item of carrying) {
      const field = decodeFrame(fromBase64Url(item.cc!.frame)).escrow!.field;
      const request = (custodian: number) => shareRequest(custodian, { signedWarrant, nonce, inclusion }, item.iri!, field);
      const refused = await decryptWithCustodians({ trust, epochKey, warrant: w, field, record: item.iri!.record, request }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(DecryptionRefused);
      // every custodian was asked and each refused on the field's label: nothing was released
      expect((refused as DecryptionRefused).failures.map((f) => [f.custodian, f.code]).sort()).toEqual(trust.custodians.map((c) => [c.index, 'field_not_for_message']));
    }
  }, 120_000);

  it('a modified sender using tomorrow’s epoch key (custodians would refuse it today) is refused by honest recipients', async () => {
    const tomorrow = (await runDkgCeremony(trust, epochAt(Date.now()) + 1, { id: 'coordinator', secretKey: keys.coordinator.secretKey })).key;
    const sneaky = escrowFieldProvider({ current: { epoch: tomorrow.epoch, publicKey: tomorrow.publicKey } });
    const henry = await Messenger.register({ serverUrl: server.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, escrow: sneaky }, 'henry');
    const ivyEscrow = (await deploymentEscrow({ serverUrl: server.url, trustRoot: toBase64Url(keys.root.publicKey) }))!;
    escrows.push(ivyEscrow);
    expect(await ivyEscrow.ensureEpoch(tomorrow.epoch)).toBe(true); // ivy holds tomorrow's certified key: that is not why she refuses
    const ivy = await Messenger.register({ serverUrl: server.url, storage: new MemoryStorage(), webSocket: WebSocket as unknown as WebSocketConstructor, escrow: ivyEscrow }, 'ivy');
    const seen: string[] = [];
    ivy.on((e) => {
      if (e.type === 'message' && e.message.content.type === 'text') seen.push(e.message.content.text);
      if (e.type === 'rejected') seen.push(`REJECTED ${e.error.message}`);
    });
    const chat = await henry.createChat('ivy');
    await henry.sendText(chat, 'escaping escrow');
    await ivy.sync();
    expect(seen.length).toBeGreaterThan(0);
    for (const line of seen) expect(line).toMatch(/REJECTED .*epoch does not fit the delivery time/);
  }, 120_000);

  it('cannot decrypt with fewer than t custodians: every t − 1 subset pools its real shares', async () => {
    const alice = await client('carol');
    const bob = await client('dave');
    const chat = await alice.createChat('dave');
    const { warrant: w, signedWarrant, nonce, inclusion } = await logApprovedWarrant({ id: 'w-2026-0002', targets: ['carol'], grounds: ['national-security'], limits: { maxMessages: 5 } });
    await alice.sendText(chat, 'secret');
    await bob.sync();
    const exported = await call<{ intercepts: ExportedIntercept[] }>(server.url, 'POST', '/v1/lawful-access/intercepts', signAgencyRequest({ warrantId: w.id, after: 0, limit: 10 }, 'nca', keys.agency.secretKey));
    const item = exported.body.intercepts[0]!;
    const frame = decodeFrame(fromBase64Url(item.cc!.frame));
    const field = frame.escrow!.field;
    const context = envelopeContextBytes({ groupId: fromBase64Url(item.cc!.groupId), senderUsername: 'carol', senderDeviceId: item.cc!.sender.deviceId, clientMessageId: item.cc!.clientMessageId });
    const parsed = parseEscrowField(field);
    const label = deliveryLabel(item.iri!.record, parsed.epoch);
    const request = (custodian: number) => shareRequest(custodian, { signedWarrant, nonce, inclusion }, item.iri!, field);
    // Each custodian's real share, released to the agency over HTTP (it logs each release).
    const shares = await Promise.all(
      trust.custodians.map(async (c) => {
        const body = shareResponseSchema.parse((await call(c.url, 'POST', '/v1/shares', request(c.index))).body);
        return { index: c.index, share: fromBase64Url(body.share), proof: fromBase64Url(body.proof) };
      }),
    );
    // Every coalition of t − 1 = 1 custodian: its share, combined as if it were enough, opens nothing.
    for (const share of shares) {
      const guess = decryptWithSharedPoint(epochKey.publicKey, parsed, combineShares([share]), label);
      expect(() => open(guess, frame.sealedPayload, context)).toThrow();
    }
    // t of them do (the coalitions lack exactly one share).
    const key = decryptWithSharedPoint(epochKey.publicKey, parsed, combineShares(shares.slice(1)), label);
    expect(decodeContent(open(key, frame.sealedPayload, context))).toEqual({ type: 'text', text: 'secret' });
    // And with two of three custodians down, the agency's own client gets no key.
    await custodians[1]!.close();
    await custodians[2]!.close();
    await expect(decryptWithCustodians({ trust, epochKey, warrant: w, field, record: item.iri!.record, request })).rejects.toBeInstanceOf(DecryptionRefused);
  }, 120_000);
});
