/**
 * The browser's messenger device: the SDK's Messenger over IndexedDB, with key transparency on. The log's
 * verifier key is pinned in this browser's storage the first time (from the server's /v1/app-config) and
 * never replaced silently; the last checkpoint seen is kept too, so a split view is caught across reloads.
 * Nothing here implements protocol: it only wires the SDK to the browser.
 */
import { IndexedDbStorage, KeyTransparency, linkDevice, Messenger, type MessengerOptions, type SeenCheckpoint, type Storage, type WebSocketConstructor } from '@doublelock/client';
import { fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { responseError } from '../ui/errors.ts';

const DATABASE = 'doublelock-web';
const LOG_KEY = 'web/logKey';
const CHECKPOINT = 'web/checkpoint';
const TRUST_ROOT = 'web/trustRoot';
const text = new TextEncoder();

export interface AppConfig {
  logKey: string;
  logWitnesses: string[];
  logWitnessQuorum?: number;
  lawfulAccess: boolean;
  trustRoot: string | null;
}

export async function appConfig(): Promise<AppConfig> {
  const response = await fetch('/v1/app-config');
  if (!response.ok) throw await responseError(response);
  return (await response.json()) as AppConfig;
}

let storagePromise: Promise<Storage> | undefined;
export const deviceStorage = (): Promise<Storage> => (storagePromise ??= IndexedDbStorage.open(DATABASE));

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
  const logKey = await pinnedLogKey(storage);
  const { logWitnesses, logWitnessQuorum } = await appConfig();
  const quorum = Math.min(logWitnessQuorum ?? 0, logWitnesses.length);
  const seen = await storage.get(CHECKPOINT);
  const lastSeen: SeenCheckpoint | undefined = seen ? (({ size, rootHash }: { size: number; rootHash: string }) => ({ size, rootHash: fromBase64Url(rootHash) }))(JSON.parse(new TextDecoder().decode(seen))) : undefined;
  return {
    serverUrl: location.origin,
    storage,
    webSocket: WebSocket as unknown as WebSocketConstructor,
    escrow: await escrow(storage),
    keyTransparency: (api) =>
      new KeyTransparency({
        logKey,
        ...(quorum > 0 && { witnesses: { keys: logWitnesses, k: quorum } }),
        lastSeen,
        consistencyProof: (from, to) => api.consistencyProof(from, to),
        onCheckpoint: (c) => storage.write([{ key: CHECKPOINT, value: text.encode(JSON.stringify({ size: c.size, rootHash: toBase64Url(c.rootHash) })) }]),
      }),
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

export async function linkThisDevice(code: string): Promise<Messenger> {
  const storage = await deviceStorage();
  return linkDevice(await options(storage), code);
}

/** A short description of the browser, as the device's name in the account's device list. */
export function browserDeviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrom/.test(ua) ? 'Chromium' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  return `${browser} on ${navigator.platform || 'the web'}`;
}
