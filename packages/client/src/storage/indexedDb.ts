/**
 * Browser backend: one IndexedDB object store; a batch is one readwrite transaction (atomic by the
 * IndexedDB specification, W3C Indexed Database API 3.0 §2.7).
 */
import type { Storage, StorageWrite } from './storage.ts';

const STORE = 'kv';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

/** Where IndexedDB comes from: the browser's globals by default. */
export interface IndexedDbEnvironment {
  indexedDB: IDBFactory;
  IDBKeyRange: typeof IDBKeyRange;
}

export class IndexedDbStorage implements Storage {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly env: IndexedDbEnvironment,
  ) {}

  /** Opens (creating if needed) the database `name`. */
  static async open(name: string, env: IndexedDbEnvironment = globalThis as unknown as IndexedDbEnvironment): Promise<IndexedDbStorage> {
    if (!env.indexedDB || !env.IDBKeyRange) throw new Error('IndexedDB is not available in this environment');
    const opening = env.indexedDB.open(name, 1);
    opening.onupgradeneeded = () => {
      if (!opening.result.objectStoreNames.contains(STORE)) opening.result.createObjectStore(STORE);
    };
    return new IndexedDbStorage(await request(opening), env);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = (await request(this.db.transaction(STORE, 'readonly').objectStore(STORE).get(key))) as Uint8Array | undefined;
    return value ? new Uint8Array(value) : undefined;
  }

  async keys(prefix: string): Promise<string[]> {
    const range = this.env.IDBKeyRange.bound(prefix, prefix + '\uffff');
    const keys = await request(this.db.transaction(STORE, 'readonly').objectStore(STORE).getAllKeys(range));
    return (keys as string[]).sort();
  }

  write(writes: StorageWrite[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      for (const w of writes) {
        if (w.value === undefined) store.delete(w.key);
        else store.put(w.value.slice(), w.key);
      }
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
