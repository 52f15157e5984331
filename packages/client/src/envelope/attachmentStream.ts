/**
 * Streamed attachments: the file is sealed in 64 KiB chunks so neither side ever holds it whole.
 *
 * Construction: STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
 * Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7), as age and Tink use it, over XChaCha20-Poly1305
 * (draft-irtf-cfrg-xchacha-03), made key-committing as our envelope AEAD is (Albertini et al., USENIX
 * Security 2022, §5.2). From the attachment's fresh random key K:
 *   encKey     = HMAC-SHA256(K, "doublelock/attachment-stream/v1/enc")
 *   commitment = HMAC-SHA256(K, "doublelock/attachment-stream/v1/com")
 *   chunk i    = XChaCha20-Poly1305(encKey, nonce = 0^15 ‖ last ‖ uint64be(i), aad = "doublelock/attachment-stream/v1")
 * Sealed layout: commitment (32) ‖ chunk 0 ‖ … ‖ chunk n-1, every chunk but the last holding exactly
 * CHUNK_BYTES of plaintext (+16 tag); an empty file is one empty last chunk. The last-chunk flag in the
 * nonce stops truncation and the counter stops reordering; the commitment, checked before any chunk is
 * opened, means no second key opens these bytes (invisible salamanders, Dodis et al. 2018).
 *
 * K is random per attachment, so nonces are deterministic: sealing the same file twice with the same key
 * gives the same bytes. That lets a sender hash the sealed stream in a first pass (the blob's address) and
 * upload it in a second, each in bounded memory.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { AttachmentRejected } from './attachment.ts';
import { equalBytes } from './bytes.ts';

export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const COMMITMENT_BYTES = 32;
const KEY_BYTES = 32;
const encoder = new TextEncoder();
const ENC_LABEL = encoder.encode('doublelock/attachment-stream/v1/enc');
const COM_LABEL = encoder.encode('doublelock/attachment-stream/v1/com');
const AAD = encoder.encode('doublelock/attachment-stream/v1');

/** Bytes from a file, a fetch body, or anything else that yields chunks (of any size). */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | ReadableStream<Uint8Array>;

export function chunkCount(size: number): number {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

/** Size of the sealed blob for a plaintext of `size` bytes. */
export function sealedSize(size: number): number {
  return COMMITMENT_BYTES + size + TAG_BYTES * chunkCount(size);
}

function keys(key: Uint8Array) {
  if (key.length !== KEY_BYTES) throw new RangeError(`attachment key must be ${KEY_BYTES} bytes, got ${key.length}`);
  return { encKey: hmac(sha256, key, ENC_LABEL), commitment: hmac(sha256, key, COM_LABEL) };
}

function nonce(index: number, last: boolean): Uint8Array {
  const n = new Uint8Array(24);
  n[15] = last ? 1 : 0;
  new DataView(n.buffer).setBigUint64(16, BigInt(index));
  return n;
}

/** Iterates a ReadableStream without relying on its async iterator (not in every browser). */
export async function* iterate(source: ByteSource): AsyncGenerator<Uint8Array> {
  if (!('getReader' in source)) {
    yield* source;
    return;
  }
  const reader = source.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Cuts a byte source into pieces of exactly `size` bytes (the last one shorter); never holds more than one piece. */
async function* rechunk(source: ByteSource, size: number): AsyncGenerator<Uint8Array> {
  let piece = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of iterate(source)) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(size - filled, chunk.length - offset);
      piece.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === size) {
        yield piece;
        piece = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield piece.subarray(0, filled);
}

/**
 * Seals `source` (which must yield exactly `size` bytes) chunk by chunk; `digest` receives the plaintext's
 * SHA-256 (hex) once the source is exhausted.
 */
export async function* sealStream(source: ByteSource, key: Uint8Array, size: number, digest?: (sha256hex: string) => void): AsyncGenerator<Uint8Array> {
  const { encKey, commitment } = keys(key);
  const total = chunkCount(size);
  const plainHash = sha256.create();
  yield commitment;
  let index = 0;
  let seen = 0;
  for await (const piece of rechunk(source, CHUNK_BYTES)) {
    seen += piece.length;
    if (seen > size) throw new RangeError(`the file is longer than the ${size} bytes announced`);
    plainHash.update(piece);
    yield xchacha20poly1305(encKey, nonce(index, index === total - 1), AAD).encrypt(piece);
    index++;
  }
  if (seen !== size) throw new RangeError(`the file has ${seen} bytes, not the ${size} announced`);
  if (size === 0) yield xchacha20poly1305(encKey, nonce(0, true), AAD).encrypt(new Uint8Array(0));
  digest?.(bytesToHex(plainHash.digest()));
}

export interface StreamedAttachment {
  /** SHA-256 (hex) of the sealed blob: its address on the server. */
  blob: string;
  key: Uint8Array;
  /** SHA-256 (hex) and length of the plaintext. */
  sha256: string;
  size: number;
}

/**
 * Opens a sealed blob as it arrives: yields each chunk's plaintext once its tag verifies. After the last
 * chunk the blob's hash and the plaintext's size and hash are checked too; a failure at any point throws
 * (so a consumer writing to disk must keep the result only when the iteration ends without an error).
 */
export async function* openStream(sealed: ByteSource, attachment: StreamedAttachment): AsyncGenerator<Uint8Array> {
  const { encKey, commitment } = keys(attachment.key);
  const total = chunkCount(attachment.size);
  const blobHash = sha256.create();
  const plainHash = sha256.create();
  const reader = new ExactReader(sealed, (bytes) => blobHash.update(bytes));
  // The commitment is checked before anything is opened.
  if (!equalBytes(await reader.read(COMMITMENT_BYTES), commitment)) throw new AttachmentRejected('key commitment does not match: this key did not seal this attachment');
  for (let index = 0; index < total; index++) {
    const last = index === total - 1;
    const expected = (last ? attachment.size - index * CHUNK_BYTES : CHUNK_BYTES) + TAG_BYTES;
    const chunk = await reader.read(expected);
    if (chunk.length < expected) throw new AttachmentRejected('the attachment is truncated');
    let plain: Uint8Array;
    try {
      plain = xchacha20poly1305(encKey, nonce(index, last), AAD).decrypt(chunk);
    } catch {
      throw new AttachmentRejected(`chunk ${index} of the attachment does not verify: altered, reordered or truncated`);
    }
    plainHash.update(plain);
    yield plain;
  }
  if ((await reader.read(1)).length > 0) throw new AttachmentRejected('the attachment is longer than announced');
  if (bytesToHex(blobHash.digest()) !== attachment.blob) throw new AttachmentRejected('the downloaded blob does not have the hash named in the message');
  if (bytesToHex(plainHash.digest()) !== attachment.sha256) throw new AttachmentRejected('the decrypted attachment does not match its hash');
}

/** Reads exactly n bytes at a time from a source cut anywhere (fewer only at its end); `see` gets every byte once. */
class ExactReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  constructor(source: ByteSource, private readonly see: (bytes: Uint8Array) => void) {
    this.source = iterate(source);
  }
  async read(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.pending.length === 0) {
        const { done, value } = await this.source.next();
        if (done) return out.subarray(0, filled);
        this.see(value);
        this.pending = value;
      }
      const take = Math.min(n - filled, this.pending.length);
      out.set(this.pending.subarray(0, take), filled);
      this.pending = this.pending.subarray(take);
      filled += take;
    }
    return out;
  }
}

/** Collects a byte source (for small things only: previews, tests, callers that want the whole file). */
export async function collect(source: ByteSource): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of iterate(source)) {
    parts.push(part);
    length += part.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A ReadableStream over an async iterable (for fetch bodies; `ReadableStream.from` is not everywhere). */
export function toReadableStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}
