/** Prospective interception tasks: only logged, double-locked warrants become tasks; only covered messages are retained. */
import { toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../src/epoch.ts';
import { type InterceptionTask, interceptionTask, retentionFor, tasksCovering } from '../src/interception.ts';
import { LawfulAccessWorld } from '../src/testing.ts';

const ISSUED = Date.UTC(2026, 10, 23, 9);
const NOW = ISSUED + 3_600_000;
let world: LawfulAccessWorld;
beforeAll(async () => {
  world = await LawfulAccessWorld.create({ threshold: 2, custodians: 3 });
});
afterAll(async () => world.close());

const asTask = (l: Awaited<ReturnType<LawfulAccessWorld['logWarrant']>>) => ({ warrant: l.warrant, commitmentNonce: toBase64Url(l.nonce), inclusion: l.inclusion });

describe('interception tasks (ETSI X1)', () => {
  it('turn a logged, approved warrant into a task and nothing else', async () => {
    const logged = await world.logWarrant(world.approve(world.issue(world.draft({ issuedAt: ISSUED, targets: ['mallory'] })), ISSUED + 60_000));
    const decision = interceptionTask(asTask(logged), world.trust, NOW, world.verifyInclusion);
    expect(decision).toMatchObject({ task: { targets: ['mallory'], from: ISSUED + 60_000, until: ISSUED + 30 * DAY_MS, products: ['iri', 'cc'] } });
    const unapproved = await world.logWarrant(world.issue(world.draft({ issuedAt: ISSUED })));
    expect(interceptionTask(asTask(unapproved), world.trust, NOW, world.verifyInclusion)).toMatchObject({ refused: 'approval_missing' });
    const unlogged = { ...asTask(logged), warrant: world.approve(world.issue(world.draft({ issuedAt: ISSUED })), ISSUED) };
    expect(interceptionTask(unlogged, world.trust, NOW, world.verifyInclusion)).toMatchObject({ refused: 'not_in_log' });
  });

  it('retain only messages to or from a target inside a task, with the products it names', () => {
    const tasks: InterceptionTask[] = [
      { taskId: 'a', warrantId: 'W-1', revision: 0, targets: ['mallory'], from: 100, until: 200, products: ['iri'] },
      { taskId: 'b', warrantId: 'W-2', revision: 0, targets: ['trent'], from: 150, until: 300, products: ['iri', 'cc'] },
    ];
    expect(retentionFor(tasks, { sender: 'alice', recipients: ['bob'], serverTime: 160 })).toEqual({ iri: false, cc: false, taskIds: [] });
    expect(retentionFor(tasks, { sender: 'mallory', recipients: ['bob'], serverTime: 160 })).toEqual({ iri: true, cc: false, taskIds: ['a'] });
    expect(retentionFor(tasks, { sender: 'bob', recipients: ['mallory', 'trent'], serverTime: 160 })).toEqual({ iri: true, cc: true, taskIds: ['a', 'b'] });
    expect(tasksCovering(tasks, { sender: 'mallory', recipients: [], serverTime: 99 })).toEqual([]);
    expect(tasksCovering(tasks, { sender: 'mallory', recipients: [], serverTime: 200 })).toEqual([]);
  });
});
