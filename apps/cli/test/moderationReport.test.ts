/**
 * `doublelock moderation report` on a real embedded store: a small history is written with the cases
 * package under a fake clock (two removal orders, one inside its hour and one not; notices from a user
 * and a trusted flagger; an automated block reversed on appeal), then the CLI — a separate process —
 * reads the store and prints the report as text, JSON, SVG and CSV. Its numbers are the ones the test
 * counted while writing the history. Bad input exits non-zero with a message.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { appealStatement, claimAppeal, claimCase, decide, decideAppeal, recordAutomatedDecision, signAuthorityRequest, submitNotice, submitRemovalOrder, submitTrustedFlag, verifyAuthorityRequest } from '@doublelock/cases';
import { openDb } from '@doublelock/store';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakeClock, HOUR, makeCases, MINUTE, removalDecision, T0 } from '../../../packages/cases/test/fixtures.ts';

const entry = fileURLToPath(new URL('../bin/doublelock.js', import.meta.url));
/** The CLI as its own process (asynchronously: a blocking spawn would stall the test worker). */
const cli = (...args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [entry, ...args], { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
  });

describe('doublelock moderation report', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-modreport-'));
  const data = join(dir, 'data');
  const day = new Date(T0).toISOString().slice(0, 10);

  beforeAll(async () => {
    const db = await openDb({ dataDir: data });
    const clock = new FakeClock();
    const { cases, ctx, shelf } = makeCases(db, clock);
    for (const p of ['p1', 'p2', 'p3', 'p4', 'p5']) shelf.add(p, `owner-${p}`, `text of ${p}`, clock.time - HOUR);
    const key = ed25519.utils.randomSecretKey();
    await cases.authorities.register({ id: 'de-bka', name: 'Bundeskriminalamt', memberState: 'DE', publicKey: ed25519.getPublicKey(key), contact: 'tco@bka.example' }, 'admin', clock.time);
    const order = async (reference: string, post: string) => {
      const body = { reference, memberState: 'DE', issuingAuthority: 'Bundeskriminalamt', content: [{ url: shelf.url(post), detail: '' }], grounds: ['incitement' as const], reasons: 'Incites attacks.', feedbackContact: 'tco@bka.example', redress: 'Verwaltungsgericht Wiesbaden.' };
      const signed = signAuthorityRequest('de-bka', key, { type: 'removal_order', provider: 'social.example', body }, clock.time);
      return submitRemovalOrder(ctx, { ...(await verifyAuthorityRequest(cases.authorities, signed, 'removal_order', 'social.example', clock.time)), signature: signed.signature });
    };
    const fast = await order('BKA-1', 'p1');
    const slow = await order('BKA-2', 'p2');
    const notice = { explanation: 'Calls for violence.', category: 'STATEMENT_CATEGORY_VIOLENCE' as const, keywords: [], law: 'dsa' as const, bonaFide: true as const };
    await submitNotice(ctx, { ...notice, url: shelf.url('p3'), name: 'Nora', email: 'nora@example.org', anonymous: false }, null);
    await submitTrustedFlag(ctx, { ...notice, url: shelf.url('p4') }, 'ngo', 'Counter Extremism NGO');
    const blocked = await recordAutomatedDecision(ctx, { ref: { kind: 'post', id: 'p5' }, url: shelf.url('p5'), owner: 'owner-p5', matches: [], pipelineRef: 'decision:1', actions: [{ type: 'remove' }], explanation: 'gifct (tvec)', contentDate: clock.time, stage: 'upload' });
    clock.advance(20 * MINUTE);
    let c = await claimCase(ctx, fast.caseIds[0]!, 'mod1');
    await decide(ctx, c.id, 'mod1', removalDecision(c.version));
    clock.advance(2 * HOUR); // the second order is now past its hour
    c = await claimCase(ctx, slow.caseIds[0]!, 'mod1');
    await decide(ctx, c.id, 'mod1', removalDecision(c.version));
    const appeal = await appealStatement(ctx, blocked.statementId!, 'owner-p5', 'This is news reporting.');
    clock.advance(HOUR);
    const claimed = await claimAppeal(ctx, appeal.id, 'mod2');
    await decideAppeal(ctx, appeal.id, 'mod2', { version: claimed.version, outcome: 'reversed', reasons: 'News reporting.' });
    await db.close();
  }, 180_000);

  it('prints the report of a period as text and JSON, with the counts of what happened', async () => {
    const text = await cli('moderation', 'report', '--from', day, '--to', day, '--data', data);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/received 2; complied with within one hour 1, later 1; OPEN PAST THEIR HOUR 0; not acted on 0/);
    expect(text.stdout).toMatch(/VIOLENCE: 2 \(trusted flaggers 1\)/);
    expect(text.stdout).toMatch(/received 1 \(uploaders 1, notifiers 0\); upheld 0, reversed 1, pending 0; median time to decide 1\.00 h/);

    const json = await cli('moderation', 'report', '--from', day, '--to', day, '--format', 'json', '--data', data);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout);
    expect(r.tco).toMatchObject({ orders: 2, ordersEffectedWithinHour: 1, ordersEffectedLate: 1, ordersOverdueOpen: 0, reuploadsBlocked: 1, itemsRemovedUnderOrders: 2, complaints: 1, complaintsReversed: 1, reinstatements: 1 });
    expect(r.dsa.orders.find((o: { memberState: string }) => o.memberState === 'DE')).toMatchObject({ orders: 2, items: 2, medianTimeToEffectMs: (20 * MINUTE + 140 * MINUTE) / 2 });
    expect(r.dsa.notices).toEqual([expect.objectContaining({ category: 'STATEMENT_CATEGORY_VIOLENCE', received: 2, fromTrustedFlaggers: 1, items: 2, actionsLaw: 0 })]);
    expect(r.dsa.automated).toMatchObject({ decisionsFullyAutomated: 1, fullyAutomatedAppealed: 1, fullyAutomatedReversed: 1, automatedErrorRate: 1 });
    expect(r.netzdg.all).toEqual({ within24h: 2, within48h: 0, withinWeek: 0, later: 0, pending: 2, total: 4 });

    // The day before holds nothing.
    const before = JSON.parse((await cli('moderation', 'report', '--from', '2025-06-30', '--to', '2025-06-30', '--format', 'json', '--data', data)).stdout);
    expect([before.tco.orders, before.dsa.notices.length, before.dsa.complaints.received]).toEqual([0, 0, 0]);
  });

  it('writes the SVG chart and the CSV files of the DSA template, TCO Art. 7(3) and the time buckets', async () => {
    const svgPath = join(dir, 'report.svg');
    expect((await cli('moderation', 'report', '--from', day, '--to', day, '--format', 'svg', '--out', svgPath, '--data', data)).code).toBe(0);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('Removal orders (TCO) (2)');

    const out = join(dir, 'csv');
    const r = await cli('moderation', 'report', '--from', day, '--to', day, '--format', 'csv', '--out', out, '--service', 'social.example', '--data', data);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'netzdg_time_buckets.csv',
      'part1_report_identification.csv',
      'part3_member_states_orders.csv',
      'part4_notices.csv',
      'part5_own_initiative_illegal.csv',
      'part6_own_initiative_TC.csv',
      'part7_appeals_and_recidivism.csv',
      'part8_automated_means.csv',
      'tco_article_7.csv',
    ]);
    expect(readFileSync(join(out, 'tco_article_7.csv'), 'utf8')).toContain('Removal orders complied with,Within one hour,1\r\n');
    const de = readFileSync(join(out, 'part3_member_states_orders.csv'), 'utf8').split('\r\n').find((l) => l.includes('Risk for public security') && l.includes(',DE,'))!;
    expect(de.split(',').slice(6, 10)).toEqual(['2', '2', '0', '1.33']);
    expect(readFileSync(join(out, 'part1_report_identification.csv'), 'utf8')).toContain('Name of the service,social.example');
  });

  it('refuses bad input with a message and a non-zero exit', async () => {
    const bad = [
      [['--from', '2025-13-01', '--to', day], /--from\/--to: from and to are dates/],
      [['--from', day, '--to', '2025-06-01'], /"to" is on or after "from"/],
      [['--from', day, '--to', day, '--format', 'pdf'], /--format must be one of text, json, csv, svg/],
      [['--from', day, '--to', day, '--format', 'csv'], /give the folder with --out/],
    ] as const;
    const results = await Promise.all(bad.map(([args]) => cli('moderation', 'report', ...args, '--data', data)));
    bad.forEach(([args, message], i) => {
      expect(results[i]!.code, args.join(' ')).not.toBe(0);
      expect(results[i]!.stderr).toMatch(message);
    });
  });
});
