/**
 * Test support: locates the project's shared reference data, ../shared beside the repository root (or
 * $DOUBLELOCK_SHARED). Absent: a loud skip locally, a failure under CI=true.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function sharedPath(sub: string): string | undefined {
  const root = process.env.DOUBLELOCK_SHARED ?? resolve(fileURLToPath(new URL('../../../../shared', import.meta.url)));
  const path = resolve(root, sub);
  if (existsSync(path)) return path;
  const message = `*** ${path} is missing: the tests that read it are SKIPPED ***`;
  if (process.env.CI === 'true') throw new Error(`${path} is required when CI=true`);
  console.warn(`\n${'*'.repeat(message.length)}\n${message}\n${'*'.repeat(message.length)}\n`);
  return undefined;
}
