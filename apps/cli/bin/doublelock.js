#!/usr/bin/env node
// Runs the compiled CLI (apps/cli/dist, built by `npm install` and `npm start` with apps/cli/build.ts)
// when it is up to date with every source it was built from; otherwise (no build yet, a source edited
// since, or DOUBLELOCK_FROM_SOURCE=1) the TypeScript sources through tsx's loader, so an edit is never
// hidden by a stale build.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/', import.meta.url);
const root = fileURLToPath(new URL('../../../', import.meta.url));

function compiledIsCurrent() {
  if (process.env.DOUBLELOCK_FROM_SOURCE === '1') return false;
  try {
    const { builtAt, inputs } = JSON.parse(readFileSync(new URL('manifest.json', dist), 'utf8'));
    // Every start stats the ~600 sources: plain paths, not a URL each (half the time).
    return inputs.every((file) => (statSync(root + file, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) <= builtAt);
  } catch {
    return false;
  }
}

if (compiledIsCurrent()) {
  await import(new URL('doublelock.js', dist).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
