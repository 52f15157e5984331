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
const sources = [join(webRoot, 'src'), join(webRoot, 'index.html'), join(webRoot, 'vite.config.ts'), ...['client', 'protocol', 'log', 'lawful-access'].map((p) => join(webRoot, '..', '..', 'packages', p, 'src'))];

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
  await build({ root: webRoot, configFile: join(webRoot, 'vite.config.ts'), logLevel: options.quiet ? 'warn' : 'info' });
  writeFileSync(stampFile, fingerprint);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await ensureWebBuilt({ force: process.argv.includes('--force') });
  if (!built) console.log('web app: up to date (apps/web/dist)');
}
