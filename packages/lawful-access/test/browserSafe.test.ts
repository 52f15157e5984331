/** The agency's console and the messenger run this package in browsers: only testing.ts may use Node (modules or Buffer). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const NODE_ONLY = /from ['"](node:[^'"]+|fs|path|os|crypto|better-sqlite3|ws|@doublelock\/store)['"]|\bBuffer\./;

describe('browser-safe lawful access', () => {
  it('uses no Node-only module or Buffer outside testing.ts', () => {
    const files = readdirSync(src).filter((f) => f.endsWith('.ts') && f !== 'testing.ts');
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => NODE_ONLY.test(readFileSync(join(src, f), 'utf8')))).toEqual([]);
  });
});
