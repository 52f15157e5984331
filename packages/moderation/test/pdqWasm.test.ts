import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeReferenceSize, referenceResize } from '../src/image.ts';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

describe('PDQ in WebAssembly', () => {
  it('ships the build of its AssemblyScript source (npm run build:wasm reproduces jarosz.wasm byte for byte)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dl-wasm-'));
    try {
      const asc = fileURLToPath(new URL('../../../node_modules/assemblyscript/bin/asc.js', import.meta.url));
      const built = spawnSync(process.execPath, [asc, ...buildArgs(), '-o', join(dir, 'jarosz.wasm')], { cwd: PACKAGE, encoding: 'utf8' });
      expect(built.status, built.stderr).toBe(0);
      expect(Buffer.compare(readFileSync(join(dir, 'jarosz.wasm')), readFileSync(join(PACKAGE, 'src', 'jarosz.wasm')))).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resamples large images in libvips to exactly referenceResize's pixels, at widths where the plain scale misses a column", async () => {
    // 1488 px: x = 32 maps to 93 exactly; libvips's inverse of 512/1488 lands just below it (the nudge's reason)
    for (const [width, height] of [[1488, 600], [2994, 530], [700, 3532]] as const) {
      const noise = new Uint8Array(width * height * 3);
      let x = width * 7919 + height;
      for (let i = 0; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
      const png = await sharp(noise, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
      const resampled = await decodeReferenceSize(png);
      expect(resampled).toMatchObject({ width, height, image: { width: 512, height: 512, channels: 3 } });
      const expected = referenceResize(await decodeImage(png));
      expect(Buffer.compare(Buffer.from(resampled.image.pixels), Buffer.from(expected.pixels)), `${width}×${height}`).toBe(0);
    }
  });
});

/** The asc arguments of the package's build:wasm script. */
function buildArgs(): string[] {
  const script = (JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['build:wasm']!;
  return script.replace(/^asc\s+/, '').replace(/\s+-o\s+\S+$/, '').split(/\s+/);
}
