/**
 * The agency's batch decryption (agency/workflow.ts openIntercepts) goes on past a caller's handler that
 * fails for one message: every message is still reported and returned. (With real custodians, through the
 * CLI, where the failing handler is an evidence file that cannot be written: apps/server/test/lawfulAccessEndToEnd.test.ts.)
 */
import type { ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import { describe, expect, it } from 'vitest';
import { openIntercepts, OutsideWarrant, type BatchOutcome, type OpenOptions } from '../src/agency/workflow.ts';

// Intercepts without a delivery record: each is refused before any custodian (or option) is consulted.
const intercepts = [1, 2, 3, 4, 5, 6].map((id) => ({ id }) as unknown as ExportedIntercept);
const options = {} as OpenOptions;

describe('openIntercepts', () => {
  it('reports every message although the handler throws for one', async () => {
    const reported: number[] = [];
    const outcomes = await openIntercepts(options, intercepts, {
      concurrency: 2,
      result: (outcome: BatchOutcome) => {
        reported.push(outcome.intercept.id);
        if (outcome.intercept.id === 2) throw new Error('disk full');
      },
    });
    expect(reported.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(outcomes.map((o) => o.intercept.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    for (const o of outcomes) expect(!o.ok && o.error).toBeInstanceOf(OutsideWarrant);
  });
});
