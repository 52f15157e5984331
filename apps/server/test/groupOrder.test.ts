import { describe, expect, it } from 'vitest';
import { GroupOrder } from '../src/push.ts';

describe('GroupOrder (pushes leave in group order whatever order the commits were acknowledged in)', () => {
  it('holds a later seq until the earlier one arrives, across groups independently', () => {
    const order = new GroupOrder(10_000);
    const released: string[] = [];
    const take = (group: string, seq: number, count = 1) => order.accepted(group, seq, count, () => released.push(`${group}${seq}`));
    take('a', 5);
    take('a', 7); // 6 is not here yet
    take('b', 1);
    take('a', 8);
    expect(released).toEqual(['a5', 'b1']);
    take('a', 6);
    expect(released).toEqual(['a5', 'b1', 'a6', 'a7', 'a8']);
    // A commit with a Welcome takes two seqs: what follows it waits for it, then goes.
    take('a', 11);
    take('a', 9, 2);
    expect(released.slice(-2)).toEqual(['a9', 'a11']);
  });

  it('gives up on a gap that never fills, and releases what waited in order', async () => {
    const order = new GroupOrder(20);
    const released: number[] = [];
    order.accepted('g', 1, 1, () => released.push(1));
    order.accepted('g', 4, 1, () => released.push(4));
    order.accepted('g', 3, 1, () => released.push(3));
    expect(released).toEqual([1]);
    await new Promise((r) => setTimeout(r, 60));
    expect(released).toEqual([1, 3, 4]);
    order.accepted('g', 2, 1, () => released.push(2)); // too late: goes at once
    order.accepted('g', 5, 1, () => released.push(5));
    expect(released).toEqual([1, 3, 4, 2, 5]);
  });
});
