/**
 * Every inclusion and consistency case of transparency-dev/merkle's test data (../shared/merkle-testdata):
 * the happy paths verify, every tampered case is rejected.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBase64, verifyConsistency, verifyInclusion } from '../src/verifier/index.ts';
import { sharedPath } from '@doublelock/store/test-shared';

const root = sharedPath('merkle-testdata');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

const bytes = (b64: string): Uint8Array => fromBase64(b64);
const path = (proof: string[] | null): Uint8Array[] => (proof ?? []).map(bytes);

interface InclusionCase { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyCase { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

describe.runIf(root)('transparency-dev merkle test data', () => {
  const dir = root!;

  /** Runs every case of a folder: happy paths must verify, tampered ones must throw. */
  function tally<C extends { wantErr: boolean }>(folder: string, verify: (c: C) => void): { accepted: number; rejected: number } {
    let accepted = 0;
    let rejected = 0;
    for (const file of jsonFiles(join(dir, folder))) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as C;
      if (c.wantErr) {
        expect(() => verify(c), relative(dir, file)).toThrow();
        rejected++;
      } else {
        expect(() => verify(c), relative(dir, file)).not.toThrow();
        accepted++;
      }
    }
    return { accepted, rejected };
  }

  it('inclusion: 6 happy paths verify, 92 tampered cases are rejected', () => {
    const counts = tally<InclusionCase>('inclusion', (c) =>
      verifyInclusion(c.leafIdx, c.treeSize, bytes(c.leafHash), path(c.proof), bytes(c.root)),
    );
    expect(counts).toEqual({ accepted: 6, rejected: 92 });
  });

  it('consistency: 6 happy paths verify, 92 tampered cases are rejected', () => {
    const counts = tally<ConsistencyCase>('consistency', (c) =>
      verifyConsistency(c.size1, c.size2, path(c.proof), bytes(c.root1), bytes(c.root2)),
    );
    expect(counts).toEqual({ accepted: 6, rejected: 92 });
  });
});
