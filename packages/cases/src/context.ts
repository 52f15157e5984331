/** What every part of the workflow is handed: the store, the clock, the content seam, the settings. */
import type { BankStore, SignalOpinionStore } from '@doublelock/moderation';
import type { Db, SqlRunner } from '@doublelock/store';
import type { ContentActioner } from './content.ts';
import type { OperatorTargets } from './legalBasis.ts';

export interface CasesConfig {
  /** This service's name as authorities address it in removal orders (the signed `provider`). */
  provider: string;
  /** Prefix of statement PUIDs: unique per deployment, so a PUID is never reused. */
  deploymentId: string;
  /** 32-byte key that encrypts preserved evidence at rest (kept outside the database). */
  evidenceKey: Uint8Array;
  /** How long a moderator's claim on a case lasts before someone else may take it. */
  claimTtlMs: number;
  /** Where the terms and conditions are (decision_ground_reference_url for incompatibility decisions). */
  termsUrl: string;
  /** Out-of-court dispute settlement (DSA Art. 21), named in every decision. */
  outOfCourt: string;
  /** The term of service automated decisions rest on (the upload check blocks what it matched under it). */
  automatedTerm: string;
}

export interface CaseEvent {
  id: number;
  caseId: number | null;
  appealId: number | null;
  at: number;
  actor: string;
  event: string;
  detail: Record<string, unknown>;
}

export interface CasesContext {
  db: Db;
  now: () => number;
  content: ContentActioner;
  config: CasesConfig;
  banks: BankStore;
  opinions: SignalOpinionStore;
  targets(): Promise<OperatorTargets>;
  /** Listeners of every recorded event (escalations, overdue cases…): the server logs and counts them. */
  listeners: Set<(event: CaseEvent) => void>;
}

/** Records one step of a case in the audit trail (inside the caller's transaction). */
export async function recordEvent(tx: SqlRunner, event: Omit<CaseEvent, 'id'>): Promise<CaseEvent> {
  const row = await tx.get<{ id: number }>('INSERT INTO case_events (case_id, appeal_id, at, actor, event, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id', [
    event.caseId,
    event.appealId,
    event.at,
    event.actor,
    event.event,
    JSON.stringify(event.detail),
  ]);
  return { id: Number(row!.id), ...event };
}

/** Tells listeners after the transaction that recorded the events committed. */
export function announce(ctx: CasesContext, events: readonly CaseEvent[]): void {
  for (const event of events) for (const listener of ctx.listeners) listener(event);
}

/** Something told to a person involved: `account:<username>` or `notice:<id>`. */
export async function notify(tx: SqlRunner, recipient: string, caseId: number | null, kind: string, body: Record<string, unknown>, at: number): Promise<void> {
  await tx.run('INSERT INTO case_notifications (recipient, case_id, kind, body, created_at) VALUES (?, ?, ?, ?, ?)', [recipient, caseId, kind, JSON.stringify(body), at]);
}
