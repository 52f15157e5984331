/**
 * The notice-and-action workflow behind one object, for the apps that drive it (the server plugin, the
 * CLI, benchmarks): each method is a module's function with the shared context. `sweep()` is what the
 * server runs every few seconds: clocks (escalation, overdue), statements due to be told, decisions and
 * reinstatements still to apply, evidence past its preservation period — after taking in what the
 * upload pipeline decided since the last sweep.
 */
import { BankStore, SignalOpinionStore, type DecisionStore } from '@doublelock/moderation';
import type { Db } from '@doublelock/store';
import { AuthorityStore } from './authority.ts';
import type { ContentActioner } from './content.ts';
import type { CaseEvent, CasesConfig, CasesContext } from './context.ts';
import { applyPending, liftPending, tellUploaders } from './decisions.ts';
import { purgeExpiredEvidence } from './evidence.ts';
import { ingestPipelineDecisions, ingestReports, type ReportFeed } from './pipeline.ts';
import { sweepClocks } from './queue.ts';
import { computeReport, type ReportPeriod, type TransparencyReport } from './reports/compute.ts';
import { RoleStore } from './roles.ts';
import { SettingsStore } from './settings.ts';

export interface SweepResult {
  /** upload-pipeline decisions taken in (held → cases, blocked/labelled → automated decisions) */
  pipeline: number;
  escalated: number[];
  overdue: number[];
  told: number;
  applied: number;
  lifted: number;
  purged: number[];
}

export class Cases {
  readonly ctx: CasesContext;
  readonly roles: RoleStore;
  readonly authorities: AuthorityStore;
  readonly settings: SettingsStore;

  private readonly pipeline: DecisionStore | undefined;
  private readonly reports: ReportFeed | undefined;

  /** `pipeline`: the upload check's stored decisions; `reports`: franked reports; both taken in by every sweep. */
  constructor(options: { db: Db; now: () => number; content: ContentActioner; config: CasesConfig; pipeline?: DecisionStore; reports?: ReportFeed }) {
    this.pipeline = options.pipeline;
    this.reports = options.reports;
    this.settings = new SettingsStore(options.db);
    this.roles = new RoleStore(options.db);
    this.authorities = new AuthorityStore(options.db);
    this.ctx = {
      db: options.db,
      now: options.now,
      content: options.content,
      config: options.config,
      banks: new BankStore(options.db),
      opinions: new SignalOpinionStore(options.db),
      targets: () => this.settings.targets(),
      listeners: new Set(),
    };
  }

  /** Every event (escalations, overdue cases, decisions…) as it is recorded. Returns an unsubscribe. */
  onEvent(listener: (event: CaseEvent) => void): () => void {
    this.ctx.listeners.add(listener);
    return () => this.ctx.listeners.delete(listener);
  }

  async sweep(): Promise<SweepResult> {
    let pipeline = 0;
    if (this.pipeline) for (let read = -1; read !== 0; ) pipeline += read = (await ingestPipelineDecisions(this.ctx, this.pipeline)).read;
    if (this.reports) for (let read = -1; read !== 0; ) read = await ingestReports(this.ctx, this.reports);
    const clocks = await sweepClocks(this.ctx);
    const told = await this.ctx.db.transaction((tx) => tellUploaders(this.ctx, tx, this.ctx.now()));
    const applied = await applyPending(this.ctx);
    const lifted = await liftPending(this.ctx);
    const purged = await purgeExpiredEvidence(this.ctx);
    return { pipeline, ...clocks, told, applied, lifted, purged };
  }

  report(period: ReportPeriod): Promise<TransparencyReport> {
    return computeReport(this.ctx.db, period, this.ctx.now());
  }
}
