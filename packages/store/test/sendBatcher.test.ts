/**
 * The send batcher's scheduling (packages/store/src/sendBatch.ts): batches that run at once share no
 * group (a popular group cannot serialise every batch on its row lock), each group's sends still run in
 * the order they arrived, and the batches still run several at a time for different groups.
 */
import { describe, expect, it } from 'vitest';
import type { Accepted, SendInput } from '../src/delivery.ts';
import { SendBatcher, type Outcome } from '../src/sendBatch.ts';

const input = (groupId: string, n: number) => ({ groupId, clientMessageId: `m${n}`, sender: { username: 'u', deviceId: 'd' }, epoch: 1, ciphertext: new Uint8Array(1), now: 0, expiresAt: 1 }) as SendInput;
const accepted = (): Accepted => ({ seq: 0, epoch: 1, serverTime: 0, recipients: [], duplicate: false });

describe('SendBatcher', () => {
  it('runs batches of different groups at once, never two holding one group, each group in order', async () => {
    const running = new Map<string, number>();
    const order = new Map<string, number[]>();
    let overlap = false;
    let mostAtOnce = 0;
    let atOnce = 0;
    const run = async (inputs: SendInput[]): Promise<Outcome[]> => {
      atOnce++;
      mostAtOnce = Math.max(mostAtOnce, atOnce);
      const groups = new Set(inputs.map((i) => i.groupId));
      for (const g of groups) {
        if (running.has(g)) overlap = true;
        running.set(g, 1);
      }
      for (const i of inputs) order.set(i.groupId, [...(order.get(i.groupId) ?? []), Number(i.clientMessageId.slice(1))]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const g of groups) running.delete(g);
      atOnce--;
      return inputs.map(() => ({ ok: true, value: accepted() }));
    };
    const batcher = new SendBatcher(run, 8, 4);
    const sends: Array<Promise<Accepted>> = [];
    // A popular group ('hot') in every wave, and many others.
    for (let wave = 0; wave < 10; wave++) {
      for (let k = 0; k < 12; k++) sends.push(batcher.send(input(k % 3 === 0 ? 'hot' : `g${wave}-${k}`, wave * 100 + k)));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(sends);
    expect(overlap).toBe(false);
    expect(mostAtOnce).toBeGreaterThan(1);
    const hot = order.get('hot')!;
    expect(hot).toEqual([...hot].sort((a, b) => a - b));
    expect(hot).toHaveLength(40);
  });
});
