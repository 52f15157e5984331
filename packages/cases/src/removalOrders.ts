/**
 * What an authority hears back about its removal order (TCO Annex II, feedback on the removal or
 * disabling, with the time it took effect; Annex III where it could not be complied with, and why), item
 * by item, computed from the cases the order opened.
 */
import { DomainError, ErrorCode } from '@doublelock/protocol';
import type { CasesContext } from './context.ts';

export interface OrderItemStatus {
  caseId: number;
  url: string;
  outcome: 'pending' | 'removed' | 'disabled' | 'cannot_comply' | 'reinstated';
  /** when the removal or disabling took effect */
  effectedAt: number | null;
  reason: string | null;
}

export interface OrderStatus {
  reference: string;
  receivedAt: number;
  dueAt: number;
  complete: boolean;
  withinOneHour: boolean | null;
  items: OrderItemStatus[];
}

export async function orderStatus(ctx: CasesContext, authorityId: string, reference: string): Promise<OrderStatus> {
  const order = await ctx.db.get<{ id: number; received_at: number }>('SELECT id, received_at FROM removal_orders WHERE authority_id = ? AND reference = ?', [authorityId, reference]);
  if (!order) throw new DomainError(ErrorCode.notFound, `No removal order "${reference}" from this authority.`);
  const rows = await ctx.db.all<{ id: number; content_url: string; due_at: number; restriction_mask: number | null; applied_at: number | null; cannot_comply: string | null; reversed_at: number | null; explanation: string | null }>(
    'SELECT c.id, c.content_url, c.due_at, d.restriction_mask, d.applied_at, d.cannot_comply, d.reversed_at, d.explanation FROM cases c LEFT JOIN case_decisions d ON d.id = c.decision_id WHERE c.order_id = ? ORDER BY c.id',
    [order.id],
  );
  const items: OrderItemStatus[] = rows.map((r) => {
    const base = { caseId: Number(r.id), url: r.content_url, effectedAt: r.applied_at === null ? null : Number(r.applied_at), reason: null as string | null };
    if (r.cannot_comply) return { ...base, outcome: 'cannot_comply', effectedAt: null, reason: `${r.cannot_comply}: ${r.explanation ?? ''}` };
    if (r.reversed_at !== null) return { ...base, outcome: 'reinstated' };
    if (r.restriction_mask === null || r.applied_at === null) return { ...base, outcome: 'pending', effectedAt: null };
    return { ...base, outcome: (Number(r.restriction_mask) & 1) !== 0 ? 'removed' : 'disabled' };
  });
  const complete = items.every((i) => i.outcome !== 'pending');
  const effected = items.filter((i) => i.effectedAt !== null).map((i) => i.effectedAt!);
  const receivedAt = Number(order.received_at);
  return {
    reference,
    receivedAt,
    dueAt: Number(rows[0]?.due_at ?? receivedAt),
    complete,
    withinOneHour: complete && effected.length ? Math.max(...effected) - receivedAt <= 3_600_000 : null,
    items,
  };
}
