/** Locates ../shared/pdq-reference (or $DOUBLELOCK_SHARED/pdq-reference); absent: skip loudly, or fail on CI. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
const sharedDir = process.env.DOUBLELOCK_SHARED ?? join(repoRoot, '..', 'shared');

export const PDQ_REFERENCE = join(sharedDir, 'pdq-reference');
export const hasPdqReference = existsSync(join(PDQ_REFERENCE, 'README.md'));

if (!hasPdqReference) {
  const message = `PDQ reference data not found at ${PDQ_REFERENCE} (set DOUBLELOCK_SHARED): reference tests are SKIPPED`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n\n*** ${message} ***\n\n`);
}

export function csvLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}
