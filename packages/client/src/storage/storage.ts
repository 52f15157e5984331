/**
 * The SDK's persistence seam: a small byte-valued key–value store with atomic batches, so a group's new
 * MLS state and the position it reached are written together or not at all (a crash between the two
 * would replay or skip a message). Backends: MemoryStorage (here), IndexedDbStorage (browsers,
 * indexedDb.ts) and SqliteStorage (Node, node/sqliteStorage.ts, kept apart so the core never imports
 * Node-only modules).
 */
export interface StorageWrite {
  key: string;
  /** undefined deletes the key. */
  value: Uint8Array | undefined;
}

export interface Storage {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys starting with `prefix`, in lexicographic order. */
  keys(prefix: string): Promise<string[]>;
  /** All writes apply atomically. */
  write(writes: StorageWrite[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryStorage implements Storage {
  private readonly map = new Map<string, Uint8Array>();
  async get(key: string) {
    return this.map.get(key)?.slice();
  }
  async keys(prefix: string) {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async write(writes: StorageWrite[]) {
    for (const w of writes) {
      if (w.value === undefined) this.map.delete(w.key);
      else this.map.set(w.key, w.value.slice());
    }
  }
  async close() {}
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** JSON helpers over a Storage. */
export async function getJson<T>(storage: Storage, key: string): Promise<T | undefined> {
  const bytes = await storage.get(key);
  return bytes ? (JSON.parse(decoder.decode(bytes)) as T) : undefined;
}

export function jsonWrite(key: string, value: unknown): StorageWrite {
  return { key, value: encoder.encode(JSON.stringify(value)) };
}
