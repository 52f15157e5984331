/**
 * Per-bank matching configuration, as HMA keeps it beside each bank: enabled, negative (known-good
 * content), a PDQ distance threshold, a rollout share, the default action of a match, and the name the
 * uploader is told. A bank without a row has the defaults.
 */
import type { Db } from '@doublelock/store';
import { checkBankName } from '../bank.ts';
import { PDQ_MATCH_THRESHOLD } from '../pdq.ts';
import { RULE_ACTIONS, type RuleAction } from './decision.ts';

export interface BankSettings {
  bank: string;
  enabled: boolean;
  /** known-good content: a match here vetoes every other bank's match on the same item */
  negative: boolean;
  /** largest PDQ Hamming distance that counts (0–43; 31 is PDQ's own threshold) */
  pdqThreshold: number;
  /** share of content acted on, 0–100 (chosen by a hash of the item, so it is stable per item) */
  rolloutPercent: number;
  /** what a match does unless its signal says otherwise */
  action: Exclude<RuleAction, 'allow'>;
  /** what the uploader is told the match came from */
  publicLabel: string;
  updatedAt: number;
}

export type BankSettingsInput = Partial<Omit<BankSettings, 'bank' | 'updatedAt'>>;

export function defaultBankSettings(bank: string): BankSettings {
  return { bank, enabled: true, negative: false, pdqThreshold: PDQ_MATCH_THRESHOLD, rolloutPercent: 100, action: 'block', publicLabel: bank, updatedAt: 0 };
}

interface Row {
  bank: string;
  enabled: number;
  negative: number;
  pdq_threshold: number;
  rollout_bp: number;
  action: string;
  public_label: string;
  updated_at: number;
}

const fromRow = (r: Row): BankSettings => ({
  bank: r.bank,
  enabled: Number(r.enabled) === 1,
  negative: Number(r.negative) === 1,
  pdqThreshold: Number(r.pdq_threshold),
  rolloutPercent: Number(r.rollout_bp) / 100,
  action: r.action as BankSettings['action'],
  publicLabel: r.public_label,
  updatedAt: Number(r.updated_at),
});

/** Checks a settings change; throws TypeError naming the bad field. */
export function checkBankSettings(input: BankSettingsInput): BankSettingsInput {
  if (input.pdqThreshold !== undefined && (!Number.isInteger(input.pdqThreshold) || input.pdqThreshold < 0 || input.pdqThreshold > 43)) {
    throw new TypeError(`pdqThreshold must be an integer 0–43, not ${input.pdqThreshold}`);
  }
  if (input.rolloutPercent !== undefined && (!Number.isFinite(input.rolloutPercent) || input.rolloutPercent < 0 || input.rolloutPercent > 100)) {
    throw new TypeError(`rolloutPercent must be 0–100, not ${input.rolloutPercent}`);
  }
  if (input.action !== undefined && (!(RULE_ACTIONS as readonly string[]).includes(input.action) || input.action === ('allow' as string))) {
    throw new TypeError(`a bank's action is block, hold or label, not "${String(input.action)}"`);
  }
  if (input.publicLabel !== undefined && (typeof input.publicLabel !== 'string' || input.publicLabel.length > 200)) throw new TypeError('publicLabel is at most 200 characters');
  return input;
}

export class BankSettingsStore {
  constructor(private readonly db: Db) {}

  async get(bank: string): Promise<BankSettings> {
    const row = await this.db.get<Row>('SELECT * FROM moderation_bank_settings WHERE bank = ?', [bank]);
    return row ? fromRow(row) : defaultBankSettings(bank);
  }

  /** Settings of every bank (defaults for banks without a row). */
  async all(): Promise<Map<string, BankSettings>> {
    const banks = await this.db.all<{ name: string }>('SELECT name FROM moderation_banks ORDER BY name');
    const rows = new Map((await this.db.all<Row>('SELECT * FROM moderation_bank_settings')).map((r) => [r.bank, fromRow(r)]));
    return new Map(banks.map((b) => [b.name, rows.get(b.name) ?? defaultBankSettings(b.name)]));
  }

  async set(bank: string, input: BankSettingsInput, now = Date.now()): Promise<BankSettings> {
    checkBankName(bank);
    checkBankSettings(input);
    if (!(await this.db.get('SELECT name FROM moderation_banks WHERE name = ?', [bank]))) throw new TypeError(`no bank named "${bank}"`);
    const next = { ...(await this.get(bank)), ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)), updatedAt: now };
    await this.db.run(
      `INSERT INTO moderation_bank_settings (bank, enabled, negative, pdq_threshold, rollout_bp, action, public_label, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bank) DO UPDATE SET enabled = excluded.enabled, negative = excluded.negative, pdq_threshold = excluded.pdq_threshold,
         rollout_bp = excluded.rollout_bp, action = excluded.action, public_label = excluded.public_label, updated_at = excluded.updated_at`,
      [bank, next.enabled ? 1 : 0, next.negative ? 1 : 0, next.pdqThreshold, Math.round(next.rolloutPercent * 100), next.action, next.publicLabel, now],
    );
    return next;
  }

  /** The widest PDQ threshold of any enabled bank: how wide a matcher must search. */
  async maxPdqThreshold(): Promise<number> {
    let max = PDQ_MATCH_THRESHOLD;
    for (const s of (await this.all()).values()) if (s.enabled) max = Math.max(max, s.pdqThreshold);
    return max;
  }
}
