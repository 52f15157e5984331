/**
 * Compiles the CLI (and the server it starts) to JavaScript: esbuild bundles apps/cli/src/main.ts and the
 * workspace packages it imports into apps/cli/dist, code-split so that each `await import()` stays a
 * chunk loaded only by the command that needs it; npm packages stay external (resolved from
 * node_modules at run time, native addons included), except a few pure-ESM ones (BUNDLED below). bin/doublelock.js runs this output, not TypeScript
 * through a loader, whenever it is up to date with its sources (dist/manifest.json lists them).
 * Run by `npm install` (postinstall) and `npm start`; `--force` rebuilds even when up to date.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('./', import.meta.url));
const ROOT = join(CLI, '../..');
const DIST = join(CLI, 'dist');
const MANIFEST = join(DIST, 'manifest.json');

type Manifest = { builtAt: number; inputs: string[] };

function upToDate(): boolean {
  if (!existsSync(MANIFEST)) return false;
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8')) as Manifest;
  return manifest.inputs.every((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).mtimeMs <= manifest.builtAt);
}

/**
 * Pure-ESM npm packages compiled in with the workspace: Node then loads one chunk instead of resolving
 * and compiling hundreds of small module files at every start (zod, the crypto libraries, ts-mls). zod
 * goes together with the one package that imports it (fastify-type-provider-zod), so that there is a
 * single copy of zod for the schemas and the route validation.
 */
const BUNDLED = /^(zod|fastify-type-provider-zod|@noble\/[^/]+|ts-mls|@hpke\/[^/]+)(\/|$)/;

/** Other npm packages and node builtins stay imports; the workspace's own TypeScript (and JSON data it imports) is compiled in. */
const externals: Plugin = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@doublelock/') || args.path.endsWith('.json') || BUNDLED.test(args.path) ? undefined : { path: args.path, external: true }));
  },
};

/**
 * `import.meta.url` of a source file (migrations folders, package.json) must keep naming that file, not
 * the chunk it ends up in: it is rewritten to the source's URL relative to the output folder.
 */
const sourceUrls: Plugin = {
  name: 'source-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return undefined;
      const fromDist = relative(DIST, args.path).split('\\').join('/');
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromDist)}, import.meta.url).href`), loader: 'ts' };
    });
  },
};

if (!process.argv.includes('--force') && upToDate()) process.exit(0);
const builtAt = Date.now();
rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });
const result = await build({
  entryPoints: { doublelock: join(CLI, 'src/main.ts') },
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked', // stack traces still name the sources
  // Minified, a command's chunks are about half the bytes for V8 to scan and compile at every start
  // (`doublelock send` loads ~1.7 MB unminified: zod and the protocol's schemas, ts-mls, the client).
  minify: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [externals, sourceUrls],
  // every chunk beside the entry: the rewritten import.meta.url above is relative to this one folder
  chunkNames: '[name]-[hash]',
});
const inputs = Object.keys(result.metafile.inputs).map((f) => relative(ROOT, join(process.cwd(), f)).split('\\').join('/'));
writeFileSync(MANIFEST, JSON.stringify({ builtAt, inputs } satisfies Manifest));
writeFileSync(join(DIST, 'package.json'), JSON.stringify({ type: 'module' }));
console.log(`apps/cli/dist: ${inputs.length} sources compiled in ${Date.now() - builtAt} ms (${relative(ROOT, dirname(MANIFEST))})`);
