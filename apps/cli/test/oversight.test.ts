/**
 * `doublelock oversight`: against a real server with lawful access on (2-of-3 custodians), warrants
 * submitted through the agency endpoint, release records posted by custodians, accounts registered (key
 * transparency entries in the same log). The CLI runs as a child process; the counts it prints are
 * checked exactly, a forged release inserted straight into the log is flagged and not counted, and a
 * tampered log fails the audit; an unsealed warrant is opened and held against what the log shows under
 * it. The entry parser, the tally and the unsealing checks are also exercised directly.
 */
import { canonicalBytes } from '@doublelock/lawful-access/canonicalJson';
import { RELEASE_ENTRY_LABEL, WARRANT_ENTRY_LABEL, messageDigest, releaseLogEntry, signReleaseRecord, unsealBy, warrantLogEntry, type ReleaseRecord } from '@doublelock/lawful-access/logEntries';
import { generateStaticKey } from '@doublelock/lawful-access/dkg';
import { generateSigningKey } from '@doublelock/lawful-access/signature';
import { signTrustConfig, type TrustConfig } from '@doublelock/lawful-access/trust';
import { commitToWarrant, decideWarrant, issueWarrant, type SignedWarrant, type Warrant } from '@doublelock/lawful-access/warrant';
import { directoryEntryBytes, fromBase64Url, lengthPrefixed, toBase64Url } from '@doublelock/protocol';
import { randomBytes } from '@noble/hashes/utils.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../server/src/app.ts';
import { signAgencyRequest } from '@doublelock/lawful-access/agencyRequests';
import { startTestServer } from '../../server/src/testing.ts';
import { call, TestAccount } from '../../server/test/harness.ts';
import { classifyEntry } from '../src/oversight/entries.ts';
import { OversightTally } from '../src/oversight/tally.ts';
import { checkUnsealed } from '../src/oversight/unseal.ts';

const CLI = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const month = (t: number) => new Date(t).toISOString().slice(0, 7);
const keys = {
  root: generateSigningKey(),
  sos: generateSigningKey(),
  judge: generateSigningKey(),
  agency: generateSigningKey(),
  provider: generateSigningKey(),
  custodians: [generateSigningKey(), generateSigningKey(), generateSigningKey()],
  forger: generateSigningKey(),
};

const dir = mkdtempSync(join(tmpdir(), 'doublelock-oversight-'));
const dataDir = join(dir, 'data');
const state = join(dir, 'state.json');
let server: RunningServer;
let trust: TrustConfig;
let logKey: string;
const now = Date.now();
const earlier = now - 40 * DAY;
const warrants: Record<'a' | 'b' | 'c', { warrant: SignedWarrant; nonce: string; commitment: string; leafIndex: number }> = {} as never;

function warrant(overrides: Partial<Warrant>): Warrant {
  return {
    format: 1, id: `w-${toBase64Url(randomBytes(6))}`, revision: 0, kind: 'targeted-interception', targets: ['alice'],
    window: { start: now - 1000, end: now + DAY }, grounds: ['serious-crime'], justification: 'oversight test', agency: 'nca',
    products: ['iri', 'cc'], limits: { maxMessages: 100 }, urgent: false, issuedAt: now - 1000, renews: null, ...overrides,
  };
}

async function submit(w: Warrant, decidedAt: number) {
  const signed = decideWarrant(issueWarrant(w, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt, reasons: '' }, 'jc', keys.judge.secretKey);
  const nonce = toBase64Url(randomBytes(32));
  const r = await call<{ commitment: string; leafIndex: number }>(server.url, 'POST', '/v1/lawful-access/warrants', signAgencyRequest({ warrant: signed, commitmentNonce: nonce }, 'nca', keys.agency.secretKey));
  if (r.status !== 201) throw new Error(`warrant refused: ${JSON.stringify(r.body)}`);
  return { warrant: signed, nonce, commitment: r.body.commitment, leafIndex: r.body.leafIndex };
}

let requests = 0;
const record = (custodian: number, commitment: string, message: string, releasedAt: number): ReleaseRecord => ({
  custodian,
  warrantCommitment: commitment,
  messageDigest: messageDigest(fromBase64Url(commitment), message),
  requestId: `req-${++requests}`,
  epoch: Math.floor(releasedAt / DAY),
  releasedAt,
});

async function release(custodian: number, commitment: string, message: string, releasedAt: number): Promise<number> {
  const signed = signReleaseRecord(record(custodian, commitment, message, releasedAt), keys.custodians[custodian - 1]!.secretKey);
  const r = await call<{ leafIndex: number; duplicate: boolean }>(server.url, 'POST', '/v1/lawful-access/releases', signed);
  if (r.status !== 201) throw new Error(`release refused: ${JSON.stringify(r.body)}`);
  // Posting the same record again is idempotent: the log holds it once.
  if (custodian === 1 && message === 'a-2') expect(await call(server.url, 'POST', '/v1/lawful-access/releases', signed)).toMatchObject({ status: 200, body: { duplicate: true } });
  return r.body.leafIndex;
}

const base = () => ['--url', server.url, '--log-key', logKey, '--state', state];
const report = async (...extra: string[]) => {
  const r = await run('oversight', 'report', ...base(), '--trust-root', toBase64Url(keys.root.publicKey), '--json', ...extra);
  return { ...r, json: r.stdout ? JSON.parse(r.stdout) : undefined };
};

beforeAll(async () => {
  // The trust configuration pins the server's log key, so learn it first, then restart with lawful access on.
  const first = await startTestServer({ dataDir });
  logKey = first.ctx.directory.log.verifierKey;
  await first.close();
  trust = {
    version: 1,
    deployment: 'oversight-test',
    issuedAt: now,
    secretaryOfState: [{ id: 'sos', publicKey: toBase64Url(keys.sos.publicKey) }],
    judicialCommissioners: [{ id: 'jc', publicKey: toBase64Url(keys.judge.publicKey) }],
    agencies: [{ id: 'nca', publicKey: toBase64Url(keys.agency.publicKey) }],
    provider: [{ id: 'provider', publicKey: toBase64Url(keys.provider.publicKey) }],
    coordinators: [{ id: 'coordinator', publicKey: toBase64Url(generateSigningKey().publicKey) }],
    custodians: keys.custodians.map((k, i) => ({ index: i + 1, name: `c${i + 1}`, url: `http://127.0.0.1:9/c${i + 1}`, staticKey: toBase64Url(generateStaticKey().publicKey), signingKey: toBase64Url(k.publicKey) })),
    threshold: 2,
    // a quorum of at least one witness is required; this test never needs its cosignatures
    log: { verifierKey: logKey, witnesses: ['witness.doublelock.test+2a954dea+BHfd9kHsYFDKAtMJjQNcaE7w8QI8vzxOQ+PeuCv2wXoa'], witnessQuorum: 1 },
    epoch: { lengthMs: DAY, retentionDays: 30 },
    bankHolidays: [],
  };
  server = await startTestServer({
    dataDir,
    lawfulAccess: { trust: signTrustConfig(trust, keys.root.secretKey), trustRootKey: toBase64Url(keys.root.publicKey), providerKeyId: 'provider', providerSecretKey: keys.provider.secretKey },
  });
  for (const name of ['alice', 'bob', 'carol']) await new TestAccount(server, name).register();
  warrants.a = await submit(warrant({}), now - 500);
  // Issued 40 days ago, still in force: its month differs from warrant a's.
  warrants.b = await submit(warrant({ targets: ['bob'], issuedAt: earlier, window: { start: earlier, end: now + DAY } }), earlier + HOUR);
  warrants.c = await submit(warrant({ targets: ['carol'] }), now - 500);
  await new TestAccount(server, 'dave').register();

  const [a, b] = [warrants.a.commitment, warrants.b.commitment];
  // Warrant a: a-1 by custodians 1 and 2 (decrypted), a-2 by all three (decrypted once), a-3 by custodian 3 alone (not).
  await release(1, a, 'a-1', now - 2 * HOUR);
  await release(2, a, 'a-1', now - HOUR);
  for (const c of [1, 2, 3]) await release(c, a, 'a-2', now - HOUR + c);
  await release(3, a, 'a-3', now - HOUR);
  // Warrant b: b-1 by custodian 2 alone (not decrypted), b-2 by custodians 1 and 3 weeks ago (decrypted in that month).
  await release(2, b, 'b-1', now - HOUR);
  await release(1, b, 'b-2', earlier + DAY);
  await release(3, b, 'b-2', earlier + 2 * DAY);
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function monthsBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${first}-01T00:00:00Z`); d.toISOString().slice(0, 7) <= last; d.setUTCMonth(d.getUTCMonth() + 1)) out.push(d.toISOString().slice(0, 7));
  return out;
}

function expectedMonths() {
  const rows = new Map(monthsBetween(month(earlier), month(now)).map((m) => [m, { month: m, warrantsIssued: 0, warrantsModified: 0, messagesDecrypted: 0 }]));
  rows.get(month(earlier))!.warrantsIssued += 1; // b
  rows.get(month(now))!.warrantsIssued += 2; // a, c
  rows.get(month(now - HOUR))!.messagesDecrypted += 2; // a-1, a-2 (the second custodian's release decides the month)
  rows.get(month(earlier + 2 * DAY))!.messagesDecrypted += 1; // b-2
  return [...rows.values()];
}

describe('doublelock oversight report', { timeout: 180_000 }, () => {
  it('audits the log and recomputes every warrant, release, per-warrant count and monthly statistic', async () => {
    const r = await report();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = r.json;
    expect(doc.format).toBe('doublelock/oversight-report/v1');
    expect(doc.log.size).toBe(server.ctx.directory.log.size);
    expect(doc.log.consistentWith).toBeNull();
    expect(doc.trust).toMatchObject({ deployment: 'oversight-test', pinned: true, threshold: 2 });
    expect(doc.entries).toEqual({ total: 4 + 3 + 9, directory: 4, warrant: 3, release: 9, unsealing: 0, otherLawfulAccess: 0, unrecognised: 0, malformed: 0 });
    expect(doc.warrants).toEqual(
      (['a', 'b', 'c'] as const).map((k) => ({
        leafIndex: warrants[k].leafIndex,
        commitment: warrants[k].commitment,
        revision: 0,
        issuedDay: new Date(warrants[k].warrant.warrant.issuedAt).toISOString().slice(0, 10),
        unsealBy: new Date(unsealBy(warrants[k].warrant.warrant)).toISOString().slice(0, 10),
      })),
    );
    expect(doc.releases).toHaveLength(9);
    expect(doc.releases.map((x: { custodian: number }) => x.custodian)).toEqual([1, 2, 1, 2, 3, 3, 2, 1, 3]);
    expect(doc.perWarrant).toEqual([
      { commitment: warrants.a.commitment, leafIndex: warrants.a.leafIndex, revision: 0, issuedDay: expect.any(String), releases: 6, messagesWithReleases: 3, messagesDecrypted: 2 },
      { commitment: warrants.b.commitment, leafIndex: warrants.b.leafIndex, revision: 0, issuedDay: expect.any(String), releases: 3, messagesWithReleases: 2, messagesDecrypted: 1 },
      { commitment: warrants.c.commitment, leafIndex: warrants.c.leafIndex, revision: 0, issuedDay: expect.any(String), releases: 0, messagesWithReleases: 0, messagesDecrypted: 0 },
    ]);
    expect(doc.months).toEqual(expectedMonths());
    expect(doc.totals).toEqual({ warrantsIssued: 3, warrantsModified: 0, releases: 9, messagesDecrypted: 3 });
    expect(doc.problems).toEqual([]);
  });

  it('prints the same as text, writes the chart, and checks consistency with the checkpoint seen last time', async () => {
    const chart = join(dir, 'chart.svg');
    const r = await run('oversight', 'report', ...base(), '--trust-root', toBase64Url(keys.root.publicKey), '--chart', chart);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^audit OK: .*: 16 entries hash to the signed root [0-9a-f]{64}; consistent with size 16 seen before/);
    expect(r.stdout).toContain('entries: 4 directory, 3 warrant, 9 release, 0 unsealing, 0 other lawful-access, 0 unrecognised, 0 malformed');
    expect(r.stdout).toContain('oversight-test, 2 of 3 custodians (signature verified under the trust root)');
    expect(r.stdout).toMatch(new RegExp(`\\n  ${warrants.a.leafIndex} +${new Date(now).toISOString().slice(0, 10)} +${warrants.a.commitment.slice(0, 12)}… +6 +3 +2\\n`));
    expect(r.stdout).toMatch(/\n {2}total +3 +0 +3\n/);
    expect(r.stdout).toContain('No problems');
    const svg = readFileSync(chart, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain(`<title>${month(now)}: 2 warrants issued</title>`);
    expect(svg).toContain(`<title>${month(earlier)}: 1 warrants issued</title>`);
    expect(svg).toContain(`<title>${month(now - HOUR)}: 2 messages decrypted</title>`);
    expect(svg).toContain(`<title>${month(earlier + 2 * DAY)}: 1 messages decrypted</title>`);
  });

  it('flags forged release records and malformed entries inserted into the log, by leaf, without counting them', async () => {
    const a = warrants.a.commitment;
    const log = server.ctx.directory.log;
    // Two "releases" for a new message, neither signed by the custodian it names: counted, they would make a decryption.
    const { firstIndex } = await log.append([
      releaseLogEntry(signReleaseRecord(record(1, a, 'a-forged', now), keys.forger.secretKey)),
      releaseLogEntry(signReleaseRecord(record(2, a, 'a-forged', now), keys.forger.secretKey)),
      releaseLogEntry(signReleaseRecord(record(7, a, 'a-forged', now), keys.forger.secretKey)),
      lengthPrefixed(WARRANT_ENTRY_LABEL, randomBytes(16), '0', String(Math.floor(now / DAY) * DAY)),
      lengthPrefixed(RELEASE_ENTRY_LABEL, '{"custodian":1}', 'sig'),
    ]);
    await log.flush();
    const r = await report();
    expect(r.code).toBe(2);
    expect(r.json.log.consistentWith).toBe(16);
    expect(r.json.problems).toEqual([
      { leafIndex: firstIndex, kind: 'bad-signature', detail: 'release record is not signed by custodian 1 (c1): not counted' },
      { leafIndex: firstIndex + 1, kind: 'bad-signature', detail: 'release record is not signed by custodian 2 (c2): not counted' },
      { leafIndex: firstIndex + 2, kind: 'unknown-custodian', detail: 'release names custodian 7, which the trust configuration does not list' },
      { leafIndex: firstIndex + 3, kind: 'malformed', detail: `malformed ${WARRANT_ENTRY_LABEL} entry: commitment is 16 bytes, not 32` },
      { leafIndex: firstIndex + 4, kind: 'malformed', detail: expect.stringMatching(/^malformed doublelock\/log\/release\/v1 entry: record does not match the release schema/) },
    ]);
    expect(r.stderr).toContain(`5 problem(s) in the log: leaf ${firstIndex} (bad-signature), leaf ${firstIndex + 1} (bad-signature)`);
    expect(r.json.totals).toEqual({ warrantsIssued: 3, warrantsModified: 0, releases: 9, messagesDecrypted: 3 });
    expect(r.json.perWarrant[0]).toMatchObject({ releases: 6, messagesDecrypted: 2 });
    expect(r.json.entries).toMatchObject({ release: 12, malformed: 2 });
  });

  it('refuses bad input with a clear message and a non-zero exit', async () => {
    const wrongRoot = await run('oversight', 'report', ...base(), '--trust-root', toBase64Url(keys.forger.publicKey));
    expect(wrongRoot.code).toBe(1);
    expect(wrongRoot.stderr).toContain('trust configuration signature does not verify under the pinned root key');
    const shortRoot = await run('oversight', 'report', ...base(), '--trust-root', 'AAAA');
    expect(shortRoot.code).not.toBe(0);
    expect(shortRoot.stderr).toContain('--trust-root must be 32 bytes of base64url, not 3');
    const badKey = await run('oversight', 'report', '--url', server.url, '--log-key', 'nonsense', '--state', state);
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toContain('--log-key is not a verifier key');
    const unreachable = await run('oversight', 'report', '--url', 'http://127.0.0.1:2', '--log-key', logKey, '--state', state);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach http://127.0.0.1:2: ECONNREFUSED');
    const unpinned = await run('oversight', 'report', ...base());
    expect(unpinned.code).toBe(2); // the forged entries from the previous test are still there
    expect(unpinned.stdout).toContain('NOT PINNED');
    expect(unpinned.stderr).toContain('warning: no --trust-root');
  });

  it('reports a server with lawful access off: directory entries only, nothing to verify', async () => {
    const plain = await startTestServer();
    try {
      await new TestAccount(plain, 'erin').register();
      const plainKey = plain.ctx.directory.log.verifierKey;
      const r = await run('oversight', 'report', '--url', plain.url, '--log-key', plainKey, '--state', join(dir, 'plain-state.json'), '--json');
      expect(r.code).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.trust).toBeNull();
      expect(doc.entries).toMatchObject({ total: 1, directory: 1, warrant: 0, release: 0 });
      expect(doc.months).toEqual([]);
      expect(doc.totals).toEqual({ warrantsIssued: 0, warrantsModified: 0, releases: 0, messagesDecrypted: 0 });
    } finally {
      await plain.close();
    }
  });
});

describe('doublelock oversight unseal', { timeout: 180_000 }, () => {
  it('opens a published commitment with the revealed warrant and nonce, and refuses anything else', async () => {
    const { warrant: signed, nonce, commitment } = warrants.c;
    const file = join(dir, 'warrant.json');
    writeFileSync(file, JSON.stringify(signed, null, 2));
    const ok = await run('oversight', 'unseal', '--commitment', commitment, '--warrant', file, '--nonce', nonce);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`the commitment opens to warrant ${signed.warrant.id} revision 0`);
    expect(ok.stdout).toContain('targets:  carol');

    const wrongNonce = await run('oversight', 'unseal', '--commitment', commitment, '--warrant', file, '--nonce', toBase64Url(randomBytes(32)));
    expect(wrongNonce.code).toBe(1);
    expect(wrongNonce.stderr).toContain('does NOT open');
    const altered = join(dir, 'altered.json');
    writeFileSync(altered, JSON.stringify({ ...signed.warrant, targets: ['dave'] }));
    const wrongWarrant = await run('oversight', 'unseal', '--commitment', commitment, '--warrant', altered, '--nonce', nonce);
    expect(wrongWarrant.code).toBe(1);
    expect(wrongWarrant.stderr).toContain('does NOT open');
    const notWarrant = join(dir, 'not-a-warrant.json');
    writeFileSync(notWarrant, '{"id": 1}');
    const bad = await run('oversight', 'unseal', '--commitment', commitment, '--warrant', notWarrant, '--nonce', nonce);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`--warrant ${notWarrant} is not a warrant`);
  });
});

describe('doublelock oversight unseal against the log', { timeout: 180_000 }, () => {
  const unsealArgs = (k: 'a' | 'c', file: string) => ['oversight', 'unseal', '--commitment', warrants[k].commitment, '--warrant', file, '--nonce', warrants[k].nonce, '--url', server.url, '--log-key', logKey, '--state', state];

  it('finds the warrant in the audited log, verifies the double lock, and finds nothing unauthorised under it', async () => {
    const file = join(dir, 'warrant-c.json');
    writeFileSync(file, JSON.stringify(warrants.c.warrant));
    const r = await run(...unsealArgs('c', file), '--trust-root', toBase64Url(keys.root.publicKey));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`at leaf ${warrants.c.leafIndex} (audited,`);
    expect(r.stdout).toContain('double lock: verified');
    expect(r.stdout).toContain('decrypted:   0 of at most 100 messages');
    expect(r.stdout).toContain('everything the log shows under this warrant is within what it authorised');
    const bare = join(dir, 'warrant-c-bare.json');
    writeFileSync(bare, JSON.stringify(warrants.c.warrant.warrant));
    expect((await run(...unsealArgs('c', bare), '--trust-root', toBase64Url(keys.root.publicKey))).stdout).toContain('double lock: not checked: the revealed file is the bare warrant');
  });

  it('names every release made before the warrant was in force', async () => {
    const file = join(dir, 'warrant-a.json');
    writeFileSync(file, JSON.stringify(warrants.a.warrant));
    const r = await run(...unsealArgs('a', file), '--trust-root', toBase64Url(keys.root.publicKey));
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('releases:    6');
    expect(r.stdout).toContain('decrypted:   2 of at most 100 messages');
    // Every release under warrant a (set up above) is dated before its approval at now - 500 ms.
    expect(r.stdout).toContain('NOT AS AUTHORISED (6):');
    expect(r.stdout.match(/before the warrant was in force/g)).toHaveLength(6);
  });

  it('refuses a warrant whose commitment the log never showed', async () => {
    const w = warrant({ targets: ['erin'] });
    const nonce = randomBytes(32);
    const file = join(dir, 'unlogged.json');
    writeFileSync(file, JSON.stringify(w));
    const r = await run('oversight', 'unseal', '--commitment', toBase64Url(commitToWarrant(w, nonce).commitment), '--warrant', file, '--nonce', toBase64Url(nonce), '--url', server.url, '--log-key', logKey, '--state', state);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is not a warrant entry in the audited log');
    const half = await run('oversight', 'unseal', '--commitment', warrants.c.commitment, '--warrant', file, '--nonce', warrants.c.nonce, '--url', server.url);
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('checking against the log needs both --url and --log-key');
  });
});

describe('log entry classification and the tally', { timeout: 180_000 }, () => {
  const commitment = randomBytes(32);
  const c = toBase64Url(commitment);
  const signed = signReleaseRecord(record(1, c, 'm', now), keys.custodians[0]!.secretKey);

  it('recognises each kind of entry exactly as its writer encodes it', () => {
    // the unsealing deadline: the first UTC midnight at or after the window's end plus the secrecy period
    const entry = warrantLogEntry(commitment, { revision: 2, issuedAt: Date.UTC(2026, 10, 23, 15), window: { end: Date.UTC(2026, 11, 1, 12) }, secrecyDays: 30 });
    expect(classifyEntry(entry)).toEqual({ kind: 'warrant', commitment: c, revision: 2, issuedDay: Date.UTC(2026, 10, 23), unsealBy: Date.UTC(2027, 0, 1) });
    // v1 entries (logged before secrecy periods) are still read, with no deadline
    expect(classifyEntry(lengthPrefixed(WARRANT_ENTRY_LABEL, commitment, '2', String(Date.UTC(2026, 10, 23))))).toEqual({ kind: 'warrant', commitment: c, revision: 2, issuedDay: Date.UTC(2026, 10, 23), unsealBy: null });
    expect(classifyEntry(releaseLogEntry(signed))).toEqual({ kind: 'release', signed });
    expect(classifyEntry(directoryEntryBytes({ username: 'alice', version: 1, previous: '', identityKey: 'k', devices: [] }))).toEqual({ kind: 'directory', username: 'alice' });
    expect(classifyEntry(lengthPrefixed('doublelock/log/warrant-refused/v1', 'x'))).toEqual({ kind: 'other-lawful-access', label: 'doublelock/log/warrant-refused/v1' });
    expect(classifyEntry(lengthPrefixed('other/label', randomBytes(40)))).toEqual({ kind: 'unrecognised' });
  });

  it('names what is wrong with a malformed lawful-access entry', () => {
    const reason = (entry: Uint8Array) => {
      const k = classifyEntry(entry);
      return k.kind === 'malformed' ? k.reason : `not malformed: ${k.kind}`;
    };
    expect(reason(lengthPrefixed(WARRANT_ENTRY_LABEL, commitment, '0'))).toBe('expected 4 fields, found 3');
    expect(reason(lengthPrefixed(WARRANT_ENTRY_LABEL, commitment, '01', '0'))).toBe('revision is not a decimal integer');
    expect(reason(lengthPrefixed(WARRANT_ENTRY_LABEL, commitment, '0', String(Date.UTC(2026, 0, 1) + 1)))).toBe('issue day is not a UTC midnight');
    const pretty = lengthPrefixed(RELEASE_ENTRY_LABEL, JSON.stringify(signed.record, null, 1), signed.signature);
    expect(reason(pretty)).toBe('record is not in canonical JSON');
    expect(reason(lengthPrefixed(RELEASE_ENTRY_LABEL, canonicalBytes(signed.record), 'not base64!'))).toBe('signature is not base64url');
    expect(reason(releaseLogEntry(signed).subarray(0, 60))).toBe('field runs past the end');
    expect(reason(lengthPrefixed('doublelock/log/warrant-unsealed/v1', 'x', 'y'))).toBe('nonce is 1 bytes, not 32');
    expect(reason(lengthPrefixed('doublelock/log/warrant-unsealed/v1', '{}', randomBytes(32)))).toMatch(/^the revealed warrant does not match the warrant schema/);
    expect(reason(lengthPrefixed('doublelock/log/warrant/v2', commitment, '0', String(Date.UTC(2026, 0, 1)), '5'))).toBe('unsealing deadline is not a UTC midnight');
  });

  it('counts a message once the threshold-th distinct custodian released, in that release’s month, even when a warrant is logged late', () => {
    const tally = new OversightTally(trust);
    const release = (custodian: number, message: string, at: number) => releaseLogEntry(signReleaseRecord(record(custodian, c, message, at), keys.custodians[custodian - 1]!.secretKey));
    const entries = [
      release(2, 'm', Date.UTC(2026, 2, 5)), // before its warrant: flagged, still counted under it
      warrantLogEntry(commitment, { revision: 0, issuedAt: Date.UTC(2026, 0, 10), window: { end: Date.UTC(2026, 1, 10) } }),
      release(1, 'm', Date.UTC(2026, 1, 3)),
      release(1, 'm', Date.UTC(2026, 1, 1)), // the same custodian again (another request): one custodian
      release(3, 'n', Date.UTC(2026, 1, 1)),
    ];
    entries.forEach((e, i) => tally.add(i, classifyEntry(e)));
    const result = tally.result();
    expect(result.problems.map((p) => [p.leafIndex, p.kind])).toEqual([[0, 'unlogged-warrant']]);
    expect(result.perWarrant).toEqual([{ commitment: c, leafIndex: 1, revision: 0, issuedDay: '2026-01-10', releases: 4, messagesWithReleases: 2, messagesDecrypted: 1 }]);
    expect(result.months).toEqual([
      { month: '2026-01', warrantsIssued: 1, warrantsModified: 0, messagesDecrypted: 0 },
      { month: '2026-02', warrantsIssued: 0, warrantsModified: 0, messagesDecrypted: 0 },
      { month: '2026-03', warrantsIssued: 0, warrantsModified: 0, messagesDecrypted: 1 },
    ]);
  });
  it('holds the log against an unsealed warrant: revision, issue day, message limit, content under a metadata-only warrant', () => {
    const issuedAt = Date.UTC(2026, 0, 10, 9);
    const w = warrant({ issuedAt, window: { start: issuedAt, end: issuedAt + 30 * DAY }, products: ['iri'], limits: { maxMessages: 1 } });
    const signed = decideWarrant(issueWarrant(w, 'sos', keys.sos.secretKey), { decision: 'approved', decidedAt: issuedAt + HOUR, reasons: '' }, 'jc', keys.judge.secretKey);
    const tally = new OversightTally(trust);
    const release = (custodian: number, message: string, at: number) => releaseLogEntry(signReleaseRecord(record(custodian, c, message, at), keys.custodians[custodian - 1]!.secretKey));
    [
      warrantLogEntry(commitment, { revision: 1, issuedAt: issuedAt + DAY, window: w.window }),
      release(1, 'm', issuedAt + 2 * HOUR),
      release(2, 'm', issuedAt + 2 * HOUR),
      release(1, 'n', issuedAt + 3 * HOUR),
      release(3, 'n', issuedAt + 200 * DAY), // long after the epoch shares were to be erased
    ].forEach((e, i) => tally.add(i, classifyEntry(e)));
    const check = checkUnsealed({ commitment: c, warrant: w, signed, trust, tally: tally.result() });
    expect(check).toMatchObject({ leafIndex: 0, doubleLock: 'verified', releases: 4, messagesDecrypted: 2 });
    expect(check.findings.map((f) => f.leafIndex)).toEqual([0, 0, 4, null, null]);
    expect(check.findings.map((f) => f.detail)).toEqual([
      'the log says revision 1, the warrant is revision 0',
      'the log says issued on 2026-01-11, the warrant on 2026-01-10',
      expect.stringMatching(/^custodian 3 released at .* after the window's epoch shares were due for erasure/),
      '2 messages decrypted, the warrant allows 1',
      '2 messages decrypted under a warrant that authorises no content (products: iri)',
    ]);
    const forged = { ...signed, decision: { ...signed.decision!, signature: signed.issue.signature } };
    expect(checkUnsealed({ commitment: c, warrant: w, signed: forged, trust, tally: tally.result() }).doubleLock).toBe('FAILED (approval_signature)');
  });
});

describe('a tampered log', { timeout: 180_000 }, () => {
  it('fails the audit when an entry is tampered with after it was signed', async () => {
    const leaf = warrants.b.leafIndex;
    const forged = warrantLogEntry(randomBytes(32), { revision: 0, issuedAt: now, window: { end: now + DAY } });
    expect((await server.db.run('UPDATE log_leaves SET data = ? WHERE idx = ?', [forged, leaf])).changes).toBe(1);
    const r = await run('oversight', 'report', ...base(), '--trust-root', toBase64Url(keys.root.publicKey), '--state', join(dir, 'fresh-state.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('AUDIT FAILED');
    expect(r.stderr).toContain('do not hash to the signed root');
    expect(r.stdout).toBe('');
  });
});
