/**
 * The notice-and-action workflow behind one object, for the apps that drive it (the server plugin, the
 * CLI, benchmarks): each method is a module's function with the shared context. `sweep()` is what the
 * server runs every few seconds: clocks (escalation, overdue), statements due to be told, decisions and
 * reinstatements still to apply, evidence past its preservation period.
 */
import { BankStore, SignalOpinionStore } from '@doublelock/moderation';
import type { Db } from '@doublelock/store';
import { AuthorityStore } from './authority.ts';
import type { ContentActioner } from './content.ts';
import type { CaseEvent, CasesConfig, CasesContext } from './context.ts';
import { applyPending, liftPending, tellUploaders } from './decisions.ts';
import { purgeExpiredEvidence } from './evidence.ts';
import { sweepClocks } from './queue.ts';
import { computeReport, type ReportPeriod, type TransparencyReport } from './reports/compute.ts';
import { RoleStore } from './roles.ts';
import { SettingsStore } from './settings.ts';

export interface SweepResult {
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

  constructor(options: { db: Db; now: () => number; content: ContentActioner; config: CasesConfig }) {
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
    const clocks = await sweepClocks(this.ctx);
    const told = await this.ctx.db.transaction((tx) => tellUploaders(this.ctx, tx, this.ctx.now()));
    const applied = await applyPending(this.ctx);
    const lifted = await liftPending(this.ctx);
    const purged = await purgeExpiredEvidence(this.ctx);
    return { ...clocks, told, applied, lifted, purged };
  }

  report(period: ReportPeriod): Promise<TransparencyReport> {
    return computeReport(this.ctx.db, period, this.ctx.now());
  }
}
