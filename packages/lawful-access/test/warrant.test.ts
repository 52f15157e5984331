/** Warrants: canonical bytes, the double lock, urgent warrants, durations, renewal, modification, cancellation, commitments. */
import { toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonicalJson.ts';
import { DAY_MS } from '../src/epoch.ts';
import { generateSigningKey, signDocument, verifyDocument } from '../src/signature.ts';
import { LawfulAccessWorld } from '../src/testing.ts';
import { calendarOf, openTrustConfig, signTrustConfig } from '../src/trust.ts';
import { checkModification, checkRenewal, commitToWarrant, issueWarrant, isMessageInScope, openWarrantCommitment, refusalNotice, urgentDeadlines, verifyRefusalNotice, warrantStatus } from '../src/warrant.ts';
import { addLocalMonths, endOfNthWorkingDayAfter, isWorkingDay, ukCalendar } from '../src/workingDays.ts';
import { DateTime } from 'luxon';

const MONDAY = Date.UTC(2026, 10, 23, 9); // Mon 23 Nov 2026, 09:00 UTC
const HOUR = 3_600_000;

let world: LawfulAccessWorld;
beforeAll(async () => {
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
});
afterAll(async () => world.close());

describe('signed documents', () => {
  it('verify RFC 8032 strict: a small-order key with R = identity, S = 0 signs nothing', () => {
    // Under ZIP-215 rules that pair verifies for every document: a trust configuration naming such a key
    // (by mistake or by design) would let anybody sign warrants in that office's name.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = toBase64Url(Uint8Array.from([...identity, ...new Uint8Array(32)]));
    expect(verifyDocument('doublelock/warrant', { id: 'w-1' }, forged, identity)).toBe(false);
    const real = generateSigningKey();
    expect(verifyDocument('doublelock/warrant', { id: 'w-1' }, signDocument('doublelock/warrant', { id: 'w-1' }, real.secretKey), real.publicKey)).toBe(true);
  });
});

describe('canonical JSON', () => {
  it('sorts keys, has no whitespace, and refuses what has no single encoding', () => {
    expect(canonicalJson({ b: [1, 'x', true, null], a: { d: 2, c: 'é' } })).toBe('{"a":{"c":"é","d":2},"b":[1,"x",true,null]}');
    expect(() => canonicalJson({ x: 1.5 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ x: new Date() })).toThrow(/plain objects/);
    expect(() => canonicalJson({ x: 10n })).toThrow(/bigint/);
  });
});

describe('working days (IPA s.263): Europe/London, every UK bank holiday', () => {
  const uk = ukCalendar();
  it('counts weekdays, skipping weekends and bank holidays', () => {
    expect(endOfNthWorkingDayAfter(MONDAY, 3, uk)).toBe(Date.UTC(2026, 10, 27)); // end of Thursday (GMT)
    // Mon 30 Nov is St Andrew’s Day, a bank holiday in Scotland: the fifth working day is Tue 1 Dec
    expect(endOfNthWorkingDayAfter(MONDAY, 5, uk)).toBe(Date.UTC(2026, 11, 2));
  });
  it('Christmas: Christmas Day and the substitute Boxing Day come from the rules, not a hand-kept list', () => {
    const wednesday = Date.UTC(2026, 11, 23, 15);
    // Thu 24 (1), Fri 25 Christmas, weekend, Mon 28 Boxing Day (substitute), Tue 29 (2), Wed 30 (3)
    expect(endOfNthWorkingDayAfter(wednesday, 3, uk)).toBe(Date.UTC(2026, 11, 31));
    expect(isWorkingDay(DateTime.fromISO('2026-12-25', { zone: 'Europe/London' }), uk)).toBe(false);
    expect(isWorkingDay(DateTime.fromISO('2026-12-28', { zone: 'Europe/London' }), uk)).toBe(false);
    expect(isWorkingDay(DateTime.fromISO('2026-12-24', { zone: 'Europe/London' }), uk)).toBe(true);
  });
  it('Good Friday and Easter Monday, across the start of British Summer Time', () => {
    // Issued Wed 1 Apr 2026 23:30 UTC = Thu 2 Apr 00:30 BST: the London day is Thursday.
    // Fri 3 Apr Good Friday, weekend, Mon 6 Easter Monday (E&W, NI), Tue 7 (1), Wed 8 (2), Thu 9 (3)
    // → ends at London midnight, which is 23:00 UTC in summer time.
    const issued = Date.UTC(2026, 3, 1, 23, 30);
    expect(endOfNthWorkingDayAfter(issued, 3, uk)).toBe(Date.UTC(2026, 3, 9, 23));
  });
  it('the BST change itself: a 23-hour Sunday and a deadline at London midnight, not UTC midnight', () => {
    // Fri 27 Mar 2026 (GMT) → Mon 30 (1), Tue 31 (2), Wed 1 Apr (3): ends Thu 2 Apr 00:00 BST = Wed 1 Apr 23:00 UTC
    expect(endOfNthWorkingDayAfter(Date.UTC(2026, 2, 27, 12), 3, uk)).toBe(Date.UTC(2026, 3, 1, 23));
    // Thu 22 Oct 2026 23:30 UTC is Fri 23 Oct 00:30 BST: Mon 26 (1), Tue 27 (2), Wed 28 (3), ends Thu 29 00:00 GMT
    expect(endOfNthWorkingDayAfter(Date.UTC(2026, 9, 22, 23, 30), 3, uk)).toBe(Date.UTC(2026, 9, 29));
  });
  it('a bank holiday in any part of the UK is not a working day (Scotland, Northern Ireland)', () => {
    // Mon 30 Nov 2026 is St Andrew’s Day (Scotland): Fri 27 (1), Tue 1 Dec (2), Wed 2 Dec (3)
    expect(endOfNthWorkingDayAfter(Date.UTC(2026, 10, 26, 10), 3, uk)).toBe(Date.UTC(2026, 11, 3));
    // Tue 17 Mar 2026 is St Patrick’s Day (Northern Ireland): Mon 16 (1), Wed 18 (2), Thu 19 (3)
    expect(endOfNthWorkingDayAfter(Date.UTC(2026, 2, 13, 10), 3, uk)).toBe(Date.UTC(2026, 2, 20));
    // a one-off holiday from the signed configuration counts too
    expect(endOfNthWorkingDayAfter(Date.UTC(2026, 2, 13, 10), 3, ukCalendar(['2026-03-18']))).toBe(Date.UTC(2026, 2, 21));
  });
  it('an urgent warrant lapses at London midnight after its third working day', () => {
    const issuedAt = Date.UTC(2026, 3, 1, 23, 30);
    // five working days: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13 April (ends at London midnight)
    const urgent = world.issue(world.draft({ issuedAt, urgent: true, window: { start: issuedAt, end: Date.UTC(2026, 3, 13, 23) } }));
    expect(urgentDeadlines(issuedAt, calendarOf(world.trust)).approveBy).toBe(Date.UTC(2026, 3, 9, 23));
    expect(warrantStatus(urgent, world.trust, Date.UTC(2026, 3, 9, 22, 59)).inForce).toBe(true);
    expect(warrantStatus(urgent, world.trust, Date.UTC(2026, 3, 9, 23)).inForce).toBe(false);
  });
  it('adds calendar months in London time, clamping to the month end', () => {
    expect(addLocalMonths(Date.UTC(2026, 7, 30, 23), 6, uk)).toBe(Date.UTC(2027, 1, 28)); // 31 Aug 00:00 BST → 28 Feb 00:00 GMT
    expect(addLocalMonths(Date.UTC(2026, 0, 15), 6, uk)).toBe(Date.UTC(2026, 6, 14, 23)); // 15 Jan GMT → 15 Jul BST
  });
});

describe('trust configuration', () => {
  it('opens only under the pinned root key', () => {
    expect(openTrustConfig(world.signedTrust, world.root.publicKey).deployment).toBe('doublelock-test');
    expect(() => openTrustConfig(world.signedTrust, generateSigningKey().publicKey)).toThrow(/does not verify/);
    const tampered = structuredClone(world.signedTrust);
    tampered.config.threshold = 1;
    expect(() => openTrustConfig(tampered, world.root.publicKey)).toThrow(/does not verify/);
    expect(() => openTrustConfig({ config: {}, signature: 'x' }, world.root.publicKey)).toThrow(/malformed trust configuration/);
  });
  it('counts working days only in a time zone the runtime knows', () => {
    const config = structuredClone(world.trust);
    config.jurisdiction = { timeZone: 'America/New_York', regions: ['US'] };
    expect(calendarOf(openTrustConfig(signTrustConfig(config, world.root.secretKey), world.root.publicKey)).timeZone).toBe('America/New_York');
    for (const timeZone of ['Mars/Olympus', 'UTC+1', '']) {
      config.jurisdiction = { timeZone, regions: ['US'] };
      expect(() => signTrustConfig(config, world.root.secretKey), timeZone).toThrow(/IANA time zone/);
    }
  });
  it('refuses one key in two roles (the double lock would be one lock)', () => {
    const config = structuredClone(world.trust);
    config.judicialCommissioners = [{ id: 'jc-1', publicKey: config.secretaryOfState[0]!.publicKey }];
    expect(() => signTrustConfig(config, world.root.secretKey)).toThrow(/only one role/);
  });
});

describe('the double lock (IPA ss.19, 23)', () => {
  const now = MONDAY + 2 * HOUR;

  it('is in force with both signatures, from the approval', () => {
    const w = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY + HOUR);
    expect(warrantStatus(w, world.trust, now)).toEqual({ inForce: true, from: MONDAY + HOUR, until: MONDAY + 30 * DAY_MS });
  });

  it('is not a warrant with the Secretary of State’s signature alone', () => {
    const status = warrantStatus(world.issue(world.draft({ issuedAt: MONDAY })), world.trust, now);
    expect(status).toMatchObject({ inForce: false, problem: 'approval_missing' });
  });

  it('is not a warrant with a judge’s approval over an unsigned or forged issue', () => {
    const w = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY + HOUR);
    const forged = { ...w, issue: { signer: 'sos-1', signature: toBase64Url(new Uint8Array(64)) } };
    expect(warrantStatus(forged, world.trust, now)).toMatchObject({ inForce: false, problem: 'issue_signature' });
    // signed by a key not in the trust configuration
    const rogue = generateSigningKey();
    expect(warrantStatus({ ...issueWarrant(w.warrant, 'sos-1', rogue.secretKey), decision: w.decision }, world.trust, now)).toMatchObject({ problem: 'issue_signature' });
  });

  it('rejects any change to an approved warrant (e.g. an added target)', () => {
    const w = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY + HOUR);
    const widened = { ...w, warrant: { ...w.warrant, targets: ['mallory', 'alice'] } };
    expect(warrantStatus(widened, world.trust, now)).toMatchObject({ inForce: false, problem: 'issue_signature' });
    // a judge's approval of one warrant does not approve another
    const other = world.issue(world.draft({ issuedAt: MONDAY }));
    expect(warrantStatus({ ...other, decision: w.decision }, world.trust, now)).toMatchObject({ problem: 'approval_signature' });
    // the approving signature is not accepted from the Secretary of State's key
    const selfApproved = { ...w, decision: { ...w.decision!, signer: 'sos-1' } };
    expect(warrantStatus(selfApproved, world.trust, now)).toMatchObject({ problem: 'approval_signature' });
  });

  it('is refused with reasons, and a refusal needs reasons', () => {
    const refused = world.refuse(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY + HOUR, 'Not proportionate.');
    expect(warrantStatus(refused, world.trust, now)).toMatchObject({ problem: 'refused', detail: expect.stringMatching(/Not proportionate/) });
    expect(() => world.refuse(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY, ' ')).toThrow(/written reasons/);
  });

  it('lasts at most six months, is prospective, and expires', () => {
    const long = world.approve(world.issue(world.draft({ issuedAt: MONDAY, window: { start: MONDAY, end: addLocalMonths(Date.UTC(2026, 10, 23), 6, ukCalendar()) + 1 } })), MONDAY);
    expect(warrantStatus(long, world.trust, now)).toMatchObject({ problem: 'too_long' });
    const retro = world.approve(world.issue(world.draft({ issuedAt: MONDAY, window: { start: MONDAY - DAY_MS, end: MONDAY + DAY_MS } })), MONDAY);
    expect(warrantStatus(retro, world.trust, now)).toMatchObject({ problem: 'retrospective' });
    const w = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY);
    expect(warrantStatus(w, world.trust, MONDAY + 30 * DAY_MS)).toMatchObject({ problem: 'expired' });
    const later = world.approve(world.issue(world.draft({ issuedAt: MONDAY, window: { start: MONDAY + DAY_MS, end: MONDAY + 2 * DAY_MS } })), MONDAY);
    expect(warrantStatus(later, world.trust, now)).toMatchObject({ problem: 'not_yet_in_force' });
  });

  it('is cancelled by the Secretary of State (s.39), and only by a valid cancellation', () => {
    const w = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY);
    expect(warrantStatus(w, world.trust, now, [world.cancel(w.warrant.id, MONDAY + HOUR)])).toMatchObject({ problem: 'cancelled' });
    expect(warrantStatus(w, world.trust, now, [world.cancel(w.warrant.id, now + DAY_MS)])).toMatchObject({ inForce: true, until: now + DAY_MS });
    const forged = { ...world.cancel(w.warrant.id, MONDAY + HOUR), signature: toBase64Url(new Uint8Array(64)) };
    expect(warrantStatus(w, world.trust, now, [forged])).toMatchObject({ inForce: true });
  });
});

describe('urgent warrants (IPA ss.24, 32(2)(a))', () => {
  const draft = () => world.draft({ issuedAt: MONDAY, urgent: true, window: { start: MONDAY, end: Date.UTC(2026, 11, 1) } });

  it('are in force on the Secretary of State’s signature alone until the end of the 3rd working day', () => {
    const w = world.issue(draft());
    const { approveBy } = urgentDeadlines(MONDAY, calendarOf(world.trust));
    expect(warrantStatus(w, world.trust, MONDAY + HOUR)).toEqual({ inForce: true, from: MONDAY, until: approveBy });
    expect(warrantStatus(w, world.trust, approveBy)).toMatchObject({ problem: 'lapsed' });
  });

  it('continue as a normal warrant when approved in time (no re-submission); not when approved late', () => {
    // an urgent warrant's window may run as long as a normal one: unapproved, it lapses after 3 working days
    const long = () => world.draft({ issuedAt: MONDAY, urgent: true, window: { start: MONDAY, end: MONDAY + 90 * DAY_MS } });
    const approved = world.approve(world.issue(long()), MONDAY + DAY_MS);
    expect(warrantStatus(approved, world.trust, MONDAY + 60 * DAY_MS)).toMatchObject({ inForce: true, until: MONDAY + 90 * DAY_MS });
    expect(warrantStatus(world.issue(long()), world.trust, MONDAY + 5 * DAY_MS)).toMatchObject({ problem: 'lapsed' });
    const late = world.approve(world.issue(draft()), Date.UTC(2026, 10, 27, 1));
    expect(warrantStatus(late, world.trust, Date.UTC(2026, 10, 27, 2))).toMatchObject({ problem: 'approval_late' });
    const tooLong = world.issue(world.draft({ issuedAt: MONDAY, urgent: true, window: { start: MONDAY, end: MONDAY + 200 * DAY_MS } }));
    expect(warrantStatus(tooLong, world.trust, MONDAY + HOUR)).toMatchObject({ problem: 'too_long' });
  });

  it('a logged refusal binds whatever document is presented (stripped, or the approval of another revision)', () => {
    const urgent = world.issue(draft());
    const notice = refusalNotice(world.refuse(urgent, MONDAY + HOUR, 'not proportionate'));
    expect(verifyRefusalNotice(notice, world.trust)).toBe(true);
    expect(warrantStatus(urgent, world.trust, MONDAY + 2 * HOUR)).toMatchObject({ inForce: true });
    expect(warrantStatus(urgent, world.trust, MONDAY + 2 * HOUR, [], [notice])).toMatchObject({ problem: 'refused' });
    const approvedLater = world.approve(world.issue({ ...urgent.warrant, revision: 1 }), MONDAY + 2 * HOUR);
    expect(warrantStatus(approvedLater, world.trust, MONDAY + 3 * HOUR, [], [notice])).toMatchObject({ problem: 'refused' });
    // a notice whose signature does not verify, or for another id, binds nothing
    expect(verifyRefusalNotice({ ...notice, warrantId: 'W-other' }, world.trust)).toBe(false);
    expect(warrantStatus(urgent, world.trust, MONDAY + 2 * HOUR, [], [{ ...notice, reasonsDigest: notice.warrantDigest }])).toMatchObject({ inForce: true });
  });
});

describe('cancellations name their revision', () => {
  it('end that revision and earlier ones, not a later one', () => {
    const w0 = world.approve(world.issue(world.draft({ issuedAt: MONDAY })), MONDAY);
    const w1 = world.approve(world.issue({ ...w0.warrant, revision: 1, issuedAt: MONDAY + HOUR }), MONDAY + HOUR);
    const c0 = world.cancel(w0.warrant.id, MONDAY + HOUR, 0);
    expect(warrantStatus(w0, world.trust, MONDAY + 2 * HOUR, [c0])).toMatchObject({ problem: 'cancelled' });
    expect(warrantStatus(w1, world.trust, MONDAY + 2 * HOUR, [c0])).toMatchObject({ inForce: true });
    expect(warrantStatus(w1, world.trust, MONDAY + 2 * HOUR, [world.cancel(w0.warrant.id, MONDAY + HOUR, 1)])).toMatchObject({ problem: 'cancelled' });
    // the revision and nonce are signed: changing either breaks the signature
    expect(warrantStatus(w1, world.trust, MONDAY + 2 * HOUR, [{ ...c0, revision: 1 }])).toMatchObject({ inForce: true });
    expect(world.cancel(w0.warrant.id, MONDAY).nonce).not.toBe(world.cancel(w0.warrant.id, MONDAY).nonce);
  });
});

describe('renewal and modification (IPA ss.33–38)', () => {
  const first = () => world.draft({ issuedAt: MONDAY, id: 'W-1', window: { start: MONDAY, end: MONDAY + 90 * DAY_MS } });

  it('renews from expiry, within the last 30 days, for at most six months', () => {
    const prev = first();
    const renewal = world.draft({ id: 'W-2', renews: 'W-1', issuedAt: prev.window.end - 10 * DAY_MS, window: { start: prev.window.end, end: prev.window.end + 100 * DAY_MS } });
    expect(checkRenewal(prev, renewal)).toBeUndefined();
    expect(checkRenewal(prev, { ...renewal, issuedAt: prev.window.end - 40 * DAY_MS })).toMatch(/30 days/);
    expect(checkRenewal(prev, { ...renewal, window: { start: prev.window.end, end: prev.window.end + 200 * DAY_MS } })).toMatch(/six months/);
    expect(checkRenewal(prev, { ...renewal, renews: 'W-9' })).toMatch(/does not name/);
    // a renewal is a warrant like any other: it too needs the judge
    const signed = world.issue(renewal);
    expect(warrantStatus(signed, world.trust, prev.window.end + HOUR)).toMatchObject({ problem: 'approval_missing' });
    expect(warrantStatus(world.approve(signed, renewal.issuedAt), world.trust, prev.window.end + HOUR)).toMatchObject({ inForce: true });
  });

  it('modifies as the next revision, never extending the window, and needs re-approval', () => {
    const prev = first();
    const modified = { ...prev, revision: 1, targets: ['mallory', 'trent'], issuedAt: MONDAY + 5 * DAY_MS };
    expect(checkModification(prev, modified)).toBeUndefined();
    expect(checkModification(prev, { ...modified, window: { ...prev.window, end: prev.window.end + 1 } })).toMatch(/extend/);
    expect(checkModification(prev, { ...modified, revision: 2 })).toMatch(/revision 1/);
    const signed = world.issue(modified);
    expect(warrantStatus(signed, world.trust, MONDAY + 6 * DAY_MS)).toMatchObject({ problem: 'approval_missing' });
    const approved = world.approve(signed, MONDAY + 5 * DAY_MS + HOUR);
    // in force from the re-approval: the new target's earlier traffic is not covered
    expect(warrantStatus(approved, world.trust, MONDAY + 6 * DAY_MS)).toMatchObject({ inForce: true, from: MONDAY + 5 * DAY_MS + HOUR });
  });
});

describe('scope and commitments', () => {
  it('puts in scope messages to or from a target inside the window only', () => {
    const w = world.draft({ issuedAt: MONDAY, targets: ['mallory'] });
    expect(isMessageInScope(w, { sender: 'mallory', recipients: ['bob'], serverTime: MONDAY + HOUR })).toBe(true);
    expect(isMessageInScope(w, { sender: 'bob', recipients: ['alice', 'mallory'], serverTime: MONDAY + HOUR })).toBe(true);
    expect(isMessageInScope(w, { sender: 'bob', recipients: ['alice'], serverTime: MONDAY + HOUR })).toBe(false);
    expect(isMessageInScope(w, { sender: 'mallory', recipients: ['bob'], serverTime: MONDAY - 1 })).toBe(false);
    expect(isMessageInScope(w, { sender: 'mallory', recipients: ['bob'], serverTime: w.window.end })).toBe(false);
  });

  it('commits hidingly and opens only with the right nonce and warrant', () => {
    const w = world.draft({ issuedAt: MONDAY });
    const a = commitToWarrant(w);
    const b = commitToWarrant(w);
    expect(a.commitment).not.toEqual(b.commitment); // fresh nonce: equal warrants are unlinkable
    expect(openWarrantCommitment(a.commitment, w, a.nonce)).toBe(true);
    expect(openWarrantCommitment(a.commitment, w, b.nonce)).toBe(false);
    expect(openWarrantCommitment(a.commitment, { ...w, targets: ['alice'] }, a.nonce)).toBe(false);
    expect(() => commitToWarrant(w, new Uint8Array(16))).toThrow(/32 bytes/);
  });
});
