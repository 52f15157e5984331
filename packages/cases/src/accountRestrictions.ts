/**
 * Suspended and terminated accounts. A decision that suspends (until a time, or indefinitely) or
 * terminates an account lands here; the server refuses such an account's sessions, and a reversal on
 * appeal lifts it.
 */
import type { Db, SqlRunner } from '@doublelock/store';

export interface AccountRestriction {
  username: string;
  kind: 'suspended' | 'terminated';
  until: number | null;
  decisionId: number | null;
  since: number;
}

export class AccountRestrictionStore {
  constructor(private readonly db: Db) {}

  /** The restriction in force now, if any (an expired suspension is none). */
  async inForce(username: string, now: number): Promise<AccountRestriction | undefined> {
    const r = await this.db.get<{ username: string; kind: string; until_at: number | null; decision_id: number | null; since: number }>('SELECT * FROM account_restrictions WHERE username = ?', [username]);
    if (!r) return undefined;
    const until = r.until_at === null ? null : Number(r.until_at);
    if (r.kind === 'suspended' && until !== null && until <= now) return undefined;
    return { username: r.username, kind: r.kind as AccountRestriction['kind'], until, decisionId: r.decision_id === null ? null : Number(r.decision_id), since: Number(r.since) };
  }
}

/** Applies a suspension or termination; a termination is never shortened by a later suspension. */
export async function restrictAccount(tx: SqlRunner, username: string, kind: AccountRestriction['kind'], until: number | null, decisionId: number, now: number): Promise<void> {
  await tx.run(
    `INSERT INTO account_restrictions (username, kind, until_at, decision_id, since) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (username) DO UPDATE SET kind = excluded.kind, until_at = excluded.until_at, decision_id = excluded.decision_id, since = excluded.since
     WHERE account_restrictions.kind <> 'terminated' OR excluded.kind = 'terminated'`,
    [username, kind, until, decisionId, now],
  );
}

/** Lifts the restriction a reversed decision imposed (not a later one from another decision). */
export async function liftAccountRestriction(tx: SqlRunner, username: string, decisionId: number): Promise<void> {
  await tx.run('DELETE FROM account_restrictions WHERE username = ? AND decision_id = ?', [username, decisionId]);
}
