/**
 * The browser's messenger device: the SDK's Messenger over IndexedDB (sealed under a non-extractable
 * WebCrypto key), with key transparency on. The log's
 * verifier key is pinned in this browser's storage the first time (from the server's /v1/app-config) and
 * never replaced silently; the SDK keeps the last checkpoint and each account's directory version in the
 * same storage (a split view or a replayed account is caught across reloads) and monitors this account.
 * Nothing here implements protocol: it only wires the SDK to the browser.
 */
import { IndexedDbStorage, Messenger, type MessengerOptions, type PendingLink, type Storage, type WebSocketConstructor } from '@doublelock/client';
import { DEFAULT_MAX_BLOB_BYTES } from '@doublelock/protocol/blobs';
import { responseError } from '../ui/errors.ts';
import { maxPlaintextBytes } from './files.ts';
import { browserImagePreview } from './files.ts';
import { SealedStorage, wrappingKey } from './sealedStorage.ts';

const DATABASE = 'doublelock-web';
const LOG_KEY = 'web/logKey';
const TRUST_ROOT = 'web/trustRoot';
const text = new TextEncoder();

export interface AppConfig {
  logKey: string;
  logWitnesses: string[];
  logWitnessQuorum?: number;
  lawfulAccess: boolean;
  trustRoot: string | null;
  /** the largest (sealed) attachment the server takes */
  maxBlobBytes?: number;
}

export async function appConfig(): Promise<AppConfig> {
  const response = await fetch('/v1/app-config');
  if (!response.ok) throw await responseError(response);
  return (await response.json()) as AppConfig;
}

let limit: Promise<number> | undefined;
/** The largest file this server takes, in plaintext bytes (its blob limit less the sealing's overhead). */
export function attachmentLimit(): Promise<number> {
  limit ??= appConfig().then((c) => maxPlaintextBytes(c.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES));
  limit.catch(() => (limit = undefined)); // asked again next time
  return limit;
}

let storagePromise: Promise<Storage> | undefined;
/** The SDK's IndexedDB storage, every value sealed under a non-extractable WebCrypto key (sealedStorage.ts). */
export const deviceStorage = (): Promise<Storage> => (storagePromise ??= (async () => SealedStorage.open(await IndexedDbStorage.open(DATABASE), await wrappingKey('messenger-storage')))());

async function pinnedLogKey(storage: Storage): Promise<string> {
  const pinned = await storage.get(LOG_KEY);
  if (pinned) return new TextDecoder().decode(pinned);
  const { logKey } = await appConfig();
  await storage.write([{ key: LOG_KEY, value: text.encode(logKey) }]);
  return logKey;
}

/**
 * Where the deployment has lawful access on, every message carries the escrow access field and every
 * received one is checked (the lawful-access package's provider, loaded only on such deployments). When no
 * certified epoch key can be had, sending fails with that reason: a message never leaves without its field.
 */
async function escrow(storage: Storage): Promise<MessengerOptions['escrow']> {
  const config = await appConfig();
  if (!config.lawfulAccess || !config.trustRoot) return undefined;
  // The trust root is pinned on first use, like the log key: a server cannot swap it later.
  const pinned = await storage.get(TRUST_ROOT);
  const trustRoot = pinned ? new TextDecoder().decode(pinned) : config.trustRoot;
  if (!pinned) await storage.write([{ key: TRUST_ROOT, value: text.encode(trustRoot) }]);
  const { deploymentEscrow } = await import('@doublelock/lawful-access/deploymentEscrow');
  return deploymentEscrow({ serverUrl: location.origin, trustRoot });
}

async function options(storage: Storage): Promise<MessengerOptions> {
  const { logWitnesses, logWitnessQuorum, maxBlobBytes } = await appConfig();
  const quorum = Math.min(logWitnessQuorum ?? 0, logWitnesses.length);
  return {
    serverUrl: location.origin,
    storage,
    webSocket: WebSocket as unknown as WebSocketConstructor,
    escrow: await escrow(storage),
    imagePreview: browserImagePreview,
    ...(maxBlobBytes && { maxAttachmentBytes: maxBlobBytes }),
    transparency: { logKey: await pinnedLogKey(storage), ...(quorum > 0 && { witnesses: { keys: logWitnesses, k: quorum } }) },
  };
}

/** The device kept in this browser, or undefined when there is none yet. */
export async function openDevice(): Promise<Messenger | undefined> {
  const storage = await deviceStorage();
  if (!(await storage.get('device'))) return undefined;
  return Messenger.open(await options(storage));
}

export async function registerDevice(username: string, deviceName: string): Promise<Messenger> {
  const storage = await deviceStorage();
  return Messenger.register(await options(storage), username, deviceName);
}

/**
 * Linking this browser as a new device of `username`: its keys are made here (they never leave it), and its
 * code is shown for a device of the account to approve. Resumes a link started before a reload.
 */
export async function startLink(username: string, deviceName: string): Promise<PendingLink> {
  const storage = await deviceStorage();
  const opts = await options(storage);
  return (await Messenger.pendingLink(opts)) ?? Messenger.link(opts, username, deviceName);
}

/** A short description of the browser, as the device's name in the account's device list. */
export function browserDeviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${browser} on ${navigator.platform || 'the web'}`;
}
