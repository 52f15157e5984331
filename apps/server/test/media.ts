/** Test media made on the spot: images with real structure (sharp), videos (ffmpeg). */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/** A deterministic picture: coloured blocks and gradients from a seed (PDQ quality well above 50). */
export async function picture(seed: number, width = 640, height = 480): Promise<Buffer> {
  let s = seed * 2654435761 + 1;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pixels = Buffer.alloc(width * height * 3);
  const blocks = Array.from({ length: 24 }, () => ({ x: rand() * width, y: rand() * height, w: 40 + rand() * 200, h: 40 + rand() * 160, c: [rand() * 255, rand() * 255, rand() * 255] }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = (x / width) * 120;
      let g = (y / height) * 120;
      let b = 60;
      for (const k of blocks) if (x >= k.x && x < k.x + k.w && y >= k.y && y < k.y + k.h) [r, g, b] = k.c as [number, number, number];
      const i = (y * width + x) * 3;
      pixels[i] = r;
      pixels[i + 1] = g;
      pixels[i + 2] = b;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
}

/** The same picture as people re-upload it. */
export const reencoded = (jpeg: Buffer) => sharp(jpeg).jpeg({ quality: 45 }).toBuffer();
export const resized = (jpeg: Buffer) => sharp(jpeg).resize(320, 240).png().toBuffer();
export const mirrored = (jpeg: Buffer) => sharp(jpeg).flop().jpeg({ quality: 90 }).toBuffer();
export const letterboxed = (jpeg: Buffer) => sharp(jpeg).extend({ top: 120, bottom: 120, left: 0, right: 0, background: { r: 0, g: 0, b: 0 } }).jpeg({ quality: 90 }).toBuffer();
export const cropped = async (jpeg: Buffer) => sharp(jpeg).extract({ left: 8, top: 6, width: 624, height: 468 }).jpeg({ quality: 90 }).toBuffer();
/** A flat, featureless image: PDQ quality below 50. */
export const flat = () => sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 120, g: 120, b: 120 } } }).png().toBuffer();
/** 700 bytes that declare 100,000 × 100,000 pixels. */
export const bomb = () => sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer().then(patchPngSize);

function patchPngSize(png: Buffer): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(100_000, 16);
  out.writeUInt32BE(100_000, 20);
  // fix the IHDR CRC so decoders read the header as valid
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

export function hasFfmpeg(): boolean {
  const ok = spawnSync('ffmpeg', ['-version']).status === 0;
  if (!ok && process.env.CI === 'true') throw new Error('ffmpeg is required when CI=true');
  if (!ok) console.warn('\n*** ffmpeg is not installed: the video tests are SKIPPED ***\n');
  return ok;
}

/** A short MP4 of ffmpeg's test pattern (real frames for vPDQ). */
export function video(seconds = 3, source = 'testsrc'): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'doublelock-video-'));
  try {
    const out = join(dir, 'v.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `${source}=size=320x240:rate=10:duration=${seconds}`, '-pix_fmt', 'yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', out]);
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
