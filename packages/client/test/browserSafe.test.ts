/** The SDK core must run in browsers: only src/node/ may import Node-only modules. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
const NODE_ONLY = /from ['"](node:[^'"]+|fs|path|os|crypto|better-sqlite3|ws)['"]/;

describe('browser-safe core', () => {
  it('imports no Node-only module outside src/node/', () => {
    const core = files(src).filter((f) => !relative(src, f).startsWith('node/'));
    expect(core.length).toBeGreaterThan(10);
    const offenders = core.filter((f) => NODE_ONLY.test(readFileSync(f, 'utf8'))).map((f) => relative(src, f));
    expect(offenders).toEqual([]);
  });
});
