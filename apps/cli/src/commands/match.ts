/**
 * `doublelock match FILE… --bank NAME`: hashes files (or takes URLs with --url) and matches them against
 * banks. Each match says whether policy may act on it automatically: never for PDQ quality below 50.
 */
import { ContentError, Matcher, hashFile, type SignalMatch } from '@doublelock/moderation';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { storeOptions, withBanks, type StoreOptions } from './bank.ts';
import { positiveNumber } from './hash.ts';

interface MatchOptions extends StoreOptions {
  bank: string[];
  json?: boolean;
  url?: boolean;
  dihedral?: boolean;
  fps: string;
}

function describe(m: SignalMatch): string {
  const how = m.distance !== undefined ? `distance ${m.distance}${m.variant && m.variant !== 'original' ? ` (${m.variant})` : ''}` : m.vpdq ? `${m.vpdq.queryMatchPercent.toFixed(1)}% / ${m.vpdq.targetMatchPercent.toFixed(1)}% of frames` : 'exact';
  const action = m.autoAction ? 'auto-action allowed' : `review only (${m.reason})`;
  return `  MATCH ${m.bank} ${m.type} #${m.signalId} ${how}  [${m.labels.join(' ') || 'no labels'}]  ${action}`;
}

export function register(program: Command): void {
  storeOptions(
    program
      .command('match')
      .description('match files (or URLs) against moderation banks')
      .argument('<items...>', 'images, videos, or URLs with --url')
      .requiredOption('--bank <name...>', 'bank(s) to match against'),
  )
    .option('--url', 'the items are URLs, matched against url signals')
    .option('--dihedral', 'also match rotated and mirrored copies of images (all eight PDQ dihedral variants)')
    .option('--json', 'one JSON object a line: {"file","matches":[…]}')
    .option('--fps <n>', 'video frames hashed per second', '1')
    .action(async (items: string[], options: MatchOptions) => {
      const fps = positiveNumber('--fps', options.fps);
      let failed = 0;
      await withBanks(options, async (banks) => {
        // Loading millions of hashes takes seconds: show it on a terminal.
        const total = (await banks.listBanks()).filter((b) => options.bank.includes(b.name)).reduce((a, b) => a + Object.values(b.counts).reduce((x, y) => x + (y ?? 0), 0), 0);
        const bar = total > 100_000 ? new SingleBar({ format: 'loading banks [{bar}] {value}/{total} signals', stream: process.stderr }, Presets.shades_classic) : undefined;
        bar?.start(total, 0);
        const matcher = await Matcher.load(banks, options.bank, (loaded) => bar?.update(loaded)).finally(() => bar?.stop());
        for (const item of items) {
          try {
            const matches = options.url ? await matcher.match({ url: item }) : await matcher.match(await hashFile(item, { dihedral: options.dihedral, video: { framesPerSecond: fps } }));
            if (options.json) process.stdout.write(`${JSON.stringify({ file: item, matches })}\n`);
            else process.stdout.write(`${item}: ${matches.length ? `${matches.length} match${matches.length > 1 ? 'es' : ''}` : 'no match'}\n${matches.map((m) => `${describe(m)}\n`).join('')}`);
          } catch (error) {
            failed++;
            const message = error instanceof Error ? error.message : String(error);
            if (options.json) process.stdout.write(`${JSON.stringify({ file: item, error: { code: error instanceof ContentError ? error.code : 'error', message } })}\n`);
            process.stderr.write(`doublelock match: ${item}: ${message}\n`);
          }
        }
      });
      if (failed) process.exitCode = 1;
    });
}
