/**
 * The messenger's storage, sealed: every value the SDK stores (the device's keys, MLS group state,
 * messages) is encrypted with AES-GCM (NIST SP 800-38D) under a 256-bit wrapping key that WebCrypto holds
 * non-extractable in IndexedDB, with the value's storage key as associated data, so a sealed value cannot
 * be moved to another key. What lies in IndexedDB on disk (or in a copied browser profile) opens nothing
 * without that key, and no script can read the key out; script on this page can still ask it to decrypt,
 * which is what running the messenger here means. Key names (e.g. a group's id) are not sealed.
 *
 * Format of a sealed value: 0x01 ‖ IV (12 bytes, random) ‖ ciphertext with its 16-byte tag. A browser
 * that stored raw values before sealing existed is sealed in place, in one atomic write, on first open.
 */
import type { Storage, StorageWrite } from '@doublelock/client';

const VERSION = 1;
const IV_BYTES = 12;
/** Stored raw: which format the values are in. */
export const SEALED_MARKER = 'web/sealed';
const KEY_DATABASE = 'doublelock-web-keys';
const text = new TextEncoder();

function keyStore(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(KEY_DATABASE, 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** The wrapping key of `name`, made (non-extractable) the first time. */
export async function wrappingKey(name: string): Promise<CryptoKey> {
  const db = await keyStore();
  try {
    const existing = (await request(db.transaction('keys', 'readonly').objectStore('keys').get(name))) as CryptoKey | undefined;
    if (existing) return existing;
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    // add, not put: two tabs opening at once keep the first key, and the loser reads it back
    await request(db.transaction('keys', 'readwrite').objectStore('keys').add(key, name)).catch(() => undefined);
    return (await request(db.transaction('keys', 'readonly').objectStore('keys').get(name))) as CryptoKey;
  } finally {
    db.close();
  }
}

export class SealedStorage implements Storage {
  private constructor(
    private readonly inner: Storage,
    private readonly key: CryptoKey,
  ) {}

  static async open(inner: Storage, key: CryptoKey): Promise<SealedStorage> {
    const sealed = new SealedStorage(inner, key);
    if (!(await inner.get(SEALED_MARKER))) {
      const legacy = (await inner.keys('')).filter((k) => k !== SEALED_MARKER);
      const writes: StorageWrite[] = [];
      for (const k of legacy) writes.push({ key: k, value: await sealed.seal(k, (await inner.get(k))!) });
      await inner.write([...writes, { key: SEALED_MARKER, value: new Uint8Array([VERSION]) }]);
    }
    return sealed;
  }

  private async seal(key: string, value: Uint8Array): Promise<Uint8Array> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: text.encode(key) }, this.key, value as BufferSource));
    const out = new Uint8Array(1 + IV_BYTES + ciphertext.length);
    out[0] = VERSION;
    out.set(iv, 1);
    out.set(ciphertext, 1 + IV_BYTES);
    return out;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const stored = await this.inner.get(key);
    if (!stored) return undefined;
    if (stored[0] !== VERSION || stored.length < 1 + IV_BYTES + 16) throw new Error(`Stored value ${key} is not sealed: this browser's messenger data is damaged.`);
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: stored.slice(1, 1 + IV_BYTES), additionalData: text.encode(key) }, this.key, stored.slice(1 + IV_BYTES)));
    } catch {
      throw new Error(`Stored value ${key} does not open with this browser's key: it was changed or moved.`);
    }
  }

  async keys(prefix: string): Promise<string[]> {
    return (await this.inner.keys(prefix)).filter((k) => k !== SEALED_MARKER);
  }

  /** Seals every value first, then writes them in one atomic batch, as the SDK expects. */
  async write(writes: StorageWrite[]): Promise<void> {
    const sealed: StorageWrite[] = [];
    for (const w of writes) {
      if (w.key === SEALED_MARKER) throw new Error(`${SEALED_MARKER} is the sealed storage's own key`);
      sealed.push({ key: w.key, value: w.value === undefined ? undefined : await this.seal(w.key, w.value) });
    }
    await this.inner.write(sealed);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
