/**
 * Attacks on the log the custodians depend on, with three real custodian services (2-of-3), a real
 * transparency log served over HTTP with its witness, and the agency's client:
 *   - limits are global: a 2-of-3 agency with a limit of L messages tries different pairs of custodians
 *     for each message, and still gets only L (counted from the release records in the log);
 *   - a provider that drops release records (answering as if it had logged them) gets no share: each
 *     custodian returns a share only once its release is proven in a witnessed checkpoint, and the
 *     oversight cross-check of the custodians' own release lists with the log flags the missing ones;
 *   - a restarted custodian still holds the checkpoint it accepted last, and refuses a forked log.
 */
import { cancellationLogEntry, refusalLogEntry, refusalNotice, type EpochKey, epochAt, parseReleaseLogEntry, runDkgCeremony, unloggedReleases, DAY_MS, signTrustConfig, type SignedReleaseRecord } from '@doublelock/lawful-access';
import { LawfulAccessWorld, type LoggedWarrant, refusals } from '@doublelock/lawful-access/testing';
import { TransparencyLog } from '@doublelock/log';
import { openDb } from '@doublelock/store';
import { randomBytes } from '@noble/hashes/utils.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCustodian, startCustodian, writeCustodianKeys } from '../src/index.ts';
import { type CustodianTrio, startCustodianTrio } from './trio.ts';
import { toBase64Url } from '@doublelock/protocol';
import { runOversightAudit } from '../../cli/src/oversight/audit.ts';
import { renderText } from '../../cli/src/oversight/render.ts';

let trio: CustodianTrio;
let world: LawfulAccessWorld;
let logUrl: string;
let custodians: RunningCustodian[] = [];
let epochKey: EpochKey;
const now = Date.now();

beforeAll(async () => {
  trio = await startCustodianTrio({ custodian: () => ({ releaseLogTimeoutMs: 1500 }) });
  ({ world, custodians } = trio);
  logUrl = trio.logUrl!;
  ({ key: epochKey } = await runDkgCeremony(world.trust, epochAt(now), world.coordinator));
}, 60_000);

afterAll(() => trio?.close());

async function logWarrant(limits: { maxMessages: number; maxPerDay?: number }): Promise<LoggedWarrant> {
  const issuedAt = now - 3_600_000;
  return world.logWarrant(world.approve(world.issue(world.draft({ issuedAt, limits, window: { start: issuedAt, end: issuedAt + 10 * DAY_MS } })), issuedAt + 60_000));
}

const decrypt = (w: LoggedWarrant, m: ReturnType<LawfulAccessWorld['deliver']>, prefer: number[]) => world.decrypt(w, m, epochKey, { prefer });

const refusal = async (attempt: Promise<unknown>): Promise<Array<[number, string]>> => (await refusals(attempt)).map((f) => [f.custodian, f.code]);

describe('custodians and the log they depend on', () => {
  it('a limit of L messages holds across different pairs of custodians (counted from the log)', async () => {
    const w = await logWarrant({ maxMessages: 2 });
    const messages = [1, 2, 3].map((n) => world.deliver(epochKey, { messageId: `limit-${n}`, sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32)));
    // Each pair alone has seen at most two messages: per-custodian counting would let all three through.
    expect((await decrypt(w, messages[0]!, [1, 2])).shares.map((s) => s.index)).toEqual([1, 2]);
    expect((await decrypt(w, messages[1]!, [2, 3])).shares.map((s) => s.index)).toEqual([2, 3]);
    const third = await refusal(decrypt(w, messages[2]!, [1, 3]));
    expect(third.sort()).toEqual([
      [1, 'limit_reached'],
      [2, 'limit_reached'],
      [3, 'limit_reached'],
    ]);
    // A message already released may be asked for again (a retry), from any pair.
    expect((await decrypt(w, messages[0]!, [1, 3])).contentKey).toBeDefined();
  });

  it('a per-day limit holds across pairs too', async () => {
    const w = await logWarrant({ maxMessages: 10, maxPerDay: 1 });
    const [a, b] = [1, 2].map((n) => world.deliver(epochKey, { messageId: `daily-${n}`, sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32)));
    expect((await decrypt(w, a!, [1, 2])).shares).toHaveLength(2);
    expect((await refusal(decrypt(w, b!, [2, 3]))).map(([, code]) => code)).toEqual(['limit_reached', 'limit_reached', 'limit_reached']);
  });

  it('a provider that drops release records gets no share, and oversight flags every dropped release', async () => {
    const w = await logWarrant({ maxMessages: 10 });
    const m = world.deliver(epochKey, { messageId: 'dropped-1', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    world.dropReleases = true;
    try {
      const codes = await refusal(decrypt(w, m, [1, 2]));
      expect(codes.map(([, code]) => code)).toEqual(['release_not_logged', 'release_not_logged', 'release_not_logged']);
    } finally {
      world.dropReleases = false;
    }
    // The oversight cross-check: each custodian's own list against the log.
    const lists = new Map<number, SignedReleaseRecord[]>();
    for (const c of custodians) {
      const body = (await (await fetch(`${c.url}/v1/releases`)).json()) as { releases: Array<{ record: SignedReleaseRecord }> };
      lists.set(c.index, body.releases.map((r) => r.record));
    }
    await world.log.flush();
    const entries = await world.log.entries(0, world.log.size);
    expect(entries.map(parseReleaseLogEntry).filter((r) => r !== undefined).length).toBeGreaterThan(0); // the earlier releases are there
    const missing = unloggedReleases(lists, entries, world.trust);
    expect(missing.map((r) => r.custodian).sort()).toEqual([1, 2, 3]);
    expect(new Set(missing.map((r) => r.messageDigest)).size).toBe(1);
    // The same through the auditor's report (`doublelock oversight report --custodians`): the log audits
    // clean, and the dropped releases are flagged.
    const audit = await runOversightAudit({ url: logUrl, logKey: world.log.verifierKey, trustRoot: toBase64Url(world.root.publicKey), custodians: true });
    expect(audit.custodianErrors).toEqual([]);
    expect(audit.unlogged!.map((r) => [r.custodian, r.messageDigest]).sort()).toEqual(missing.map((r) => [r.custodian, r.messageDigest]).sort());
    expect(renderText(audit)).toMatch(/RELEASES MISSING FROM THE LOG \(3\)/);
  });

  it('a refusal or a cancellation in the log binds every custodian, though nobody sent it to them', async () => {
    const issuedAt = now - 3_600_000;
    const urgent = world.issue(world.draft({ issuedAt, urgent: true, window: { start: issuedAt, end: issuedAt + 2 * DAY_MS } }));
    const w = await world.logWarrant(urgent);
    const m = world.deliver(epochKey, { messageId: 'refused-1', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    // The judge's refusal reaches the log (the provider appends it) and nowhere else; the agency keeps
    // presenting the urgent warrant without it.
    const refusalAt = (await world.log.append([refusalLogEntry(refusalNotice(world.refuse(urgent, issuedAt + 60_000, 'not necessary')))])).firstIndex;
    await world.inclusionFor(refusalAt); // witnessed
    expect(new Set((await refusal(decrypt(w, m, [1, 2]))).map(([, code]) => code))).toEqual(new Set(['refused']));
    // A cancellation likewise.
    const cancelled = await logWarrant({ maxMessages: 10 });
    const m2 = world.deliver(epochKey, { messageId: 'cancelled-1', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    const cancellationAt = (await world.log.append([cancellationLogEntry(world.cancel(cancelled.warrant.warrant.id, Date.now() - 1000))])).firstIndex;
    await world.inclusionFor(cancellationAt);
    expect(new Set((await refusal(decrypt(cancelled, m2, [1, 2]))).map(([, code]) => code))).toEqual(new Set(['cancelled']));
  });

  it('a restarted custodian still holds the checkpoint it accepted, and refuses a forked log', async () => {
    const w = await logWarrant({ maxMessages: 10 });
    const m = world.deliver(epochKey, { messageId: 'fork-1', sender: 'mallory', recipients: ['bob'], serverTime: now - 60_000 }, randomBytes(32));
    expect((await decrypt(w, m, [1, 2])).shares).toHaveLength(2);
    // Restart custodian 1: its memory is gone, its database is not.
    await custodians[0]!.close();
    custodians[0] = await trio.start(0);
    // The log's operator now serves another history under the same key (longer, so a fresh custodian
    // would have nothing to compare it with), and the witness cosigns whatever it is shown.
    const forkDb = await openDb({ sqlitePath: ':memory:' });
    const fork = await TransparencyLog.open(forkDb, { signerKey: world.logSignerKey, witnesses: [world.witness.verifierKey] });
    try {
      await world.log.flush();
      const honest = await world.log.entries(0, world.log.size);
      await fork.append([...honest.slice(0, honest.length - 1), new TextEncoder().encode('rewritten history'), ...honest.slice(-1), new TextEncoder().encode('more')]);
      await fork.flush();
      world.served = fork;
      const codes = await refusal(decrypt(w, m, [1]));
      expect(codes.find(([c]) => c === 1)).toEqual([1, 'log_inconsistent']);
      // A custodian with no memory of the log would have accepted the fork as its first view.
      const fresh = mkdtempSync(join(tmpdir(), 'dl-custodian-fresh-'));
      try {
        writeCustodianKeys(fresh, { staticSecret: world.custodians[0]!.staticKey.secret, signingSecret: world.custodians[0]!.signing.secretKey });
        const amnesiac = await startCustodian({ port: 0, dataDir: fresh, trust: world.signedTrust, trustRoot: world.root.publicKey, logUrl, logLevel: 'warn' });
        const response = await fetch(`${amnesiac.url}/v1/shares`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(world.request(1, w, m, Date.now())) });
        expect(((await response.json()) as { code: string }).code).not.toBe('log_inconsistent');
        await amnesiac.close();
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    } finally {
      world.served = world.log;
      await forkDb.close();
    }
  });

  it('a trust configuration with a witness quorum of 0 is refused', () => {
    const config = structuredClone(world.trust);
    config.log.witnessQuorum = 0;
    expect(() => signTrustConfig(config, world.root.secretKey)).toThrow(/witness quorum/);
    config.log.witnesses = [];
    expect(() => signTrustConfig(config, world.root.secretKey)).toThrow();
  });
});
