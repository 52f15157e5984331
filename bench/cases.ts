/**
 * `npm run bench:cases`: notice and action under load (issue 12, docs/CASES.md).
 *
 *   - cases handled per second through intake → decision → statement of reasons, on SQLite and on
 *     PostgreSQL: each case is a DSA Art. 16 notice (resolved, clocked, queued), claimed by a moderator,
 *     decided (a removal with its ground), its statement of reasons built and validated against the
 *     Transparency Database rules and stored, the restriction applied and the uploader told; at the end
 *     every statement is exported in validated batches of up to 100 (counted in the time). CASES_BENCH_WORKERS
 *     moderators work at once. The content seam is an in-memory shelf of posts, so the figure is the
 *     workflow's own cost (its store transactions); the channels actioner's cost is bench:upload's.
 *   - a transparency report (DSA template, TCO Art. 7(3), NetzDG buckets) computed over 1M decisions
 *     (with their cases, 350k notices, 5k removal orders, 13k appeals), written straight into the tables
 *     by SQL; goal: under 10 s.
 *
 * Both stores are durable, as production runs them: SQLite synchronous=FULL, PostgreSQL a throwaway server
 * started with fsync, synchronous_commit and full_page_writes on (startPostgres({ durable: true })).
 *
 * Env: CASES_BENCH_N (cases per store, default 2000), CASES_BENCH_WORKERS (8), CASES_BENCH_DECISIONS
 * (1000000), CASES_BENCH_STORES (sqlite,postgres). Writes bench/results/cases.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cases, claimCase, computeReport, decide, dsaTemplateCsv, exportStatements, netzdgCsv, reportChart, submitNotice, tcoCsv, type AccountAction, type ContentActioner, type ContentRef, type ContentSnapshot } from '@doublelock/cases';
import { openDb, PostgresDb, type Db } from '@doublelock/store';
import { findPostgresBin, startPostgres, type RunningPostgres } from '@doublelock/store/test-postgres';
import { percentile, printTable, writeResults } from './lib/report.ts';

const N = Number(process.env.CASES_BENCH_N ?? 2000);
const WORKERS = Number(process.env.CASES_BENCH_WORKERS ?? 8);
const DECISIONS = Number(process.env.CASES_BENCH_DECISIONS ?? 1_000_000);
const STORES = (process.env.CASES_BENCH_STORES ?? 'sqlite,postgres').split(',');
const YEAR = 365 * 86_400_000;
const START = Date.UTC(2025, 0, 1);

/** Posts kept in memory behind the content seam (what the channels actioner is in the server). */
class Shelf implements ContentActioner {
  readonly owners = new Map<string, string>();
  url = (id: string) => `https://social.example/p/${id}`;
  async resolve(url: string): Promise<ContentRef | undefined> {
    const id = url.slice(url.lastIndexOf('/') + 1);
    return this.owners.has(id) ? { kind: 'post', id } : undefined;
  }
  async snapshot(ref: ContentRef): Promise<ContentSnapshot | undefined> {
    const owner = this.owners.get(ref.id);
    return owner === undefined ? undefined : { ref, url: this.url(ref.id), owner, createdAt: START, contentTypes: ['CONTENT_TYPE_TEXT'], text: `post ${ref.id}`, language: 'EN' };
  }
  async apply(): Promise<void> {}
  async release(): Promise<void> {}
  async reinstate(): Promise<void> {}
  async applyToAccount(_username: string, _action: AccountAction): Promise<void> {}
  async evidence(): Promise<undefined> {
    return undefined;
  }
}

function makeCases(db: Db, shelf: Shelf) {
  return new Cases({
    db,
    now: Date.now,
    content: shelf,
    config: {
      provider: 'social.example',
      deploymentId: 'bench',
      evidenceKey: new Uint8Array(32).fill(1),
      claimTtlMs: 30 * 60_000,
      termsUrl: 'https://social.example/terms',
      outOfCourt: 'you may also refer the dispute to a certified out-of-court dispute settlement body (DSA Art. 21).',
      automatedTerm: 'Terms §4: terrorist content',
    },
  });
}

async function throughput(db: Db) {
  const shelf = new Shelf();
  const cases = makeCases(db, shelf);
  for (let i = 0; i < N; i++) shelf.owners.set(`b${i}`, `user${i % 100}`);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    for (let i = next++; i < N; i = next++) {
      const t = performance.now();
      const { caseId } = await submitNotice(
        cases.ctx,
        { url: shelf.url(`b${i}`), explanation: 'Glorifies the attack.', category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', keywords: ['KEYWORD_TERRORIST_CONTENT'], law: 'dsa', name: 'Nora Notifier', email: 'nora@example.org', anonymous: false, bonaFide: true },
        null,
      );
      const claimed = await claimCase(cases.ctx, caseId, `mod${w}`);
      const { statement } = await decide(cases.ctx, caseId, `mod${w}`, {
        version: claimed.version,
        actions: [{ type: 'remove' }],
        ground: { kind: 'illegal', law: 'Regulation (EU) 2021/784 Art. 2(7)', explanation: 'It glorifies a terrorist attack.' },
        category: 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY',
        keywords: ['KEYWORD_TERRORIST_CONTENT'],
        facts: 'The post praises the attack.',
      });
      if (!statement) throw new Error('a removal without a statement of reasons');
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  let exported = 0;
  let batches = 0;
  for (;;) {
    const out = await exportStatements(cases.ctx, { limit: 1000, mark: true });
    if (out.refused.length) throw new Error(`statements refused by the export rules: ${JSON.stringify(out.refused[0])}`);
    if (!out.batches.length) break;
    batches += out.batches.length;
    exported += out.batches.reduce((s, b) => s + b.statements.length, 0);
  }
  const seconds = (performance.now() - started) / 1000;
  if (exported !== N) throw new Error(`exported ${exported} statements of ${N}`);
  latencies.sort((a, b) => a - b);
  return { cases_per_s: N / seconds, p50_ms: percentile(latencies, 50), p99_ms: percentile(latencies, 99), batches };
}

/** Writes DECISIONS decided cases and what hangs on them, with SQL generating the rows (no round trips). */
async function seedDecisions(db: Db) {
  const step = Math.floor(YEAR / DECISIONS);
  const seq = (select: string, into: string, where = '1 = 1') =>
    db.dialect === 'sqlite'
      ? `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ${DECISIONS}) INSERT INTO ${into} SELECT ${select} FROM seq WHERE ${where}`
      : `INSERT INTO ${into} SELECT ${select} FROM generate_series(1::bigint, ${DECISIONS}::bigint) AS seq(i) WHERE ${where}`;
  const source = `CASE WHEN i % 200 = 0 THEN 'removal_order' WHEN i % 200 < 20 THEN 'upload_hold' WHEN i % 200 < 80 THEN 'notice' WHEN i % 200 < 90 THEN 'trusted_flagger' ELSE 'automated' END`;
  const basis = `CASE WHEN i % 200 = 0 THEN 'tco' WHEN i % 200 < 20 OR i % 200 >= 90 THEN 'terms' WHEN i % 11 = 0 THEN 'netzdg_manifest' ELSE 'dsa' END`;
  const category = `CASE i % 3 WHEN 0 THEN 'STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY' WHEN 1 THEN 'STATEMENT_CATEGORY_VIOLENCE' ELSE 'STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH' END`;
  const received = `(${START} + i * ${step})`;
  const decided = `(${received} + (i * 7919 % 250000) * 1000)`;
  const mask = `CASE WHEN i % 200 = 0 THEN 1 ELSE (CASE i % 7 WHEN 0 THEN 0 WHEN 1 THEN 1 WHEN 2 THEN 4 WHEN 3 THEN 2 WHEN 4 THEN 65 WHEN 5 THEN 48 ELSE 1 END) END`;
  const ground = `CASE WHEN i % 200 = 0 THEN 'illegal' WHEN i % 7 = 0 THEN 'none' WHEN i % 3 = 0 THEN 'illegal' ELSE 'incompatible' END`;
  const automated = `CASE WHEN i % 200 > 0 AND (i % 200 < 20 OR i % 200 >= 90) THEN 1 ELSE 0 END`;
  await db.run(
    seq(
      `i, ${source}, ${basis}, 5, 'post', 'p' || i, 'https://social.example/p/' || i, 'owner' || (i % 5000), ${category}, 'summary', 'decided', NULL, NULL, 1,
       ${received}, ${received} + 86400000, ${received} + 64800000, NULL, NULL, ${decided}, i, NULL, CASE WHEN i % 200 = 0 THEN i / 200 ELSE NULL END, '[]', NULL, NULL`,
      'cases (id, source, legal_basis, priority, content_kind, content_id, content_url, content_owner, category, summary, state, assignee, claimed_until, version, received_at, due_at, escalate_at, escalated_at, overdue_at, decided_at, decision_id, incident_id, order_id, matches, pipeline_ref, dedupe_key)',
    ),
  );
  await db.run(
    seq(
      `i, i, ${source}, ${basis}, 'mod', ${decided}, ${received}, '[]', ${mask}, ${ground}, NULL, NULL, 'explanation', 0, 'facts', NULL, ${category}, '[]', '[]', ${automated},
       CASE WHEN i % 200 >= 90 THEN 'AUTOMATED_DECISION_FULLY' ELSE 'AUTOMATED_DECISION_NOT_AUTOMATED' END, 'owner' || (i % 5000), '[]', ${decided}, NULL, NULL, NULL`,
      'case_decisions (id, case_id, source, legal_basis, decided_by, decided_at, received_at, actions, restriction_mask, ground, legal_ground, terms_ground, explanation, also_illegal, facts, cannot_comply, category, keywords, territorial_scope, automated_detection, automated_decision, content_owner, signals, applied_at, reversed_at, reversed_by_appeal, lifted_at)',
    ),
  );
  await db.run(
    seq(
      `i, CASE WHEN i % 200 < 80 THEN 'article16' ELSE 'trusted_flagger' END, 'Nora', 'nora@example.org', NULL, NULL, 'explanation', 'https://social.example/p/' || i, CASE WHEN i % 11 = 0 THEN 'netzdg' ELSE 'dsa' END, ${category}, 1, NULL, NULL, ${received}`,
      'case_notices (case_id, kind, notifier_name, notifier_email, notifier_account, organisation, explanation, url, law, category, bona_fide, receipt_hash, report_id, received_at)',
      'i % 200 >= 20 AND i % 200 < 90',
    ),
  );
  await db.run(
    seq(
      `i / 200, 'de-bka', 'BKA-' || i, 'DE', ${received}, ${received}, '{}', 'sig', NULL`,
      'removal_orders (id, authority_id, reference, member_state, issued_at, received_at, document, signature, disclosure_delayed_until)',
      'i % 200 = 0',
    ),
  );
  await db.run(
    seq(
      `i, i, 'uploader', 'owner' || (i % 5000), 'grounds', ${decided} + 3600000, ${decided} + 604800000, CASE WHEN i % 3 = 0 THEN 'open' ELSE 'decided' END, NULL, NULL, 1,
       'mod2', CASE WHEN i % 3 = 0 THEN NULL ELSE ${decided} + 90000000 END, CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'upheld' ELSE 'reversed' END, NULL`,
      'case_appeals (decision_id, case_id, complainant_kind, complainant, grounds, received_at, due_at, state, assignee, claimed_until, version, decided_by, decided_at, outcome, reasons)',
      'i % 50 = 1 AND i % 7 <> 0',
    ),
  );
  const count = async (table: string) => Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))!.n);
  if (db.dialect === 'postgres') await db.run('ANALYZE');
  return { decisions: await count('case_decisions'), notices: await count('case_notices'), orders: await count('removal_orders'), appeals: await count('case_appeals') };
}

async function reportTime(db: Db) {
  const seeded = await seedDecisions(db);
  const times: number[] = [];
  const cpu: number[] = [];
  let report;
  for (let run = 0; run < 3; run++) {
    const t = performance.now();
    const c = process.cpuUsage();
    report = await computeReport(db, { from: START, to: START + YEAR + 30 * 86_400_000 }, Date.now());
    // The editions are part of "generating" it: the template's CSV parts, TCO, NetzDG, the chart.
    dsaTemplateCsv(report, { service: 'social.example', provider: 'Social Example' });
    tcoCsv(report);
    netzdgCsv(report);
    reportChart(report);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  const own = [...report!.dsa.ownInitiativeIllegal, ...report!.dsa.ownInitiativeTerms].reduce((s, r) => s + r.measures, 0);
  const decidedInReport = report!.netzdg.all.total + report!.dsa.automated.decisionsFullyAutomated;
  if (decidedInReport !== seeded.decisions) throw new Error(`the report saw ${decidedInReport} cases of ${seeded.decisions}`);
  return { ...seeded, first_ms: times[0]!, best_ms: Math.min(...times), cpu_ms: Math.min(...cpu), own_initiative_measures: own };
}

async function measure(store: string, open: () => Promise<Db>) {
  let db = await open();
  console.error(`${store}: ${N} cases through the workflow…`);
  const t = await throughput(db);
  await db.close();
  db = await open();
  console.error(`${store}: ${DECISIONS.toLocaleString('en')} decisions written, then the report three times…`);
  const r = await reportTime(db);
  await db.close();
  return { store, ...t, ...r };
}

const rows: Array<Awaited<ReturnType<typeof measure>>> = [];
if (STORES.includes('sqlite')) {
  const dirs: string[] = [];
  rows.push(
    await measure('sqlite', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bench-cases-'));
      dirs.push(dir);
      return openDb({ dataDir: dir });
    }),
  );
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
let pg: RunningPostgres | undefined;
if (STORES.includes('postgres')) {
  if (!findPostgresBin()) console.log('PostgreSQL not installed: skipping the postgres run (install it, see .ci/run).');
  else {
    pg = await startPostgres({ durable: true }); // fsync + synchronous commit: every acknowledged case is on disk
    let n = 0;
    rows.push(
      await measure('postgres', async () => {
        const db = await openDb({ databaseUrl: await pg!.createDatabase(`bench_cases_${n++}`) });
        // an idle connection told the throwaway server is going away must not end the run
        if (db instanceof PostgresDb) db.pool.on('error', (error) => console.error(`postgres connection: ${error.message}`));
        return db;
      }),
    );
  }
}

console.log(`\nnotice and action: ${N} cases per store (intake → claim → decision → statement of reasons → export), ${WORKERS} moderators at once; report over ${DECISIONS.toLocaleString('en')} decisions`);
printTable(rows.map((r) => ({ store: r.store, 'cases/s': r.cases_per_s, 'p50 ms': r.p50_ms, 'p99 ms': r.p99_ms, 'export batches': r.batches, decisions: r.decisions, 'report first ms': r.first_ms, 'report best ms': r.best_ms, 'report CPU ms (this process)': r.cpu_ms })));
const sqlite = rows.find((r) => r.store === 'sqlite');
const path = writeResults('cases', {
  cases: N,
  workers: WORKERS,
  cases_per_s: Object.fromEntries(rows.map((r) => [r.store, Math.round(r.cases_per_s * 10) / 10])),
  case_p50_ms: Object.fromEntries(rows.map((r) => [r.store, Math.round(r.p50_ms * 10) / 10])),
  case_p99_ms: Object.fromEntries(rows.map((r) => [r.store, Math.round(r.p99_ms * 10) / 10])),
  report_decisions: DECISIONS,
  report_1m_decisions_ms: sqlite ? Math.round(sqlite.first_ms) : null,
  report_ms: Object.fromEntries(rows.map((r) => [r.store, { first: Math.round(r.first_ms), best: Math.round(r.best_ms), cpu_this_process: Math.round(r.cpu_ms) }])),
  report_goal_ms: 10_000,
  seeded: Object.fromEntries(rows.map((r) => [r.store, { decisions: r.decisions, notices: r.notices, orders: r.orders, appeals: r.appeals }])),
  load_average: (await import('node:os')).loadavg().map((l) => Math.round(l * 10) / 10),
  note: 'wall times on a shared 2-core machine; report CPU ms is this process only (all of the work on SQLite, the client side on PostgreSQL); both stores durable: SQLite synchronous=FULL, PostgreSQL fsync=on, synchronous_commit=on, full_page_writes=on',
});
console.log(`wrote ${path}`);
if (pg) await pg.stop();
