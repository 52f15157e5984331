/**
 * Crisis mode, after GIFCT's Content Incident Protocol: an administrator declares an incident (a live
 * attack being spread), its hashes go into an incident bank in bulk, and while it is open every upload
 * near one of them — within the incident's wider Hamming distance (PDQ's usual threshold is 31) or an
 * exact hash or URL — is held for review instead of published. The upload check does the holding: the
 * incident bank's settings say `hold` at the incident's radius (moderation's per-bank settings), and its
 * held decisions come back here as crisis cases (pipeline.ts). Closing the incident disables the bank and
 * writes a debrief of what was caught, computed from the cases it held.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { BankSettingsStore, prepareSignal, type SignalType } from '@doublelock/moderation';
import { announce, recordEvent, type CaseEvent, type CasesContext } from './context.ts';

export interface Incident {
  id: number;
  name: string;
  description: string;
  bank: string;
  radius: number;
  declaredBy: string;
  declaredAt: number;
  closedBy: string | null;
  closedAt: number | null;
  debrief: Debrief | null;
}

export interface Debrief {
  summary: string;
  hashesAdded: number;
  uploadsHeld: number;
  confirmed: number;
  released: number;
  pending: number;
  /** Time from declaration to the first held upload, or null. */
  firstHoldAfterMs: number | null;
  medianDecisionMs: number | null;
  byHash: Array<{ signalId: number; held: number }>;
}

interface IncidentRow {
  id: number;
  name: string;
  description: string;
  bank: string;
  radius: number;
  declared_by: string;
  declared_at: number;
  closed_by: string | null;
  closed_at: number | null;
  debrief: string | null;
}

const fromRow = (r: IncidentRow): Incident => ({
  id: Number(r.id),
  name: r.name,
  description: r.description,
  bank: r.bank,
  radius: Number(r.radius),
  declaredBy: r.declared_by,
  declaredAt: Number(r.declared_at),
  closedBy: r.closed_by,
  closedAt: r.closed_at === null ? null : Number(r.closed_at),
  debrief: r.debrief ? (JSON.parse(r.debrief) as Debrief) : null,
});

export async function declareIncident(ctx: CasesContext, admin: string, input: { name: string; description: string; radius: number }): Promise<Incident> {
  const now = ctx.now();
  const events: CaseEvent[] = [];
  const incident = await ctx.db.transaction(async (tx) => {
    const row = await tx.get<{ id: number }>(
      "INSERT INTO crisis_incidents (name, description, bank, radius, declared_by, declared_at) VALUES (?, ?, '', ?, ?, ?) RETURNING id",
      [input.name, input.description, input.radius, admin, now],
    );
    const id = Number(row!.id);
    await tx.run('UPDATE crisis_incidents SET bank = ? WHERE id = ?', [`incident-${id}`, id]);
    events.push(await recordEvent(tx, { caseId: null, appealId: null, at: now, actor: admin, event: 'incident_declared', detail: { incidentId: id, name: input.name, radius: input.radius } }));
    return id;
  });
  await ctx.banks.createBank(`incident-${incident}`, `Crisis incident ${incident}: ${input.name}`, now);
  await new BankSettingsStore(ctx.db).set(`incident-${incident}`, { action: 'hold', pdqThreshold: input.radius, publicLabel: `Crisis incident: ${input.name}` }, now);
  announce(ctx, events);
  return getIncident(ctx, incident);
}

export async function getIncident(ctx: CasesContext, id: number): Promise<Incident> {
  const row = await ctx.db.get<IncidentRow>('SELECT * FROM crisis_incidents WHERE id = ?', [id]);
  if (!row) throw new DomainError(ErrorCode.notFound, `No incident ${id}.`);
  return fromRow(row);
}

export async function listIncidents(ctx: CasesContext, openOnly = false): Promise<Incident[]> {
  return (await ctx.db.all<IncidentRow>(`SELECT * FROM crisis_incidents${openOnly ? ' WHERE closed_at IS NULL' : ''} ORDER BY id DESC`)).map(fromRow);
}

/** Bulk-adds hashes to an open incident's bank (labelled as shared under the incident protocol). */
export async function addIncidentSignals(ctx: CasesContext, id: number, admin: string, signals: Array<{ type: SignalType; value: string; labels: string[] }>): Promise<number> {
  const incident = await getIncident(ctx, id);
  if (incident.closedAt !== null) throw new DomainError(ErrorCode.conflict, `Incident ${id} is closed.`);
  const now = ctx.now();
  let prepared;
  try {
    prepared = signals.map((s) => prepareSignal({ type: s.type, value: s.value, labels: [...s.labels, 'incident:cip', 'basis:incident'], source: `incident:${id}`, addedAt: now }));
  } catch (error) {
    throw new DomainError(ErrorCode.validation, `Bad signal: ${error instanceof Error ? error.message : String(error)}`);
  }
  const n = await ctx.banks.putSignals(incident.bank, prepared);
  announce(ctx, [await recordEvent(ctx.db, { caseId: null, appealId: null, at: now, actor: admin, event: 'incident_signals_added', detail: { incidentId: id, count: n } })]);
  return n;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** Closes an incident with its debrief, computed from the cases it held and their decisions. */
export async function closeIncident(ctx: CasesContext, id: number, admin: string, summary: string): Promise<Incident> {
  const incident = await getIncident(ctx, id);
  if (incident.closedAt !== null) throw new DomainError(ErrorCode.conflict, `Incident ${id} is already closed.`);
  const now = ctx.now();
  const held = await ctx.db.all<{ id: number; received_at: number; matches: string; decided_at: number | null; restriction_mask: number | null }>(
    'SELECT c.id, c.received_at, c.matches, d.decided_at, d.restriction_mask FROM cases c LEFT JOIN case_decisions d ON d.id = c.decision_id WHERE c.incident_id = ? ORDER BY c.id',
    [id],
  );
  let hashesAdded = 0;
  for await (const _ of ctx.banks.signals(incident.bank, { includeRemoved: true })) hashesAdded++;
  const byHash = new Map<number, number>();
  for (const h of held) for (const m of JSON.parse(h.matches) as Array<{ signalId: number }>) byHash.set(m.signalId, (byHash.get(m.signalId) ?? 0) + 1);
  const decided = held.filter((h) => h.decided_at !== null);
  const debrief: Debrief = {
    summary,
    hashesAdded,
    uploadsHeld: held.length,
    confirmed: decided.filter((h) => Number(h.restriction_mask) !== 0).length,
    released: decided.filter((h) => Number(h.restriction_mask) === 0).length,
    pending: held.length - decided.length,
    firstHoldAfterMs: held.length ? Number(held[0]!.received_at) - incident.declaredAt : null,
    medianDecisionMs: median(decided.map((h) => Number(h.decided_at) - Number(h.received_at))),
    byHash: [...byHash].map(([signalId, n]) => ({ signalId, held: n })).sort((a, b) => b.held - a.held),
  };
  await ctx.db.run('UPDATE crisis_incidents SET closed_by = ?, closed_at = ?, debrief = ? WHERE id = ? AND closed_at IS NULL', [admin, now, JSON.stringify(debrief), id]);
  // Its hashes stop holding uploads; the bank stays, so the record of what it held is complete.
  await new BankSettingsStore(ctx.db).set(incident.bank, { enabled: false }, now);
  announce(ctx, [await recordEvent(ctx.db, { caseId: null, appealId: null, at: now, actor: admin, event: 'incident_closed', detail: { incidentId: id, uploadsHeld: debrief.uploadsHeld } })]);
  return getIncident(ctx, id);
}
