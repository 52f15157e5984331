/**
 * Builds the web app when its sources (or the packages it bundles) changed since the last build: run by
 * `npm install` (postinstall), `npm start`, the web tests and `bench:web`, so a fresh clone serves it with
 * no extra step. `tsx apps/web/build.ts [--force]`.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webRoot = fileURLToPath(new URL('.', import.meta.url));
export const webDist = join(webRoot, 'dist');
const stampFile = join(webDist, '.sources');
const sources = [join(webRoot, 'src'), join(webRoot, 'index.html'), join(webRoot, 'vite.config.ts'), ...['client', 'protocol', 'log', 'lawful-access'].map((p) => join(webRoot, '..', '..', 'packages', p, 'src')), join(webRoot, '..', '..', 'patches')];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Builds unless dist/ is newer than every source; returns whether it built. */
export async function ensureWebBuilt(options: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  const fingerprint = String(Math.max(...sources.map(newest)));
  if (!options.force && existsSync(join(webDist, 'index.html')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === fingerprint) return false;
  const { build } = await import('vite');
  // Always the production build, whoever runs it: under vitest (NODE_ENV=test) Vite would bundle React's
  // development build and the JSX dev runtime, and bench:web, which reuses an up-to-date dist/, would measure that.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: webRoot, configFile: join(webRoot, 'vite.config.ts'), mode: 'production', logLevel: options.quiet ? 'warn' : 'info' });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
  writeFileSync(stampFile, fingerprint);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await ensureWebBuilt({ force: process.argv.includes('--force') });
  if (!built) console.log('web app: up to date (apps/web/dist)');
}
