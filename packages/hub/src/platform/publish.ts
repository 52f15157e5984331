/**
 * A platform publishing one of its own banks to the hub: its live signals are submitted (the platform
 * is their provenance), and signals it removes from the bank are withdrawn. Resumable: the last signal
 * id sent and the last removal time seen are kept per (hub, bank) in hub_publish, so each pass sends
 * only what changed. Labels only the hub sets (`review:disputed`) are not sent.
 */
import { BankStore, type BankSignal } from '@doublelock/moderation';
import type { HubSignalInput } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';
import { DISPUTED } from '../hub.ts';
import { HubHttpError, type HubClient } from './client.ts';

export interface PublishResult {
  submitted: number;
  withdrawn: number;
}

const BATCH = 1000;

export async function publishBank(db: Db, client: HubClient, bank: string, options: { hubBank?: string; syncedPrefix?: string } = {}): Promise<PublishResult> {
  const banks = new BankStore(db);
  if (!(await banks.getBank(bank))) throw new TypeError(`no bank named "${bank}"`);
  if (options.syncedPrefix && bank.startsWith(options.syncedPrefix)) throw new TypeError(`"${bank}" is synced from the hub; publish a bank of your own`);
  const hubBank = options.hubBank ?? bank;
  await db.run('INSERT INTO hub_publish (hub, bank, after_id, removed_after) VALUES (?, ?, 0, 0) ON CONFLICT (hub, bank) DO NOTHING', [client.url, bank]);
  const state = (await db.get<{ after_id: number; removed_after: number }>('SELECT after_id, removed_after FROM hub_publish WHERE hub = ? AND bank = ?', [client.url, bank]))!;
  let afterId = Number(state.after_id);
  let removedAfter = Number(state.removed_after);
  const result: PublishResult = { submitted: 0, withdrawn: 0 };
  const toInput = (s: BankSignal): HubSignalInput => ({ bank: hubBank, type: s.type, value: s.value, labels: s.labels.filter((l) => l !== DISPUTED), ...(s.quality !== null && { quality: s.quality }) });

  let batch: BankSignal[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await client.submit(batch.map(toInput));
    result.submitted += batch.length;
    afterId = batch[batch.length - 1]!.id;
    await db.run('UPDATE hub_publish SET after_id = ? WHERE hub = ? AND bank = ?', [afterId, client.url, bank]);
    batch = [];
  };
  for (;;) {
    const rows = await db.all<{ id: number }>('SELECT id FROM moderation_signals WHERE bank = ? AND id > ? AND removed_at IS NULL ORDER BY id LIMIT ?', [bank, afterId, BATCH]);
    if (!rows.length) break;
    batch = (await banks.getSignalsByIds(rows.map((r) => Number(r.id)))).filter((s) => s.removedAt === null).sort((a, b) => a.id - b.id);
    if (!batch.length) break;
    await flush();
  }

  for (;;) {
    const removed = await db.all<{ signal_type: string; value: string; removed_at: number }>(
      'SELECT signal_type, value, removed_at FROM moderation_signals WHERE bank = ? AND removed_at IS NOT NULL AND removed_at > ? AND id <= ? ORDER BY removed_at LIMIT ?',
      [bank, removedAfter, afterId, BATCH],
    );
    if (!removed.length) break;
    for (const r of removed) {
      try {
        await client.withdraw([{ bank: hubBank, type: r.signal_type as HubSignalInput['type'], value: r.value }]);
        result.withdrawn++;
      } catch (error) {
        if (!(error instanceof HubHttpError && (error.status === 404 || error.status === 403))) throw error;
      }
    }
    removedAfter = Number(removed[removed.length - 1]!.removed_at);
    await db.run('UPDATE hub_publish SET removed_after = ? WHERE hub = ? AND bank = ?', [removedAfter, client.url, bank]);
    if (removed.length < BATCH) break;
  }
  return result;
}
