/**
 * Banks and text rules over HTTP (plugins/banks.ts), as the moderation console uses them: a bank file
 * imported in pieces (CSV pieces repeating the header), a malformed row refusing its whole piece unless
 * told to skip it, one retro-sweep queued by the last piece over everything imported, the live matcher
 * picking the new signals up at once; the rules test with live and candidate rules and their offsets; bad
 * input answered 4xx with the server's message. Who may call what is in casesSecurity.test.ts.
 */
import { SweepStore } from '@doublelock/moderation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { TestAccount, type TestDevice } from './harness.ts';

let server: RunningServer;
let admin: TestDevice;
let moderator: TestDevice;

beforeAll(async () => {
  server = await startTestServer({ casesSweepMs: 3_600_000 });
  admin = await (await new TestAccount(server, 'bankadmin').register()).login();
  moderator = await (await new TestAccount(server, 'bankmod').register()).login();
  await server.ctx.cases.roles.grant('bankadmin', 'admin', 'operator', Date.now());
  await server.ctx.cases.roles.grant('bankmod', 'moderator', 'operator', Date.now());
});
afterAll(async () => server?.close());

const hex = (i: number) => i.toString(16).padStart(64, '0');
const HEADER = 'signal_type,signal_str,collab,category,tags';

describe('banks over HTTP', () => {
  it('imports a file in pieces, refuses a malformed piece whole, queues one retro-sweep, and matches at once', async () => {
    expect((await admin.call('POST', '/v1/moderation/banks', { name: 'gifct-web', description: 'from the console' })).status).toBe(201);
    expect(await admin.call('POST', '/v1/moderation/banks', { name: 'gifct-web' })).toMatchObject({ status: 409 });

    const piece = (from: number, to: number) => [HEADER, ...Array.from({ length: to - from }, (_, i) => `sha256,${hex(from + i)},hub,,tvec:glorification`)].join('\n');
    const first = await admin.call<{ imported: number; beforeSignalId: number; sweepId: number | null }>('POST', '/v1/moderation/banks/gifct-web/import', { format: 'csv', text: piece(1, 301) });
    expect(first.body).toMatchObject({ imported: 300, sweepId: null });
    const start = first.body.beforeSignalId;

    // A malformed row refuses its piece: nothing of it is stored.
    const bad = await admin.call<{ code: string; message: string }>('POST', '/v1/moderation/banks/gifct-web/import', { format: 'csv', text: `${piece(301, 350)}\nsha256,not-a-hash,hub,,` });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^Line 51: .*nothing of this piece was imported/);
    const listed = await moderator.call<{ banks: Array<{ name: string; counts: Record<string, number> }> }>('GET', '/v1/moderation/banks');
    expect(listed.body.banks.find((b) => b.name === 'gifct-web')!.counts).toMatchObject({ sha256: 300 });

    // Told to skip it, the piece goes in and names the row; the last piece queues one sweep over all of it.
    const last = await admin.call<{ imported: number; skipped: Array<{ line: number }>; sweepId: number }>('POST', '/v1/moderation/banks/gifct-web/import', { format: 'csv', text: `${piece(301, 350)}\nsha256,not-a-hash,hub,,`, skipInvalid: true, sweep: true, sweepAfter: start });
    expect(last.body).toMatchObject({ imported: 49, skipped: [{ line: 51 }] });
    const sweep = (await new SweepStore(server.ctx.stores.db).get(last.body.sweepId))!;
    expect([sweep.bank, sweep.afterSignalId, sweep.uptoSignalId - sweep.afterSignalId]).toEqual(['gifct-web', start, 349]);

    // TXT pieces too; and the live banks know the new signals without waiting for their refresh.
    // A file of one piece queues its sweep from where that piece started.
    expect((await admin.call('POST', '/v1/moderation/banks/gifct-web/import', { format: 'txt', text: `# one a line\nmd5 ${'ab'.repeat(16)}\n`, sweep: true })).body).toMatchObject({ imported: 1, sweepId: last.body.sweepId + 1 });
    const matches = await server.ctx.moderation.banks.matchHashes({ sha256: hex(42) });
    expect(matches.map((m) => m.bank)).toContain('gifct-web');
  });

  it('tests a text against the live rules and candidate rules, with offsets', async () => {
    await admin.call('POST', '/v1/moderation/banks', { name: 'words-web' });
    await admin.call('POST', '/v1/moderation/banks/words-web/import', { format: 'csv', text: 'signal_type,signal_str,collab,category,tags\ntext,join isis,hub,,tvec:recruitment' });
    const text = 'Please J0IN   I.S.I.S today, #GlorifyTheAttack';
    const r = await moderator.call<{ matches: Array<{ rule: string; bank: string; start: number; end: number; text: string; candidate: boolean }> }>('POST', '/v1/moderation/rules/test', { text, rules: ['#glorifytheattack', 'today'] });
    expect(r.status).toBe(200);
    const byRule = Object.fromEntries(r.body.matches.map((m) => [m.rule, m]));
    expect(byRule['join isis']).toMatchObject({ bank: 'words-web', candidate: false, text: 'J0IN   I.S.I.S' });
    expect(text.slice(byRule['join isis']!.start, byRule['join isis']!.end)).toBe('J0IN   I.S.I.S');
    expect(byRule['#glorifytheattack']).toMatchObject({ candidate: true, text: 'GlorifyTheAttack' });
    expect(byRule.today).toMatchObject({ candidate: true, start: text.indexOf('today') });
  });

  it('answers bad input with 4xx and the reason', async () => {
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', '/v1/moderation/banks', { name: '../etc' }, 400, /bank name/],
      ['POST', '/v1/moderation/banks/nope/import', { format: 'csv', text: HEADER }, 404, /No bank named nope/],
      ['POST', '/v1/moderation/banks/gifct-web/import', { format: 'csv', text: 'a,b\n1,2' }, 400, /header must name signal_type/],
      ['POST', '/v1/moderation/banks/gifct-web/import', { format: 'xml', text: 'x' }, 400, /format/],
      ['POST', '/v1/moderation/banks/gifct-web/import', { format: 'csv', text: 'x'.repeat(1_000_001) }, 400, /text/],
      ['POST', '/v1/moderation/banks/gifct-web/import', { format: 'txt', text: `md5 ${'ab'.repeat(16)}`, sweep: true, sweepAfter: 10 ** 12 }, 400, /past the newest signal/],
      ['POST', '/v1/moderation/rules/test', { text: 'x', rules: ['a*b'] }, 400, /Rule 1: \* may only stand/],
      ['POST', '/v1/moderation/rules/test', { text: '' }, 400, /text/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const r = await admin.call<{ message: string }>(method, path, body);
      expect({ path, status: r.status, message: r.body.message }).toMatchObject({ path, status, message: expect.stringMatching(message) });
    }
  });
});
