/**
 * `doublelock hash FILE…`: the hasher on the command line. Images get PDQ and its quality, videos vPDQ
 * (one PDQ a sampled frame, letterbox bars removed first), every file MD5 and SHA-256. With --json, one
 * JSON object a line: {"file","pdq","quality","md5","sha256"} (+ "kind", and "vpdq" for videos).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ContentError, formatVpdqHashFile, formatVpdqSignal, hashFile, type ContentSignals } from '@doublelock/moderation';
import type { Command } from 'commander';

interface HashOptions {
  json?: boolean;
  fps: string;
  letterbox: boolean;
  vpdqDir?: string;
  dihedral?: boolean;
}

export function hashRecord(file: string, s: ContentSignals): Record<string, unknown> {
  return {
    file,
    kind: s.kind,
    pdq: s.pdq?.toHex() ?? null,
    ...(s.pdqVariants && { pdq_variants: Object.fromEntries(Object.entries(s.pdqVariants).map(([k, h]) => [k, h.toHex()])) }),
    quality: s.quality ?? null,
    md5: s.md5,
    sha256: s.sha256,
    ...(s.vpdq && { vpdq: JSON.parse(formatVpdqSignal(s.vpdq)) as string[], crop: s.crop }),
  };
}

export function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not "${value}"`);
  return n;
}

export function register(program: Command): void {
  program
    .command('hash')
    .description('hash images (PDQ) and videos (vPDQ), with MD5 and SHA-256')
    .argument('<files...>', 'images or videos')
    .option('--json', 'one JSON object a line: {"file","pdq","quality","md5","sha256"}')
    .option('--fps <n>', 'video frames hashed per second', '1')
    .option('--no-letterbox', 'hash video frames without removing letterbox bars')
    .option('--dihedral', 'also print the PDQ hashes of the eight rotations and flips of images')
    .option('--vpdq-dir <dir>', "also write each video's vPDQ hash file (vpdq-hash-video format) here")
    .action(async (files: string[], options: HashOptions) => {
      const fps = positiveNumber('--fps', options.fps);
      let failed = 0;
      for (const file of files) {
        try {
          const s = await hashFile(file, { dihedral: options.dihedral, video: { framesPerSecond: fps, removeLetterbox: options.letterbox } });
          if (s.vpdq && options.vpdqDir) {
            mkdirSync(options.vpdqDir, { recursive: true });
            writeFileSync(join(options.vpdqDir, `${basename(file)}.txt`), formatVpdqHashFile(s.vpdq));
          }
          if (options.json) {
            process.stdout.write(`${JSON.stringify(hashRecord(file, s))}\n`);
          } else if (s.kind === 'image') {
            process.stdout.write(`${file}\n  pdq     ${s.pdq!.toHex()}  quality ${s.quality}${s.quality! < 50 ? ' (below 50: never auto-actioned)' : ''}\n  md5     ${s.md5}\n  sha256  ${s.sha256}\n`);
            for (const [variant, h] of Object.entries(s.pdqVariants ?? {})) if (variant !== 'original') process.stdout.write(`  ${variant.padEnd(10)} ${h.toHex()}\n`);
          } else {
            const unique = new Set(s.vpdq!.map((f) => f.hash.toHex())).size;
            const crop = s.crop!;
            const bars = crop.width !== s.width || crop.height !== s.height ? `, bars removed: content ${crop.width}×${crop.height} at ${crop.x},${crop.y}` : '';
            process.stdout.write(`${file}\n  vpdq    ${s.vpdq!.length} frames (${unique} unique) of ${s.width}×${s.height}${bars}\n  md5     ${s.md5}\n  sha256  ${s.sha256}\n`);
          }
        } catch (error) {
          failed++;
          const code = error instanceof ContentError ? error.code : 'error';
          const message = error instanceof Error ? error.message : String(error);
          if (options.json) process.stdout.write(`${JSON.stringify({ file, error: { code, message } })}\n`);
          process.stderr.write(`doublelock hash: ${file}: ${message}\n`);
        }
      }
      if (failed) process.exitCode = 1;
    });
}
