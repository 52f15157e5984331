/**
 * Opinions on bank signals from this platform's own moderators: a match a moderator confirmed is a
 * positive opinion; a decision reversed on appeal is a negative one, and the signal is marked disputed
 * (label `review:disputed`), so the matcher stops acting on it automatically and holds instead.
 * Opinions are kept in the store in id order (an outbox): the hub client reads them after a cursor and
 * sends them on (ThreatExchange/HMA opinions), and `onOpinion` tells a listener at once.
 */
import type { Db } from '@doublelock/store';

export type Opinion = 'positive' | 'negative';

export interface SignalOpinion {
  id: number;
  signalId: number;
  bank: string;
  opinion: Opinion;
  /** e.g. `decision_confirmed`, `appeal_reversed` */
  reason: string;
  /** what it rests on, e.g. `case:12`, `appeal:3` (one opinion per signal and reference) */
  reference: string;
  at: number;
}

export const DISPUTED_LABEL = 'review:disputed';

type Listener = (opinion: SignalOpinion) => void;

interface OpinionRow {
  id: number;
  signal_id: number;
  bank: string;
  opinion: string;
  reason: string;
  reference: string;
  at: number;
}

const fromRow = (r: OpinionRow): SignalOpinion => ({ id: Number(r.id), signalId: Number(r.signal_id), bank: r.bank, opinion: r.opinion as Opinion, reason: r.reason, reference: r.reference, at: Number(r.at) });

export class SignalOpinionStore {
  readonly #listeners = new Set<Listener>();

  constructor(private readonly db: Db) {}

  /** The hook for the hub: called with every opinion recorded on this node. Returns an unsubscribe. */
  onOpinion(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Records an opinion once per (signal, reference); a negative one also labels the signal disputed.
   * Unknown signals (withdrawn since) are skipped.
   */
  async record(input: Omit<SignalOpinion, 'id'>): Promise<SignalOpinion | undefined> {
    const recorded = await this.db.transaction(async (tx) => {
      const signal = await tx.get<{ labels: string }>('SELECT labels FROM moderation_signals WHERE id = ? AND bank = ?', [input.signalId, input.bank]);
      if (!signal) return undefined;
      const row = await tx.get<OpinionRow>(
        `INSERT INTO moderation_signal_opinions (signal_id, bank, opinion, reason, reference, at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (signal_id, reference) DO NOTHING RETURNING *`,
        [input.signalId, input.bank, input.opinion, input.reason, input.reference, input.at],
      );
      if (!row) return undefined;
      if (input.opinion === 'negative') {
        const labels = new Set(signal.labels ? signal.labels.split(' ') : []);
        if (!labels.has(DISPUTED_LABEL)) {
          labels.add(DISPUTED_LABEL);
          await tx.run('UPDATE moderation_signals SET labels = ? WHERE id = ?', [[...labels].sort().join(' '), input.signalId]);
        }
      }
      return fromRow(row);
    });
    if (recorded) for (const listener of this.#listeners) listener(recorded);
    return recorded;
  }

  /** Opinions after a cursor, in the order they were recorded (for the hub to send on). */
  async after(cursor: number, limit = 500): Promise<SignalOpinion[]> {
    return (await this.db.all<OpinionRow>('SELECT * FROM moderation_signal_opinions WHERE id > ? ORDER BY id LIMIT ?', [cursor, limit])).map(fromRow);
  }

  async ofSignal(signalId: number): Promise<SignalOpinion[]> {
    return (await this.db.all<OpinionRow>('SELECT * FROM moderation_signal_opinions WHERE signal_id = ? ORDER BY id', [signalId])).map(fromRow);
  }

  /** Disputed: some moderator of ours found a match on it wrong. */
  async isDisputed(signalId: number): Promise<boolean> {
    return !!(await this.db.get("SELECT 1 AS x FROM moderation_signal_opinions WHERE signal_id = ? AND opinion = 'negative'", [signalId]));
  }
}
