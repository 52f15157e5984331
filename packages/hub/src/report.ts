/**
 * The hub's transparency report, computed from its tables (never typed): signals by type and label,
 * members, feedback and opinions by kind, disputes, withdrawals and incidents — GIFCT publishes the
 * same breakdowns for its hash-sharing database.
 */
import type { Db } from '@doublelock/store';

export interface HubReport {
  generatedAt: string;
  logSize: number;
  members: { active: number; revoked: number };
  signals: { live: number; withdrawn: number; disputed: number; byType: Record<string, number>; byLabel: Record<string, number>; byMember: Record<string, number> };
  opinions: Record<string, number>;
  feedback: Record<string, number>;
  incidents: { declared: number; open: number };
}

export async function transparencyReport(db: Db, logSize: number, now = Date.now()): Promise<HubReport> {
  const count = async (sql: string) => Number((await db.get<{ n: number }>(sql))?.n ?? 0);
  const byType: Record<string, number> = {};
  for (const r of await db.all<{ signal_type: string; n: number }>('SELECT signal_type, COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NULL GROUP BY signal_type ORDER BY signal_type')) byType[r.signal_type] = Number(r.n);
  const byLabel: Record<string, number> = {};
  for (const r of await db.all<{ labels: string; n: number }>('SELECT labels, COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NULL GROUP BY labels')) {
    for (const l of r.labels ? r.labels.split(' ') : ['(none)']) byLabel[l] = (byLabel[l] ?? 0) + Number(r.n);
  }
  const byMember: Record<string, number> = {};
  for (const r of await db.all<{ member: string; n: number }>('SELECT member, COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NULL GROUP BY member ORDER BY member')) byMember[r.member] = Number(r.n);
  const opinions: Record<string, number> = {};
  for (const r of await db.all<{ opinion: string; n: number }>('SELECT opinion, COUNT(*) AS n FROM hub_opinions WHERE opinion IS NOT NULL GROUP BY opinion')) opinions[r.opinion] = Number(r.n);
  const feedback: Record<string, number> = {};
  for (const r of await db.all<{ feedback: string; n: number }>('SELECT feedback, COUNT(*) AS n FROM hub_opinions WHERE feedback IS NOT NULL GROUP BY feedback')) feedback[r.feedback] = Number(r.n);
  return {
    generatedAt: new Date(now).toISOString(),
    logSize,
    members: { active: await count('SELECT COUNT(*) AS n FROM hub_members WHERE revoked_at IS NULL'), revoked: await count('SELECT COUNT(*) AS n FROM hub_members WHERE revoked_at IS NOT NULL') },
    signals: {
      live: await count('SELECT COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NULL'),
      withdrawn: await count('SELECT COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NOT NULL'),
      disputed: await count('SELECT COUNT(*) AS n FROM hub_signals WHERE withdrawn_at IS NULL AND disputed = 1'),
      byType,
      byLabel,
      byMember,
    },
    opinions,
    feedback,
    incidents: { declared: await count('SELECT COUNT(*) AS n FROM hub_incidents'), open: await count('SELECT COUNT(*) AS n FROM hub_incidents WHERE closed_at IS NULL') },
  };
}
