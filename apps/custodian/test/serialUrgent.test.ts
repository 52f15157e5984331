/**
 * Serial urgent warrants at the custodians (IPA s.24; issue 9, break 4), with a malicious provider that
 * skips its own serial_urgent check and logs whatever it is given: three real custodian services (2-of-3)
 * on a clock the test moves, a real log served over HTTP with its witness. An urgent warrant on a target is
 * used, lapses unapproved; the Secretary of State signs another urgent warrant on the same target, and the
 * provider logs it: every custodian refuses it from the log (serial_urgent). With a judge's approval it is
 * honoured, and an urgent warrant on another target is unaffected.
 */
import { DAY_MS, type EpochKey, calendarOf, refusalLogEntry, refusalNotice, epochAt, parseReleaseLogEntry, runDkgCeremony, urgentDeadlines } from '@doublelock/lawful-access';
import { LawfulAccessWorld, type LoggedWarrant, refusals } from '@doublelock/lawful-access/testing';
import { randomBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CustodianTrio, startCustodianTrio } from './trio.ts';

const HOUR = 3_600_000;
// In the past, so the clock can move forward over days without any witness dating a cosignature in the future.
let clock = Date.now() - 7 * DAY_MS;
let trio: CustodianTrio;
let world: LawfulAccessWorld;
const keys = new Map<number, EpochKey>();

beforeAll(async () => {
  trio = await startCustodianTrio({ prepare: (w) => (w.witnessClock = () => clock), custodian: () => ({ releaseLogTimeoutMs: 5000, now: () => clock }) });
  ({ world } = trio);
  // keys for the week the clock moves through (past an urgent warrant's three working days)
  for (let e = epochAt(clock); e <= epochAt(clock) + 7; e++) keys.set(e, (await runDkgCeremony(world.trust, e, world.coordinator, { now: () => clock })).key);
}, 120_000);

afterAll(() => trio?.close());

/** The malicious provider logs whatever the agency brings (no serial_urgent check), at the current clock. */
async function urgent(target: string, approved = false): Promise<LoggedWarrant> {
  const issuedAt = clock - HOUR;
  const issued = world.issue(world.draft({ issuedAt, urgent: true, targets: [target], window: { start: issuedAt, end: issuedAt + 20 * DAY_MS } }));
  return world.logWarrant(approved ? world.approve(issued, clock - HOUR / 2) : issued, clock - HOUR / 2);
}

function decrypt(w: LoggedWarrant, target: string, messageId: string) {
  const epochKey = keys.get(epochAt(clock))!;
  const m = world.deliver(epochKey, { messageId, sender: target, recipients: ['bob'], serverTime: clock - 60_000 }, randomBytes(32));
  return world.decrypt(w, m, epochKey, { requestedAt: clock });
}

const codes = async (attempt: Promise<unknown>): Promise<string[]> => [...new Set((await refusals(attempt)).map((f) => f.code))];

describe('a second urgent warrant on a target, without a judge', () => {
  it('is refused by every custodian from the log once the first lapsed unapproved, though the provider logged it', async () => {
    const first = await urgent('mallory');
    expect((await decrypt(first, 'mallory', 'u-1')).shares).toHaveLength(2);
    // Its release records carry the urgent notice; the public sees tags, not the target.
    await world.log.flush();
    const notices = (await world.log.entries(0, world.log.size)).map(parseReleaseLogEntry).filter((r) => r?.record.urgent);
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(notices)).not.toContain('mallory');

    // A second urgent warrant while the first is still in its three days is not serial (not yet lapsed).
    const overlapping = await urgent('mallory');
    expect((await decrypt(overlapping, 'mallory', 'u-2')).shares).toHaveLength(2);

    // A judge refuses an urgent warrant on another target (the refusal reaches the log only): the next
    // urgent warrant on that target is refused at once, lapsed or not.
    const refused = await urgent('eve');
    expect((await decrypt(refused, 'eve', 'u-r1')).shares).toHaveLength(2);
    const refusalAt = (await world.log.append([refusalLogEntry(refusalNotice(world.refuse(refused.warrant, clock - HOUR / 4, 'not necessary')))])).firstIndex;
    await world.inclusionFor(refusalAt, clock);
    expect(await codes(decrypt(await urgent('eve'), 'eve', 'u-r2'))).toEqual(['serial_urgent']);

    // The three working days pass without a judge.
    clock = urgentDeadlines(first.warrant.warrant.issuedAt, calendarOf(world.trust)).approveBy + HOUR;
    expect(clock).toBeLessThan(Date.now());
    const second = await urgent('mallory');
    expect(await codes(decrypt(second, 'mallory', 'u-3'))).toEqual(['serial_urgent']);

    // With a judge's approval first, it is honoured; an urgent warrant on another target is unaffected.
    expect((await decrypt(await urgent('mallory', true), 'mallory', 'u-4')).shares).toHaveLength(2);
    expect((await decrypt(await urgent('trudy'), 'trudy', 'u-5')).shares).toHaveLength(2);
  });
});
