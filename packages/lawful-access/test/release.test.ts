/** The custodian's release rules, one attack per test, against a real transparency log and real keys. */
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dkgRound1, dkgRound2 } from '../src/dkg.ts';
import { DAY_MS, epochAt } from '../src/epoch.ts';
import { type CustodianView, evaluateShareRequest, shareBinding } from '../src/release.ts';
import { createDecryptionShare, verifyDecryptionShare } from '../src/elgamal.ts';
import { Point, randomScalar } from '../src/group.ts';
import { signShareRequest } from '../src/shareRequest.ts';
import { generateSigningKey } from '../src/signature.ts';
import { type LoggedWarrant, LawfulAccessWorld } from '../src/testing.ts';
import { commitToWarrant, issueWarrant } from '../src/warrant.ts';
import { splitViewGuard, warrantLogEntry } from '../src/logEntries.ts';
import { TransparencyLog } from '@doublelock/log';
import { openDb } from '@doublelock/store';

const ISSUED = Date.UTC(2026, 10, 23, 9);
const NOW = ISSUED + 2 * 3_600_000;
const SENT = ISSUED + 3_600_000;

let world: LawfulAccessWorld;
let epochKey: { epoch: number; publicKey: Uint8Array };
let logged: LoggedWarrant;
let message: ReturnType<LawfulAccessWorld['deliver']>;
let tomorrowKey: { epoch: number; publicKey: Uint8Array };

beforeAll(async () => {
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
  const session = world.dkgSession(epochAt(SENT));
  const r1 = world.custodians.map((c) => dkgRound1(session, c.index));
  const out = dkgRound2(session, world.custodians[0]!.staticKey.secret, r1[0]!.state, r1.map((r) => r.message));
  epochKey = { epoch: session.epoch, publicKey: out.publicKey };
  const next = world.dkgSession(session.epoch + 1);
  const n1 = world.custodians.map((c) => dkgRound1(next, c.index));
  tomorrowKey = { epoch: next.epoch, publicKey: dkgRound2(next, world.custodians[0]!.staticKey.secret, n1[0]!.state, n1.map((r) => r.message)).publicKey };
  logged = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'] })), ISSUED + 60_000));
  message = world.deliver(epochKey, { messageId: 'm1', sender: 'mallory', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
});
afterAll(async () => world.close());

function view(overrides: Partial<CustodianView> = {}): CustodianView {
  return {
    trust: world.trust,
    custodian: 1,
    now: NOW,
    verifyInclusion: world.verifyInclusion,
    requestSeen: false,
    releasedMessages: 0,
    releasedMessagesSince: () => 0,
    messageAlreadyReleased: false,
    highestRevision: undefined,
    epochState: (e) => (e === epochKey.epoch || e === epochKey.epoch + 1 ? 'active' : 'unknown'),
    epochPublicKey: (e) => (e === epochKey.epoch ? epochKey.publicKey : e === epochKey.epoch + 1 ? tomorrowKey.publicKey : undefined),
    cancellations: [],
    refusals: [],
    ...overrides,
  };
}

const refusal = (decision: ReturnType<typeof evaluateShareRequest>) => (decision.release ? 'released' : decision.code);

describe('custodian release rules', () => {
  it('release a share for a valid, logged, double-locked warrant and an in-scope message', () => {
    const decision = evaluateShareRequest(world.request(1, logged, message, NOW), view());
    expect(decision.release).toBe(true);
    if (decision.release) {
      expect(decision.field.epoch).toBe(epochKey.epoch);
      expect(decision.warrantCommitment).toEqual(commitToWarrant(logged.warrant.warrant, logged.nonce).commitment);
    }
  });

  it('refuse a warrant with one signature only', async () => {
    const sosOnly = await world.logWarrant(world.issue(world.draft({ issuedAt: ISSUED })));
    expect(refusal(evaluateShareRequest(world.request(1, sosOnly, message, NOW), view()))).toBe('approval_missing');
    const judgeOnly = { ...logged, warrant: { ...logged.warrant, issue: { signer: 'sos-1', signature: logged.warrant.decision!.signature } } };
    expect(refusal(evaluateShareRequest(world.request(1, judgeOnly, message, NOW), view()))).toBe('issue_signature');
  });

  it('refuse a forged warrant and an expired one', () => {
    const forger = generateSigningKey();
    const forged = { ...logged, warrant: { ...issueWarrant(logged.warrant.warrant, 'sos-1', forger.secretKey), decision: logged.warrant.decision } };
    expect(refusal(evaluateShareRequest(world.request(1, forged, message, NOW), view()))).toBe('issue_signature');
    const late = NOW + 31 * DAY_MS;
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, late), view({ now: late })))).toBe('expired');
  });

  it('refuse a warrant that is not in the log', async () => {
    const unlogged: LoggedWarrant = { ...logged, warrant: world.approve(world.issue(world.draft({ issuedAt: ISSUED })), ISSUED), nonce: randomBytes(32) };
    expect(refusal(evaluateShareRequest(world.request(1, unlogged, message, NOW), view()))).toBe('not_in_log');
    // the right entry, but a checkpoint the witnesses never cosigned
    const { commitment, nonce } = commitToWarrant(unlogged.warrant.warrant);
    const { firstIndex } = await world.log.append([warrantLogEntry(commitment, unlogged.warrant.warrant)]);
    await world.log.flush();
    const unwitnessed = await world.log.checkpoint();
    const path = (await world.log.inclusionProof(firstIndex, unwitnessed.size)).map(toBase64Url);
    const noWitness: LoggedWarrant = { warrant: unlogged.warrant, nonce, inclusion: { leafIndex: firstIndex, treeSize: unwitnessed.size, path, checkpoint: unwitnessed.note } };
    expect(refusal(evaluateShareRequest(world.request(1, noWitness, message, NOW), view()))).toBe('not_in_log');
    // a wrong opening of a logged commitment
    expect(refusal(evaluateShareRequest(world.request(1, { ...logged, nonce: randomBytes(32) }, message, NOW), view()))).toBe('not_in_log');
  });

  it('refuse a message outside the window or not to or from a target', async () => {
    const before = world.deliver(epochKey, { messageId: 'm0', sender: 'mallory', recipients: ['bob'], serverTime: ISSUED - 1 }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, before, NOW), view()))).toBe('outside_window');
    // before the judge approved (the warrant was not yet in force)
    const beforeApproval = world.deliver(epochKey, { messageId: 'm0b', sender: 'mallory', recipients: ['bob'], serverTime: ISSUED + 1000 }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, beforeApproval, NOW), view()))).toBe('outside_window');
    // after the window's end (a record dated past it), while the warrant is still in force: not before the
    // log entry, so only the window itself refuses it
    const short = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, window: { start: ISSUED, end: NOW + 3_600_000 } })), ISSUED + 60_000));
    const late = world.deliver(epochKey, { messageId: 'm-late', sender: 'mallory', recipients: ['bob'], serverTime: NOW + 2 * 3_600_000 }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, short, late, NOW), view()))).toBe('outside_window');
    const bystanders = world.deliver(epochKey, { messageId: 'm2', sender: 'alice', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, bystanders, NOW), view()))).toBe('not_target');
  });

  it('refuse a field the provider did not deliver, or unsigned metadata', () => {
    const other = world.deliver(epochKey, { messageId: 'm3', sender: 'mallory', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, { field: other.field, delivery: message.delivery }, NOW), view()))).toBe('field_mismatch');
    const widened = { ...message.delivery, record: { ...message.delivery.record, sender: 'mallory', recipients: ['alice'] } };
    expect(refusal(evaluateShareRequest(world.request(1, logged, { field: message.field, delivery: widened }, NOW), view()))).toBe('bad_delivery_record');
  });

  it('refuse replays, stale requests, other custodians’ requests and unsigned requests', () => {
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ requestSeen: true })))).toBe('replay');
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW - 10 * 60_000), view()))).toBe('stale_request');
    expect(refusal(evaluateShareRequest(world.request(2, logged, message, NOW), view()))).toBe('wrong_custodian');
    const signed = world.request(1, logged, message, NOW);
    const impostor = signShareRequest(signed.request, 'nca', generateSigningKey().secretKey);
    expect(refusal(evaluateShareRequest(impostor, view()))).toBe('bad_request_signature');
    expect(refusal(evaluateShareRequest({ ...signed, request: { ...signed.request, custodian: 1, requestedAt: NOW + 1 } }, view()))).toBe('bad_request_signature');
    // another agency named in the trust configuration, signing correctly, under nca's warrant
    expect(refusal(evaluateShareRequest(signShareRequest(signed.request, 'mi5', world.otherAgency.secretKey), view()))).toBe('agency_mismatch');
    // a request from the future (beyond the clock skew)
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW + 10 * 60_000), view()))).toBe('stale_request');
  });

  it('refuse after the epoch’s erasure, for unknown epochs, and over the limit', () => {
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ epochState: () => 'erased' })))).toBe('epoch_erased');
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ epochState: () => 'unknown' })))).toBe('epoch_unknown');
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ releasedMessages: 100 })))).toBe('limit_reached');
    expect(evaluateShareRequest(world.request(1, logged, message, NOW), view({ releasedMessages: 100, messageAlreadyReleased: true })).release).toBe(true);
  });

  it('refuse over the per-day limit (counted from the log)', async () => {
    const daily = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, limits: { maxMessages: 100, maxPerDay: 2 } })), ISSUED + 60_000));
    expect(evaluateShareRequest(world.request(1, daily, message, NOW), view({ releasedMessagesSince: () => 1 })).release).toBe(true);
    expect(refusal(evaluateShareRequest(world.request(1, daily, message, NOW), view({ releasedMessagesSince: (since) => (since === NOW - DAY_MS ? 2 : 0) })))).toBe('limit_reached');
  });

  it('refuse a cancelled warrant and a superseded revision', () => {
    const cancellation = world.cancel(logged.warrant.warrant.id, NOW - 1);
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ cancellations: [cancellation] })))).toBe('cancelled');
    expect(refusal(evaluateShareRequest(world.request(1, logged, message, NOW), view({ highestRevision: 1 })))).toBe('superseded');
  });

  it('refuse content under a metadata-only (IRI) warrant', async () => {
    const iriOnly = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, products: ['iri'] })), ISSUED + 60_000));
    expect(refusal(evaluateShareRequest(world.request(1, iriOnly, message, NOW), view()))).toBe('product_not_authorised');
  });

  it('refuse a field lifted from a message between non-targets into a message to the target (TDH2 label)', () => {
    // The agency holds provider data: a field from alice to bob (no target). Its own account sends the
    // target a message carrying that field; the provider signs the delivery record of that message.
    const victim = world.deliver(epochKey, { messageId: 'v1', sender: 'alice', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
    const agentMessage = { messageId: 'a1', recipients: ['mallory'], serverTime: SENT };
    const agentContext = { groupId: 'YWdlbnQtZ3JvdXA', senderUsername: 'agent', senderDevice: 'agent-phone', recipientDevices: ['mallory-phone'], clientMessageId: 'agent-00000001' };
    const lifted = { field: victim.field, delivery: world.signDelivery(agentMessage, agentContext, victim.field) };
    expect(refusal(evaluateShareRequest(world.request(1, logged, lifted, NOW), view()))).toBe('field_not_for_message');
    // the same with random mask bytes around the lifted point
    const masked = victim.field.slice();
    masked.set(randomBytes(32), 69);
    const randomMask = { field: masked, delivery: world.signDelivery(agentMessage, agentContext, masked) };
    expect(refusal(evaluateShareRequest(world.request(1, logged, randomMask, NOW), view()))).toBe('field_not_for_message');
    // a field the agent made itself (valid TDH2 for its own message) is fine: it is the agent's message
    const own = world.deliver(epochKey, { ...agentMessage, sender: 'agent', groupId: agentContext.groupId, recipientDevices: agentContext.recipientDevices, clientMessageId: agentContext.clientMessageId }, randomBytes(32));
    expect(evaluateShareRequest(world.request(1, logged, own, NOW), view()).release).toBe(true);
    // and the provider adding a ghost device of the target to the victim's delivery: the label no longer fits
    const ghosted = world.signDelivery({ messageId: 'v1', recipients: ['bob', 'mallory'], serverTime: SENT }, { ...victim.context, recipientDevices: [...victim.context.recipientDevices, 'mallory-ghost'] }, victim.field);
    expect(refusal(evaluateShareRequest(world.request(1, logged, { field: victim.field, delivery: ghosted }, NOW), view()))).toBe('field_not_for_message');
  });

  it('refuse a field made with tomorrow’s epoch key (a modified sender escaping escrow)', () => {
    const tomorrow = world.deliver(tomorrowKey, { messageId: 'm5', sender: 'mallory', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, tomorrow, NOW), view()))).toBe('epoch_mismatch');
  });

  it('start the window at the warrant’s log-attested time, not at the dates a backdated document carries', async () => {
    // Double-signed, dated ten days ago, but first logged (and witnessed) an hour ago.
    const backdated = world.approve(world.issue(world.draft({ issuedAt: NOW - 10 * DAY_MS })), NOW - 10 * DAY_MS + 60_000);
    const late = await world.logWarrant(backdated, NOW - 3_600_000);
    const old = world.deliver(epochKey, { messageId: 'm-old', sender: 'mallory', recipients: ['bob'], serverTime: NOW - 9 * DAY_MS }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, late, old, NOW), view()))).toBe('outside_window');
    const fresh = world.deliver(epochKey, { messageId: 'm-new', sender: 'mallory', recipients: ['bob'], serverTime: NOW - 60_000 }, randomBytes(32));
    expect(evaluateShareRequest(world.request(1, late, fresh, NOW), view()).release).toBe(true);
  });

  it('bind each share proof to the warrant revision', () => {
    const decision = evaluateShareRequest(world.request(1, logged, message, NOW), view());
    if (!decision.release) throw new Error('expected a release');
    const secret = randomScalar();
    const share = createDecryptionShare(1, secret, decision.field.u, decision.binding);
    const vk = Point.BASE.multiply(secret).toBytes();
    expect(verifyDecryptionShare(share, vk, decision.field.u, shareBinding(logged.warrant.warrant, 1, message.field))).toBe(true);
    expect(verifyDecryptionShare(share, vk, decision.field.u, shareBinding({ ...logged.warrant.warrant, revision: 1 }, 1, message.field))).toBe(false);
  });

  it('refuse a field whose epoch does not match its delivery time', () => {
    const old = world.deliver({ epoch: epochKey.epoch - 5, publicKey: epochKey.publicKey }, { messageId: 'm4', sender: 'mallory', recipients: ['bob'], serverTime: SENT }, randomBytes(32));
    expect(refusal(evaluateShareRequest(world.request(1, logged, old, NOW), view()))).toBe('epoch_mismatch');
    expect(fromBase64Url(toBase64Url(old.field))).toEqual(old.field);
  });
});

describe('split views', () => {
  it('a custodian refuses a second, different tree of a size it has seen, even when witnessed', async () => {
    const guard = splitViewGuard(world.verifyInclusion);
    // the log's operator keeps a second tree under the same key (same origin) with other content
    const forkDb = await openDb({ sqlitePath: ':memory:' });
    const signerKey = world.logSignerKey;
    const fork = await TransparencyLog.open(forkDb, { signerKey, witnesses: [world.witness.verifierKey] });
    try {
      const honest = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED })), ISSUED));
      const { commitment } = commitToWarrant(honest.warrant.warrant, honest.nonce);
      const filler = Array.from({ length: honest.inclusion.treeSize - 1 }, (_, i) => new TextEncoder().encode(`fork ${i}`));
      await fork.append([...filler.slice(0, honest.inclusion.leafIndex), warrantLogEntry(commitment, honest.warrant.warrant), ...filler.slice(honest.inclusion.leafIndex)]);
      await fork.flush();
      const cp = await fork.checkpoint();
      await fork.addCosignature(`${cp.note}${world.witness.cosign(cp.text)}\n`);
      const forked = await fork.checkpoint();
      const path = (await fork.inclusionProof(honest.inclusion.leafIndex, forked.size)).map(toBase64Url);
      const forkInclusion = { leafIndex: honest.inclusion.leafIndex, treeSize: forked.size, path, checkpoint: forked.note };
      const entry = warrantLogEntry(commitment, honest.warrant.warrant);
      expect(forked.size).toBe(honest.inclusion.treeSize);
      expect(world.verifyInclusion(entry, forkInclusion, forked.note)).toBe(true); // each view alone verifies
      expect(guard(entry, honest.inclusion, honest.inclusion.checkpoint)).toBe(true);
      expect(guard(entry, forkInclusion, forked.note)).toBe(false);
    } finally {
      await forkDb.close();
    }
  });
});
