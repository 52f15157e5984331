import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContentError } from '../src/errors.ts';
import { hashFile } from '../src/hasher.ts';
import { pdqHashImage } from '../src/image.ts';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG header declaring width×height, with a tiny IDAT: a decompression bomb's shape. */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const idat = deflateSync(Buffer.alloc(width + 1)); // one row of zeros; the rest would follow
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

async function failure(p: Promise<unknown>): Promise<ContentError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(ContentError);
    return error as ContentError;
  }
  throw new Error('expected a ContentError');
}

describe('bad input becomes a typed ContentError, never a crash or a hang', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dl-bad-'));
  const path = (name: string) => join(dir, name);

  beforeAll(async () => {
    const jpeg = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3366aa' } })
      .composite([{ input: Buffer.from('<svg width="300" height="200"><circle cx="150" cy="100" r="80" fill="white"/></svg>') }])
      .jpeg()
      .toBuffer();
    writeFileSync(path('good.jpg'), jpeg);
    writeFileSync(path('truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const png = await sharp(jpeg).png().toBuffer();
    writeFileSync(path('truncated.png'), png.subarray(0, Math.floor(png.length * 0.6)));
    writeFileSync(path('empty.jpg'), Buffer.alloc(0));
    writeFileSync(path('notes.jpg'), 'this is not an image, whatever its name says\n'.repeat(20));
    writeFileSync(path('random.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 255)));
    writeFileSync(path('bomb.png'), bombPng(100_000, 100_000));
    writeFileSync(path('drawing.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64"/></svg>');
    writeFileSync(path('fake.mp4'), Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42'), Buffer.alloc(64, 0x42)]));
    mkdirSync(path('folder.jpg'));
  });

  it('hashes the good image (the control)', async () => {
    const r = await hashFile(path('good.jpg'));
    expect(r.kind).toBe('image');
    expect(r.quality).toBeGreaterThanOrEqual(50);
  });

  it.each([
    ['empty.jpg', 'empty_file', /empty \(0 bytes\)/],
    ['truncated.jpg', 'corrupt_content', /truncated or corrupt/],
    ['truncated.png', 'corrupt_content', /truncated or corrupt/],
    ['notes.jpg', 'unsupported_format', /neither an image \(jpeg, png.*\) nor a video ffmpeg can read/],
    ['random.bin', 'unsupported_format', /neither an image .* nor a video/],
    ['fake.mp4', 'unsupported_format', /neither an image .* nor a video/],
    ['drawing.svg', 'unsupported_format', /is svg; supported image formats are jpeg/],
    ['folder.jpg', 'unsupported_format', /not a regular file/],
    ['missing.jpg', 'unsupported_format', /no such file/],
  ])('hashFile(%s) → %s', async (name, code, message) => {
    const error = await failure(hashFile(path(name)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    const bytes = readFileSync(path('bomb.png'));
    expect(bytes.length).toBeLessThan(1000);
    const error = await failure(pdqHashImage(bytes));
    expect(error.code).toBe('too_many_pixels');
    expect(error.message).toMatch(/100000×100000 pixels, over the 100000000-pixel limit/);
    expect((await failure(hashFile(path('bomb.png')))).code).toBe('too_many_pixels');
    // a lower limit applies to ordinary images too
    expect((await failure(pdqHashImage(path('good.jpg'), { maxPixels: 1000 }))).code).toBe('too_many_pixels');
  });

  it('names unsupported image formats when asked to hash them as images', async () => {
    const error = await failure(pdqHashImage(path('drawing.svg')));
    expect(error.code).toBe('unsupported_format');
    expect(error.message).toMatch(/is svg; supported image formats are jpeg, png/);
    expect((await failure(pdqHashImage(new Uint8Array(0)))).code).toBe('empty_file');
    expect((await failure(pdqHashImage(path('notes.jpg')))).code).toBe('unsupported_format');
  });
});
