/**
 * Intake from the upload pipeline: every decision the upload check, the video check and the retro-sweep
 * stored (moderation's DecisionStore) is read once, in id order, from a cursor kept in the store.
 * - `hold`: a case for a person (held at upload, held by the retro-sweep, or held by a crisis incident's
 *   bank, which makes it a crisis case of that incident);
 * - `block` and `label`: decided by the machine alone — recorded as an automated decision with its
 *   statement of reasons, so the uploader is told why and can appeal to a person;
 * - `publish` and `pending`: nothing to do.
 * Intake is idempotent per pipeline decision, so reading a decision twice (a crash before the cursor
 * moved) changes nothing: nothing the pipeline stored is lost, nothing is taken twice.
 */
import type { Decision, DecisionStore } from '@doublelock/moderation';
import type { Restriction } from '@doublelock/protocol/cases';
import type { CaseMatch } from './caseRecord.ts';
import type { CasesContext } from './context.ts';
import { recordAutomatedDecision } from './decisions.ts';
import { intakeFrankedReport, intakeHeld } from './intake.ts';

const CURSOR = 'pipeline_cursor';
const INCIDENT_BANK = /^incident-(\d+)$/;

async function cursor(ctx: CasesContext): Promise<number> {
  const row = await ctx.db.get<{ value: string }>('SELECT value FROM case_settings WHERE name = ?', [CURSOR]);
  return row ? Number(JSON.parse(row.value)) : 0;
}

async function moveCursor(ctx: CasesContext, to: number): Promise<void> {
  await ctx.db.run('INSERT INTO case_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [CURSOR, JSON.stringify(to)]);
}

/** The matches that counted toward the verdict (not skipped, not known-good). */
export function countedMatches(d: Decision): CaseMatch[] {
  return d.matches.filter((m) => !m.skipped && !m.negative).map((m) => ({ bank: m.bank, signalId: m.signalId, labels: m.labels, ...(m.distance !== undefined && { distance: m.distance }) }));
}

/** What the uploader is told it matched: labels and their meaning, never a hash or the list itself. */
const explanationOf = (d: Decision) => [...new Set(d.reasons.map((r) => `${r.description} (${r.source})`))].join('; ') || 'known terrorist content';

export interface PipelineIntake {
  read: number;
  held: number;
  automated: number;
  cursor: number;
}

export async function ingestPipelineDecisions(ctx: CasesContext, decisions: DecisionStore, limit = 500): Promise<PipelineIntake> {
  let at = await cursor(ctx);
  const out: PipelineIntake = { read: 0, held: 0, automated: 0, cursor: at };
  for (const d of await decisions.after(at, limit)) {
    out.read++;
    const m = /^(post):(\d{1,15})$/.exec(d.subject);
    if (m && (d.verdict === 'hold' || d.verdict === 'block' || d.verdict === 'label')) {
      const ref = { kind: 'post' as const, id: m[2]! };
      const url = (await ctx.content.snapshot(ref))?.url ?? `/v1/posts/${m[2]}`;
      const matches = countedMatches(d);
      if (d.verdict === 'hold') {
        const incident = matches.map((x) => INCIDENT_BANK.exec(x.bank)).find((x) => x);
        await intakeHeld(ctx, {
          source: incident ? 'crisis_hold' : d.stage === 'retro_sweep' ? 'sweep_hold' : 'upload_hold',
          ref,
          url,
          owner: d.uploader,
          matches,
          pipelineRef: `decision:${d.id}`,
          summary: explanationOf(d),
          incidentId: incident ? Number(incident[1]) : null,
        });
        out.held++;
      } else {
        const actions: Restriction[] = d.verdict === 'block' ? [{ type: 'remove' }] : [{ type: 'label', label: d.labels.join(' ').slice(0, 200) || 'moderation label' }];
        await recordAutomatedDecision(ctx, { ref, url, owner: d.uploader, matches, pipelineRef: `decision:${d.id}`, actions, explanation: explanationOf(d), contentDate: d.contentCreatedAt, stage: d.stage });
        out.automated++;
      }
    }
    at = d.id;
    await moveCursor(ctx, at);
  }
  out.cursor = at;
  return out;
}

/** The franked reports store, as far as intake needs it (packages/store ReportStore). */
export interface ReportFeed {
  after(afterId: number, limit?: number): Promise<Array<{ id: number; sender: string; reason: string }>>;
}

/**
 * Franked reports from private chats taken in by cursor, like the pipeline's decisions: the report
 * route takes each in at once, and this catches any that a crash left behind.
 */
export async function ingestReports(ctx: CasesContext, reports: ReportFeed, limit = 500): Promise<number> {
  const row = await ctx.db.get<{ value: string }>("SELECT value FROM case_settings WHERE name = 'reports_cursor'");
  let at = row ? Number(JSON.parse(row.value)) : 0;
  const page = await reports.after(at, limit);
  for (const r of page) {
    await intakeFrankedReport(ctx, { reportId: r.id, sender: r.sender, reason: r.reason });
    at = r.id;
    await ctx.db.run("INSERT INTO case_settings (name, value) VALUES ('reports_cursor', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [JSON.stringify(at)]);
  }
  return page.length;
}
