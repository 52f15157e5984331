/**
 * The auditor's full check, loaded after the checkpoint is verified: every entry of the log downloaded and
 * hashed into the signed root (packages/log audit.ts), then the lawful-access figures recomputed from those
 * entries alone (packages/lawful-access oversight.ts) — warrants and decryptions per month, anomalies.
 */
import type { LogHttpClient } from '@doublelock/log';
import { auditLog } from '@doublelock/log/audit';
import { lawfulAccessStatistics, type LawfulAccessStatistics } from '@doublelock/lawful-access/oversight';
import { openTrustConfig } from '@doublelock/lawful-access/trust';
import { withHolidayRules } from '../lib/holidayRules.ts';
import { logClient, type PublicConfig } from './checkpoint.ts';

export interface FullAudit {
  entries: number;
  lawfulAccess: LawfulAccessStatistics | undefined;
}

export async function auditEverything(config: PublicConfig, logKey: string, onProgress: (done: number, total: number) => void): Promise<FullAudit> {
  const entries: Uint8Array[] = [];
  const client = { ...(logClient as unknown as Record<string, unknown>), entries: async (start: number, end: number) => {
    const page = await logClient.entries(start, end);
    entries.push(...page);
    return page;
  } } as unknown as LogHttpClient;
  const result = await auditLog(client, { logKey, pageSize: 1000, onProgress });
  let lawfulAccess: LawfulAccessStatistics | undefined;
  if (config.lawfulAccess && config.trustRoot) {
    const status = (await (await fetch('/v1/lawful-access')).json()) as { enabled: boolean; trust?: unknown };
    // The bank-holiday rules load only if an urgent warrant's deadline must be checked (lib/holidayRules.ts).
    if (status.enabled) lawfulAccess = await withHolidayRules(() => lawfulAccessStatistics(entries, openTrustConfig(status.trust, config.trustRoot!)));
  }
  return { entries: result.entries, lawfulAccess };
}
