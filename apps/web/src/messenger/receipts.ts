/**
 * The marks on this device's own messages — ✓ sent, ✓✓ delivered (every recipient device fetched it: the
 * server counts the mailboxes still holding it, POST /v1/groups/:id/delivery), read by N (their read
 * receipts, end-to-end encrypted messages of their own) — and this person's read receipts for what they
 * see. Receipts follow the person's setting, both ways as in Signal: with it off none is sent and none shown.
 */
import type { Messenger, ReceivedMessage } from '@doublelock/client';
import { useEffect, useRef, useState } from 'react';

const shown = (x: ReceivedMessage) => x.content.type === 'text' || x.content.type === 'file';

/**
 * Which of this device's messages every recipient device has fetched: the latest 50 not yet delivered are
 * asked about every few seconds while the chat is open. The server learns nothing new from the question.
 */
export function useDelivered(m: Messenger, groupId: string, messages: ReceivedMessage[]): ReadonlySet<number> {
  const [delivered, setDelivered] = useState<ReadonlySet<number>>(new Set());
  const waiting = messages.filter((x) => x.sender.deviceId === m.deviceId && shown(x) && !delivered.has(x.seq)).map((x) => x.seq).slice(-50);
  const key = waiting.join(',');
  useEffect(() => {
    if (!key) return;
    let stopped = false;
    const seqs = key.split(',').map(Number);
    const ask = async () => {
      try {
        const { delivery } = await m.api.deliveryOf(groupId, seqs);
        const done = delivery.filter((d) => d.pending === 0).map((d) => d.seq);
        if (!stopped && done.length) setDelivered((prev) => new Set([...prev, ...done]));
      } catch {
        // a failed question leaves the mark at "Sent"; the next one asks again
      }
    };
    void ask();
    const timer = window.setInterval(() => void ask(), 2000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, [m, groupId, key]);
  return delivered;
}

/**
 * Who read each message (by its client message id), from the SDK's folded conversation; sends this
 * person's own receipts for what the open, visible chat shows (the SDK sends none when they are off).
 */
export function useReadReceipts(m: Messenger, groupId: string, messages: ReceivedMessage[]): ReadonlyMap<string, string[]> {
  const [readBy, setReadBy] = useState<ReadonlyMap<string, string[]>>(new Map());
  const marking = useRef<Promise<unknown>>(Promise.resolve());
  useEffect(() => {
    let live = true;
    void m.conversation(groupId).then(
      (chat) => live && setReadBy(new Map(chat.filter((c) => c.readBy.length > 0).map((c) => [c.id, c.readBy]))),
      () => undefined,
    );
    const markRead = () => {
      if (document.visibilityState !== 'visible') return;
      // one at a time: two overlapping calls would receipt the same messages twice
      marking.current = marking.current.then(() => m.markRead(groupId)).catch(() => undefined);
    };
    if (messages.some((x) => x.sender.username !== m.username && shown(x))) markRead();
    document.addEventListener('visibilitychange', markRead);
    return () => {
      live = false;
      document.removeEventListener('visibilitychange', markRead);
    };
  }, [m, groupId, messages]);
  return readBy;
}

/** The mark as words (read out as such by screen readers). */
export function deliveryMark(delivered: boolean, readBy: readonly string[], groupSize: number): { state: 'sent' | 'delivered' | 'read'; text: string } {
  if (readBy.length > 0) return { state: 'read', text: groupSize <= 2 ? 'Read ✓✓' : `Read by ${readBy.length} ✓✓` };
  return delivered ? { state: 'delivered', text: 'Delivered ✓✓' } : { state: 'sent', text: 'Sent ✓' };
}
