/**
 * Local blob store for encrypted attachments: files named by their SHA-256. Uploads stream to a temp
 * file while being hashed and counted, and are renamed into place only if the hash matches, so a blob
 * is never half-written and never held whole in memory.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { DomainError, ErrorCode } from '@doublelock/protocol';
import { createReadStream, createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { MediaBlobStore, StagedBlob } from '@doublelock/channels';

export interface BlobStore extends MediaBlobStore {
  put(hash: string, body: Readable, maxBytes: number): Promise<{ size: number }>;
  open(hash: string): Promise<{ size: number; stream: Readable } | undefined>;
}

export class LocalBlobStore implements BlobStore {
  constructor(private readonly dir: string) {
    mkdirSync(join(dir, 'tmp'), { recursive: true });
  }

  #path(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async put(hash: string, body: Readable, maxBytes: number): Promise<{ size: number }> {
    const tmp = join(this.dir, 'tmp', `${hash}.${randomBytes(6).toString('hex')}`);
    const hasher = sha256.create();
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > maxBytes) throw new DomainError(ErrorCode.payloadTooLarge, `Attachments are limited to ${maxBytes} bytes.`);
            hasher.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
      const actual = bytesToHex(hasher.digest());
      if (actual !== hash) throw new DomainError(ErrorCode.hashMismatch, `The uploaded bytes hash to ${actual}, not ${hash}.`);
      const final = this.#path(hash);
      mkdirSync(join(this.dir, hash.slice(0, 2)), { recursive: true });
      await rename(tmp, final);
      return { size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Public media, whose hash is not known in advance: streamed to a staging file while hashed and
   * counted; `commit` moves it into place (content-addressed, so committing twice is harmless).
   */
  async stage(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<StagedBlob> {
    const tmp = join(this.dir, 'tmp', `media.${randomBytes(9).toString('hex')}`);
    const hasher = sha256.create();
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Uint8Array>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > maxBytes) throw new DomainError(ErrorCode.payloadTooLarge, `Media is limited to ${maxBytes} bytes.`);
            hasher.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp),
      );
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const hash = bytesToHex(hasher.digest());
    return {
      path: tmp,
      sha256: hash,
      size,
      commit: async () => {
        mkdirSync(join(this.dir, hash.slice(0, 2)), { recursive: true });
        await rename(tmp, this.#path(hash));
      },
      discard: () => rm(tmp, { force: true }),
    };
  }

  async path(hash: string): Promise<string | undefined> {
    if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
    const path = this.#path(hash);
    return existsSync(path) ? path : undefined;
  }

  async open(hash: string): Promise<{ size: number; stream: Readable } | undefined> {
    const path = this.#path(hash);
    if (!existsSync(path)) return undefined;
    const { size } = await stat(path);
    return { size, stream: createReadStream(path) };
  }
}
