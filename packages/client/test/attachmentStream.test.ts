/**
 * Streamed attachments (src/envelope/attachmentStream.ts, content/messages.ts): the chunked sealing refuses
 * every alteration (a flipped bit, reordered, dropped or extra chunks, another key), a real server carries a
 * file and its sender-made image preview, a blob the server swaps is refused, and a file far larger than a
 * memory budget goes through both sides in a child process whose live memory stays a fraction of the file.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentRejected } from '../src/envelope/attachment.ts';
import { CHUNK_BYTES, collect, openStream, sealedSize, sealStream, type StreamedAttachment } from '../src/envelope/attachmentStream.ts';
import { imagePreview } from '../src/node/imagePreview.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const randomBytes = (n: number) => new Uint8Array(nodeRandomBytes(n));
import { register, server, uniqueName } from './harness.ts';

/** Cuts bytes into pieces of random sizes, as a network or a file stream would. */
function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; ) {
    const n = 1 + Math.floor(Math.random() * 100_000);
    yield bytes.subarray(offset, offset + n);
    offset += n;
  }
}

async function seal(file: Uint8Array): Promise<{ sealed: Uint8Array; attachment: StreamedAttachment }> {
  const key = randomBytes(32);
  let digest = '';
  const sealed = await collect(sealStream(pieces(file), key, file.length, (d) => (digest = d)));
  return { sealed, attachment: { blob: bytesToHex(sha256(sealed)), key, sha256: digest, size: file.length } };
}

const open = (sealed: Uint8Array, attachment: StreamedAttachment) => collect(openStream(pieces(sealed), attachment));

describe('chunked sealing', () => {
  it('round-trips at every boundary size, in bounded pieces, deterministically under one key', async () => {
    for (const size of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 5]) {
      const file = randomBytes(size);
      const { sealed, attachment } = await seal(file);
      expect(sealed.length).toBe(sealedSize(size));
      expect(await open(sealed, attachment)).toEqual(file);
      // Same key, same file: the same bytes (what lets the sender hash first and upload second).
      expect(await collect(sealStream([file], attachment.key, size))).toEqual(sealed);
    }
  });

  it('refuses a flipped bit, reordered, dropped and extra chunks, another key, and a source of the wrong length', async () => {
    const file = randomBytes(3 * CHUNK_BYTES + 5);
    const { sealed, attachment } = await seal(file);
    const c = CHUNK_BYTES + 16;
    const chunk = (i: number) => sealed.subarray(32 + i * c, Math.min(sealed.length, 32 + (i + 1) * c));
    const join = (...parts: Uint8Array[]) => collect(parts);
    const flipped = sealed.slice();
    flipped[32 + c + 7]! ^= 1;
    await expect(open(flipped, attachment)).rejects.toThrow(/chunk 1 .* does not verify/);
    await expect(open(await join(sealed.subarray(0, 32), chunk(1), chunk(0), chunk(2), chunk(3)), attachment)).rejects.toThrow(/chunk 0 .* does not verify/);
    // Truncated at a chunk boundary: chunk 2 was not sealed as the last one.
    await expect(open(sealed.subarray(0, 32 + 3 * c), { ...attachment, size: 3 * CHUNK_BYTES })).rejects.toThrow(/chunk 2 .* does not verify/);
    await expect(open(sealed.subarray(0, sealed.length - 1), attachment)).rejects.toThrow(/truncated/);
    await expect(open(await join(sealed, new Uint8Array(1)), attachment)).rejects.toThrow(/longer than announced/);
    await expect(open(sealed, { ...attachment, key: randomBytes(32) })).rejects.toThrow(/key commitment/);
    await expect(open(sealed, { ...attachment, blob: '00'.repeat(32) })).rejects.toThrow(AttachmentRejected);
    await expect(collect(sealStream([file], attachment.key, file.length - 1))).rejects.toThrow(/longer than the/);
    await expect(collect(sealStream([file], attachment.key, file.length + 1))).rejects.toThrow(/not the .* announced/);
  });
});

describe('attachments against the real server', () => {
  let srv: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    srv = await server();
  });
  afterAll(async () => {
    await srv.close();
  });

  it('an image goes with a preview made on the sender; the recipient streams both, checked; a blob the server swaps is refused', { timeout: 120_000 }, async () => {
    const alice = await register(srv.url, uniqueName('al'), 6, { imagePreview: (source) => imagePreview(source) });
    const bob = await register(srv.url, uniqueName('bo'));
    const chat = await alice.messenger.createChat(bob.messenger.username);
    await bob.messenger.sync();
    const photo = new Uint8Array(await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 200, g: 40, b: 90 } } }).png({ compressionLevel: 0 }).toBuffer());
    await alice.messenger.sendFileStream(chat, { open: () => pieces(photo), size: photo.length, name: 'photo.png', mime: 'image/png' }, 'look');
    await bob.messenger.sync();
    const message = bob.messages.at(-1)!;
    if (message.content.type !== 'file') throw new Error('expected a file');
    const file = message.content;
    expect(file).toMatchObject({ name: 'photo.png', size: photo.length, chunked: true, caption: 'look', preview: { mime: 'image/webp', width: 320, height: 213 } });

    const preview = await bob.messenger.downloadPreview(chat, file);
    const meta = await sharp(preview!.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 320, 213]);
    expect(preview!.bytes.length).toBeLessThan(photo.length / 50);
    expect(await bob.messenger.downloadFile(chat, file)).toEqual(photo);

    // A file that is not an image it can decode goes without a preview.
    await alice.messenger.sendFileStream(chat, { open: () => [new Uint8Array(100)], size: 100, name: 'x.png', mime: 'image/png' });
    await bob.messenger.sync();
    const notImage = bob.messages.at(-1)!.content;
    expect(notImage.type === 'file' && notImage.preview).toBe(undefined);

    // The server (or its disk) swaps the blob for other bytes of the same length: refused, nothing kept.
    const path = join(srv.ctx.config.dataDir, 'blobs', file.blob.slice(0, 2), file.blob);
    writeFileSync(path, randomBytes(sealedSize(photo.length)));
    await expect(bob.messenger.downloadFile(chat, file)).rejects.toThrow(/key commitment/);
  });
});

describe('memory', () => {
  it('a 128 MiB file is sent and received while the process never holds half of it', { timeout: 600_000 }, async () => {
    const size = 128 * 1024 * 1024;
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'fixtures/bigAttachment.ts')], {
      env: { ...process.env, SIZE_MB: String(size / 1024 / 1024) },
      cwd: join(import.meta.dirname, '..'),
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { size: number; length: number; same: boolean; liveBefore: number; peakLive: number; samples: number };
    expect(result.length).toBe(size);
    expect(result.same).toBe(true);
    // Sampled on both upload passes and the download (up to 32 each): a sampler that never ran proves nothing.
    expect(result.samples).toBeGreaterThanOrEqual(3 * 32);
    // Live memory (after a full GC, so load cannot inflate it) grows by a fraction of the file (about 24 MiB
    // measured, the same at any offset: stream buffers, not the file): anything that held the file whole —
    // sender, server or receiver — would hold at least its size.
    expect(result.peakLive - result.liveBefore).toBeLessThan(size / 2);
  });
});
