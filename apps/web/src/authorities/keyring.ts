/**
 * Each authority's signing key, kept in this browser only. The Ed25519 key itself is stored encrypted
 * (AES-GCM) under a wrapping key that WebCrypto holds non-extractable in IndexedDB: script on this page can
 * ask it to unwrap for one signature, but nothing can read the wrapping key out, and the stored bytes alone
 * open nothing. The key is made here, or imported from a key file (`{ "id", "secretKey" }`, as
 * `doublelock agency keygen` writes). Signing itself is the lawful-access package's (issueWarrant, …).
 */
import { generateSigningKey } from '@doublelock/lawful-access/signature';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol/encoding';
import { ed25519 } from '@noble/curves/ed25519.js';

export type Role = 'agency' | 'secretary' | 'judge' | 'custodian';
export const ROLE_NAMES: Record<Role, string> = { agency: 'Agency', secretary: 'Secretary of State', judge: 'Judicial Commissioner', custodian: 'custodian operator' };

interface StoredKey {
  id: string;
  publicKey: string;
  iv: Uint8Array;
  wrapped: ArrayBuffer;
  wrappingKey: CryptoKey;
}

export interface KeyInfo {
  id: string;
  publicKey: string;
}

function db(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('doublelock-authorities', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('keys');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await db();
  return new Promise((resolve, reject) => {
    const request = fn(d.transaction('keys', mode).objectStore('keys'));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function keyInfo(role: Role): Promise<KeyInfo | undefined> {
  const stored = await tx<StoredKey | undefined>('readonly', (s) => s.get(role) as IDBRequest<StoredKey | undefined>);
  return stored && { id: stored.id, publicKey: stored.publicKey };
}

async function store(role: Role, id: string, secretKey: Uint8Array): Promise<KeyInfo> {
  const wrappingKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const wrapped = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wrappingKey, secretKey as BufferSource);
  const record: StoredKey = { id, publicKey: toBase64Url(ed25519.getPublicKey(secretKey)), iv, wrapped, wrappingKey };
  secretKey.fill(0);
  await tx('readwrite', (s) => s.put(record, role));
  return { id: record.id, publicKey: record.publicKey };
}

export function createKey(role: Role, id: string): Promise<KeyInfo> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(id)) throw new Error('An id has letters, digits, . _ : - (at most 64), e.g. sos-1.');
  return store(role, id, generateSigningKey().secretKey);
}

export async function importKeyFile(role: Role, file: File): Promise<KeyInfo> {
  let parsed: { id?: unknown; secretKey?: unknown };
  try {
    parsed = JSON.parse(await file.text()) as typeof parsed;
  } catch {
    throw new Error(`${file.name} is not a key file (JSON with "id" and "secretKey").`);
  }
  if (typeof parsed.id !== 'string' || typeof parsed.secretKey !== 'string') throw new Error(`${file.name} is not a key file: it needs "id" and "secretKey".`);
  const secret = fromBase64Url(parsed.secretKey);
  if (secret.length !== 32) throw new Error(`${file.name}: the secret key must be 32 bytes.`);
  return store(role, parsed.id, secret);
}

export async function forgetKey(role: Role): Promise<void> {
  await tx('readwrite', (s) => s.delete(role));
}

/** Unwraps the key for one use and wipes it afterwards. */
export async function withSecretKey<T>(role: Role, fn: (id: string, secretKey: Uint8Array) => T | Promise<T>): Promise<T> {
  const stored = await tx<StoredKey | undefined>('readonly', (s) => s.get(role) as IDBRequest<StoredKey | undefined>);
  if (!stored) throw new Error(`This browser holds no ${ROLE_NAMES[role]} key: create or import one first.`);
  const secret = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: stored.iv as BufferSource }, stored.wrappingKey, stored.wrapped));
  try {
    return await fn(stored.id, secret);
  } finally {
    secret.fill(0);
  }
}
