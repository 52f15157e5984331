/**
 * Crypto-erasure of epoch shares. A database cannot promise to forget: SQLite keeps old pages in its WAL
 * until a checkpoint overwrites them, PostgreSQL has no secure delete at all, and backups keep whatever
 * they copied. So each epoch's share is stored in the database only encrypted (XChaCha20-Poly1305, the
 * epoch number as associated data) under a per-epoch wrapping key kept in its own small file in the
 * custodian's data folder, outside the database and its backups. Erasing the epoch overwrites that file
 * in place, fsyncs it, unlinks it and fsyncs the folder: whatever copies of the ciphertext remain (WAL,
 * freed pages, replicas, backups) no longer open. What remains is process memory: JavaScript cannot wipe
 * the heap, so a share (or a key) read before erasure may linger in freed memory until it is reused;
 * a production custodian keeps shares in an HSM.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const AAD_LABEL = 'doublelock/custodian/epoch-share-wrap/v1:';

export const WRAP_KEY_DIR = 'epoch-wrap-keys';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class ShareWrapping {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, WRAP_KEY_DIR);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  keyPath(epoch: number): string {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`bad epoch ${epoch}`);
    return join(this.dir, `${epoch}.key`);
  }

  /** The epoch's wrapping key, created (and made durable) on first use. */
  #key(epoch: number, create: boolean): Uint8Array | undefined {
    const path = this.keyPath(epoch);
    if (existsSync(path)) {
      const key = new Uint8Array(readFileSync(path));
      if (key.length !== KEY_BYTES) throw new Error(`${path} is not a ${KEY_BYTES}-byte wrapping key`);
      return key;
    }
    if (!create) return undefined;
    const key = randomBytes(KEY_BYTES);
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, key);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(this.dir);
    return key;
  }

  static #aad(epoch: number): Uint8Array {
    return new TextEncoder().encode(`${AAD_LABEL}${epoch}`);
  }

  /** nonce ‖ ciphertext of the share under the epoch's wrapping key. */
  wrap(epoch: number, share: Uint8Array): Uint8Array {
    const key = this.#key(epoch, true)!;
    const nonce = randomBytes(NONCE_BYTES);
    const sealed = xchacha20poly1305(key, nonce, ShareWrapping.#aad(epoch)).encrypt(share);
    key.fill(0);
    const out = new Uint8Array(NONCE_BYTES + sealed.length);
    out.set(nonce);
    out.set(sealed, NONCE_BYTES);
    return out;
  }

  /** The share, or undefined once the epoch's wrapping key is erased (the ciphertext is then useless). */
  unwrap(epoch: number, wrapped: Uint8Array): Uint8Array | undefined {
    const key = this.#key(epoch, false);
    if (!key) return undefined;
    try {
      return xchacha20poly1305(key, wrapped.subarray(0, NONCE_BYTES), ShareWrapping.#aad(epoch)).decrypt(wrapped.subarray(NONCE_BYTES));
    } finally {
      key.fill(0);
    }
  }

  hasKey(epoch: number): boolean {
    return existsSync(this.keyPath(epoch));
  }

  /** Overwrites the key file in place, fsyncs, unlinks and fsyncs the folder. Idempotent. */
  erase(epoch: number): void {
    const path = this.keyPath(epoch);
    if (!existsSync(path)) return;
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, randomBytes(KEY_BYTES), 0, KEY_BYTES, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    unlinkSync(path);
    fsyncDir(this.dir);
  }
}
