/**
 * Three real custodian services (2-of-3), each with its own keys and SQLite database, a real witnessed
 * transparency log, and the agency's HTTP client: the DKG ceremony, a lawful decryption, and every
 * refusal the design promises — one signature only, forged, expired, out of window, non-target, a
 * custodian returning a wrong share, t − 1 custodians colluding, a replayed request, a cancelled
 * warrant, a request after the epoch's erasure, and fewer than t custodians answering.
 */
import {
  type Decryption,
  
  type EpochKey,
  combineShares,
  createDecryptionShare,
  decodeScalar,
  
  decryptWithSharedPoint,
  deliveryLabel,
  epochAt,
  fetchEpochKey,
  fetchEpochCertificate,
  buildEvidenceBundle,
  verifyEvidenceBundle,
  dkgRound1,
  round1ToJson,
  lawfulAccessStatistics,
  releaseLogEntry,
  unsealLogEntry,
  unsealBy,
  issueWarrant,
  parseEscrowField,
  runDkgCeremony,
  refusalNotice,
  signDkgRequest,
  type SignedDkgRequest,
  shareBinding,
  verifyEscrowField,
  DAY_MS,
  generateSigningKey,
} from '@doublelock/lawful-access';
import { LawfulAccessWorld, type LoggedWarrant, refusals } from '@doublelock/lawful-access/testing';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { existsSync, readFileSync } from 'node:fs';
import { ristretto255 } from '@noble/curves/ed25519.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningCustodian } from '../src/index.ts';
import { type CustodianTrio, startCustodianTrio } from './trio.ts';
import { ShareWrapping, WRAP_KEY_DIR } from '../src/shareWrapping.ts';

const ISSUED = Date.UTC(2026, 10, 23, 9);
const HOUR = 3_600_000;
let clock = ISSUED + HOUR;

let world: LawfulAccessWorld;
let custodians: RunningCustodian[];
let trio: CustodianTrio;
let epochKey: EpochKey;
let logged: LoggedWarrant;
const K = randomBytes(32);
let message: ReturnType<LawfulAccessWorld['deliver']>;

function decrypt(w: LoggedWarrant, m: { field: Uint8Array; delivery: typeof message.delivery }, extra: { fetch?: typeof fetch; prefer?: number[] } = {}): Promise<Decryption> {
  return world.decrypt(w, m, epochKey, { requestedAt: clock, ...extra });
}

const refusalCodes = async (attempt: Promise<unknown>): Promise<string[]> => [...new Set((await refusals(attempt)).map((f) => f.code))];

beforeAll(async () => {
  trio = await startCustodianTrio({ custodian: () => ({ now: () => clock }) });
  ({ world, custodians } = trio);
  ({ key: epochKey } = await runDkgCeremony(world.trust, epochAt(clock), world.coordinator, { now: () => clock }));
  logged = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'], window: { start: ISSUED, end: ISSUED + 60 * DAY_MS } })), ISSUED + HOUR / 2));
  message = world.deliver(epochKey, { messageId: 'm-42', sender: 'mallory', recipients: ['bob'], serverTime: clock }, K);
  clock += HOUR;
});

afterAll(() => trio?.close());

describe('custodians (2-of-3) over HTTP', () => {
  it('ran the DKG: one certified epoch key that any client can fetch and verify', async () => {
    expect(await fetchEpochKey(world.trust, epochKey.epoch)).toEqual(epochKey);
    const post = (body: unknown) => fetch(`${custodians[0]!.url}/v1/dkg/round1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ epoch: epochKey.epoch })).status).toBe(400); // unsigned: no coordinator
    const again = await post(signDkgRequest(world.coordinator, 1, 'round1', { epoch: epochKey.epoch }, clock));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { code: string }).code).toBe('epoch_exists');
  });

  it('a tampering coordinator is caught: a corrupted share names its dealer, a split view fails certification', async () => {
    // The coordinator itself is malicious: it edits what it relays and signs the edited request.
    const tamper =
      (edit: (url: string, body: { epoch: number; messages?: Array<{ encryptedShares: string[]; commitment: string[] }> }) => void): typeof fetch =>
      async (input, init) => {
        if (!init?.body) return fetch(input, init);
        const signed = JSON.parse(String(init.body)) as SignedDkgRequest;
        edit(String(input), signed.body as { epoch: number });
        return fetch(input, { ...init, body: JSON.stringify(signDkgRequest(world.coordinator, signed.custodian, signed.step, signed.body, signed.requestedAt)) });
      };
    // custodian 2's encrypted share for custodian 1 is altered in transit
    const corrupt = tamper((url, body) => {
      if (url.startsWith(custodians[0]!.url) && body.messages) {
        const c = fromBase64Url(body.messages[1]!.encryptedShares[0]!);
        c[0]! ^= 1;
        body.messages[1]!.encryptedShares[0] = toBase64Url(c);
      }
    });
    const error = await runDkgCeremony(world.trust, epochKey.epoch + 1, world.coordinator, { fetch: corrupt, now: () => clock }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/custodian 1: custodian 2: encrypted share does not decrypt \(dkg_fault\)/);
    // a split view: custodian 3 is shown another internally valid round-1 message "from" custodian 2
    // (as a coordinator colluding with custodian 2 could); round 2 passes, certification catches it
    const alternative = round1ToJson(dkgRound1(world.dkgSession(epochKey.epoch + 2), 2).message);
    const splitView = tamper((url, body) => {
      if (url.startsWith(custodians[2]!.url) && body.messages) (body.messages as unknown[])[1] = alternative;
    });
    const splitError = await runDkgCeremony(world.trust, epochKey.epoch + 2, world.coordinator, { fetch: splitView, now: () => clock }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(splitError?.message).toMatch(/custodian [13]: transcript signature does not verify \(split view or forgery\)/);
    for (const c of custodians) expect(await c.store.epoch(epochKey.epoch + 2)).toBeUndefined();
  });

  it('decrypt with a valid warrant: t verified shares recover K, and each release is logged', async () => {
    const before = world.log.size;
    const result = await decrypt(logged, message);
    expect(result.contentKey).toEqual(K);
    expect(result.shares).toHaveLength(2);
    expect(result.releases.map((r) => r.record.custodian).sort()).toEqual([1, 2]);
    await world.log.flush();
    expect(world.log.size).toBe(before + 2);
    const published = await custodians[0]!.store.releases();
    expect(published.at(-1)!.record.record.messageDigest).toBe(result.releases.find((r) => r.record.custodian === 1)!.record.messageDigest);

    // The evidence bundle: a third party re-checks every link from the trust root alone.
    const { certificate } = await fetchEpochCertificate(world.trust, epochKey.epoch);
    const context = new TextEncoder().encode('the envelope context (opens the payload)');
    const bundle = buildEvidenceBundle({ trust: world.signedTrust, warrant: logged.warrant, commitmentNonce: logged.nonce, inclusion: logged.inclusion, delivery: message.delivery, field: message.field, context, certificate, decryption: result });
    const roundTripped = JSON.parse(JSON.stringify(bundle)) as unknown;
    expect(verifyEvidenceBundle(roundTripped, world.root.publicKey)).toEqual(K);
    const otherMessage = { ...message.delivery, record: { ...message.delivery.record, clientMessageId: 'another-message' } };
    expect(() => verifyEvidenceBundle({ ...bundle, delivery: otherMessage }, world.root.publicKey)).toThrow(/delivery record is not signed/);
    expect(() => verifyEvidenceBundle({ ...bundle, shares: [bundle.shares[0]!, { ...bundle.shares[1]!, proof: bundle.shares[0]!.proof }] }, world.root.publicKey)).toThrow(/share proof does not verify/);
    expect(() => verifyEvidenceBundle({ ...bundle, shares: bundle.shares.slice(1) }, world.root.publicKey)).toThrow(/need 2/);
    expect(() => verifyEvidenceBundle({ ...bundle, releases: bundle.releases.slice(1) }, world.root.publicKey)).toThrow(/no valid release record/);
    expect(() => verifyEvidenceBundle({ ...bundle, commitmentNonce: toBase64Url(randomBytes(32)) }, world.root.publicKey)).toThrow(/transparency log/);
    expect(() => verifyEvidenceBundle(bundle, generateSigningKey().publicKey)).toThrow(/pinned root key/);
  });

  it('refuse a warrant with the Secretary of State’s signature only', async () => {
    const sosOnly = await world.logWarrant(world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'] })));
    expect(await refusalCodes(decrypt(sosOnly, message))).toEqual(['approval_missing']);
  });

  it('refuse a forged warrant', async () => {
    const forged = { ...logged, warrant: { ...issueWarrant({ ...logged.warrant.warrant, targets: ['mallory', 'bob'] }, 'sos-1', generateSigningKey().secretKey), decision: logged.warrant.decision } };
    expect(await refusalCodes(decrypt(forged, message))).toEqual(['issue_signature']);
  });

  it('refuse an expired warrant', async () => {
    const short = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, window: { start: ISSUED, end: ISSUED + 90 * 60_000 } })), ISSUED));
    expect(await refusalCodes(decrypt(short, message))).toEqual(['expired']);
  });

  it('refuse a message outside the window, and one not to or from a target', async () => {
    const early = world.deliver(epochKey, { messageId: 'm-early', sender: 'mallory', recipients: ['bob'], serverTime: ISSUED + 60_000 }, randomBytes(32));
    expect(await refusalCodes(decrypt(logged, early))).toEqual(['outside_window']);
    const bystander = world.deliver(epochKey, { messageId: 'm-b', sender: 'alice', recipients: ['bob'], serverTime: ISSUED + HOUR }, randomBytes(32));
    expect(await refusalCodes(decrypt(logged, bystander))).toEqual(['not_target']);
  });

  it('catch a custodian returning a wrong share by its DLEQ proof, and decrypt with the honest ones', async () => {
    const corrupting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).startsWith(custodians[0]!.url) || !response.ok) return response;
      const body = (await response.json()) as { share: string };
      const D = fromBase64Url(body.share);
      const tampered = parseEscrowField(message.field).u; // any valid point that is not x_1·U
      body.share = toBase64Url(D[0] === tampered[0] ? randomPointLike(D) : tampered);
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const result = await decrypt(logged, message, { fetch: corrupting });
    expect(result.failures).toEqual([{ custodian: 1, code: 'invalid_share', reason: expect.stringMatching(/DLEQ/) }]);
    expect(result.shares.map((s) => s.index)).toEqual([2, 3]);
    expect(result.contentKey).toEqual(K);
  });

  it('t − 1 custodians together cannot decrypt, even with their secret shares (every t − 1 subset)', async () => {
    const secrets = await Promise.all(
      custodians.map(async (c, i) => decodeScalar(new ShareWrapping(trio.dataDir(i + 1)).unwrap(epochKey.epoch, (await c.store.epoch(epochKey.epoch))!.share!)!)),
    );
    const parsed = parseEscrowField(message.field);
    const label = deliveryLabel(message.delivery.record, parsed.epoch);
    const t = world.trust.threshold;
    const subsets = (from: number[], k: number): number[][] => (k === 0 ? [[]] : from.flatMap((x, i) => subsets(from.slice(i + 1), k - 1).map((rest) => [x, ...rest])));
    const coalitions = subsets([1, 2, 3], t - 1);
    expect(coalitions).toHaveLength(3);
    for (const coalition of coalitions) {
      // their real shares, pooled, combined as if they were t: the key is wrong and the field says so
      const shares = coalition.map((i) => createDecryptionShare(i, secrets[i - 1]!, parsed.u, shareBinding(logged.warrant.warrant, i, message.field)));
      const guess = decryptWithSharedPoint(epochKey.publicKey, parsed, combineShares(shares), label);
      expect(guess).not.toEqual(K);
      expect(verifyEscrowField(epochKey, message.field, guess, message.context)).toBe(false);
    }
    // while any t of them do recover K (the coalition lacks exactly one share)
    const t_shares = [1, 2].map((i) => createDecryptionShare(i, secrets[i - 1]!, parsed.u, shareBinding(logged.warrant.warrant, i, message.field)));
    expect(decryptWithSharedPoint(epochKey.publicKey, parsed, combineShares(t_shares), label)).toEqual(K);
  });

  it('refuse a replayed request', async () => {
    const request = world.request(3, logged, message, clock);
    const post = () => fetch(`${custodians[2]!.url}/v1/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
    expect((await post()).status).toBe(200);
    const replay = await post();
    expect(replay.status).toBe(403);
    expect(((await replay.json()) as { code: string }).code).toBe('replay');
  });

  it('refuse after a cancellation sent to the custodians', async () => {
    const w = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'] })), ISSUED + HOUR / 2));
    const cancellation = world.cancel(w.warrant.warrant.id, clock - 1);
    for (const c of custodians) {
      const response = await fetch(`${c.url}/v1/cancellations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cancellation) });
      expect(response.status).toBe(200);
    }
    const forged = { ...cancellation, signature: toBase64Url(new Uint8Array(64)) };
    expect((await fetch(`${custodians[0]!.url}/v1/cancellations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) })).status).toBe(403);
    expect(await refusalCodes(decrypt(w, message))).toEqual(['cancelled']);
  });

  it('refuse an urgent warrant whose refusal the agency stripped from the document (the refusal binds)', async () => {
    // Urgent: valid on the Secretary of State's signature alone, for three working days.
    const urgent = world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'], urgent: true, window: { start: ISSUED, end: ISSUED + 2 * DAY_MS } }));
    const w = await world.logWarrant(urgent);
    const notice = refusalNotice(world.refuse(urgent, ISSUED + HOUR, 'not proportionate'));
    const forged = { ...notice, signature: toBase64Url(new Uint8Array(64)) };
    expect((await fetch(`${custodians[0]!.url}/v1/refusals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(forged) })).status).toBe(403);
    for (const c of custodians) {
      const response = await fetch(`${c.url}/v1/refusals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(notice) });
      expect(response.status).toBe(200);
    }
    // the agency presents the warrant without the refusal (decision: null), as it was before the judge decided
    expect(w.warrant.decision).toBeNull();
    expect(await refusalCodes(decrypt(w, message))).toEqual(['refused']);
  });

  it('refuse after the epoch’s retention: the shares are erased, and the wrapped copies left in SQLite’s files no longer open', async () => {
    // Before erasure: what custodian 1 keeps — its share, wrapped under a key file outside the database.
    const dataDir = trio.dataDir(1);
    const keyFile = join(dataDir, WRAP_KEY_DIR, `${epochKey.epoch}.key`);
    const wrapKey = new Uint8Array(readFileSync(keyFile));
    const wrapped = (await custodians[0]!.store.epoch(epochKey.epoch))!.share!;
    const share = new ShareWrapping(dataDir).unwrap(epochKey.epoch, wrapped)!;
    // it really is x_1: x_1·G is custodian 1's verification key in the epoch certificate
    expect(toBase64Url(ristretto255.Point.BASE.multiply(decodeScalar(share)).toBytes())).toBe(toBase64Url(epochKey.verificationKeys[0]!));

    clock = ISSUED + 40 * DAY_MS; // the warrant (60 days) is still in force; the epoch (31 days' retention) is not
    expect(await refusalCodes(decrypt(logged, message))).toEqual(['epoch_erased']);
    for (const c of custodians) {
      const row = await c.store.epoch(epochKey.epoch);
      expect(row!.share).toBeNull();
      expect(row!.erasedAt).toBe(clock);
    }
    // After erasure, read the raw bytes an attacker with the disk (or a backup) would have: the SQLite main
    // file and its WAL. The plaintext share is in neither; the wrapped share may well still be (WAL pages
    // survive until a checkpoint overwrites them) — but its key file is gone, and its bytes are nowhere.
    expect(existsSync(keyFile)).toBe(false);
    const disk = ['doublelock.sqlite', 'doublelock.sqlite-wal'].filter((f) => existsSync(join(dataDir, f))).map((f) => readFileSync(join(dataDir, f)));
    expect(disk.length).toBe(2);
    const found = (needle: Uint8Array) => disk.some((bytes) => bytes.indexOf(Buffer.from(needle)) >= 0);
    expect(found(share)).toBe(false);
    expect(found(wrapKey)).toBe(false);
    expect(found(wrapped.subarray(24))).toBe(true); // the ciphertext is still on disk: useless without its key
    expect(new ShareWrapping(dataDir).unwrap(epochKey.epoch, wrapped)).toBeUndefined();
    const status = (await (await fetch(`${custodians[1]!.url}/v1/epochs/${epochKey.epoch}`)).json()) as { erased: boolean };
    expect(status.erased).toBe(true);
  });

  it('refuse with fewer than t custodians reachable', async () => {
    clock = ISSUED + 2 * HOUR;
    const fresh = world.deliver(epochKey, { messageId: 'm-43', sender: 'bob', recipients: ['mallory'], serverTime: ISSUED + HOUR }, randomBytes(32));
    await custodians[1]!.close();
    await custodians[2]!.close();
    expect(await refusalCodes(decrypt(logged, fresh))).toEqual(expect.arrayContaining(['unreachable']));
  });
});

describe('oversight from the public log', () => {
  it('counts warrants and decrypted messages from the log alone, and flags forged release entries', async () => {
    // a forged release (not signed by the custodian) appended by someone with log access
    const genuine = (await custodians[0]!.store.releases())[0]!.record;
    await world.log.append([releaseLogEntry({ record: { ...genuine.record, messageDigest: 'A'.repeat(43) }, signature: genuine.signature })]);
    // after the secrecy period the main warrant is unsealed; a bogus opening is flagged
    await world.log.append([unsealLogEntry(logged.warrant, logged.nonce), unsealLogEntry(logged.warrant, randomBytes(32))]);
    await world.log.flush();
    const stats = lawfulAccessStatistics(await world.log.entries(0, world.log.size), world.trust, unsealBy(logged.warrant.warrant));
    // warrants logged in this file: the main one, SoS-only, short, cancelled, refused urgent (the forged one never was)
    expect(stats.warrantsByMonth).toEqual([{ month: '2026-11', issued: 5, modified: 0 }]);
    // m-42 was released by all three custodians (≥ t): one message; m-43 by nobody (erased epoch, custodians down)
    expect(stats.decryptedByMonth).toEqual([{ month: '2026-11', messages: 1 }]);
    const main = stats.warrants.find((w) => w.messagesDecrypted === 1)!;
    expect(main.releases).toBe(6); // 2 (lawful decryption) + 3 (wrong-share run: 1, 2, then 3) + 1 (replay test)
    expect(main.unsealed).toMatchObject({ id: logged.warrant.warrant.id, agency: 'nca', grounds: ['national-security'], maxMessages: 100, targets: 1 });
    expect(stats.anomalies).toEqual([expect.stringMatching(/not signed by custodian 1/), expect.stringMatching(/unsealing refused: .*open no warrant commitment in the log/)]);
  });
});

function randomPointLike(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[0] = 0xe2; // corrupt: almost always not a valid encoding or not x_1·U
  return out;
}
