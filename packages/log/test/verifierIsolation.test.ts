/**
 * The verifier must share no code with the prover: every import in src/verifier/ is either @noble/*
 * or another file of src/verifier/. A prover bug then cannot make its own proofs look valid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../src/verifier/', import.meta.url));

describe('verifier isolation', () => {
  it('imports only @noble/* and its own files', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const file of files) {
      const source = readFileSync(dir + file, 'utf8');
      const specifiers = [...source.matchAll(/(?:import|export)\s[^;]*?from\s+'([^']+)'/g), ...source.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
      for (const specifier of specifiers) {
        expect(specifier.startsWith('@noble/') || /^\.\/[A-Za-z]+\.ts$/.test(specifier), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });
});
