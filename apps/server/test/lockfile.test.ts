/**
 * Finding 9 of issue 15: the lock must be complete, so `npm ci` installs the same tree on every platform
 * and `npm install` does not rewrite it. A package's optional dependencies (rollup's and sharp's
 * per-platform binaries) must each have an entry, found the way Node resolves them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Lock = { lockfileVersion: number; packages: Record<string, { version?: string; optionalDependencies?: Record<string, string>; dependencies?: Record<string, string> }> };
const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8')) as Lock;

/** The lock entry `dependency` of the package at `from` resolves to: nested first, then each parent's node_modules. */
function resolves(from: string, dependency: string): boolean {
  for (let base = from; ; ) {
    if (lock.packages[`${base ? `${base}/` : ''}node_modules/${dependency}`]) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut >= 0 ? base.slice(0, cut) : '';
  }
}

describe('package-lock.json', () => {
  it('records every optional (per-platform) dependency of every package', () => {
    expect(lock.lockfileVersion).toBe(3);
    const missing = Object.entries(lock.packages).flatMap(([path, meta]) => Object.keys(meta.optionalDependencies ?? {}).filter((d) => !resolves(path, d)).map((d) => `${path} -> ${d}`));
    expect(missing).toEqual([]);
    expect(Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/@rollup/rollup-')).length).toBeGreaterThan(10);
    expect(Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/@img/sharp-')).length).toBeGreaterThan(10);
  });
});
