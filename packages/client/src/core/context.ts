/**
 * What every part of one device's messenger shares: its keys, the server API, the key directory and the
 * authentication service, the group store, the event listeners and the lock that runs state changes one
 * at a time. The parts (key packages, membership, messages, sync) reach each other through it.
 */
import { authResponseBytes, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { CiphersuiteImpl, ClientConfig } from 'ts-mls';
import { ServerApi } from '../api/serverApi.ts';
import type { Messages } from '../content/messages.ts';
import type { DeviceRecord } from '../device.ts';
import type { KeyPackages } from '../devices/keyPackages.ts';
import { ServerKeyDirectory, StoredIdentityPins, type AccountVerifier } from '../directory.ts';
import type { MonitorAlarm } from '../transparency/monitor.ts';
import { deviceTransparency, type DeviceTransparency } from '../transparency/setup.ts';
import type { Membership } from '../groups/membership.ts';
import type { LeafChecker } from '../groups/leafCheck.ts';
import type { Rejoin } from '../groups/rejoin.ts';
import { GroupStore } from '../groupStore.ts';
import { DirectoryAuthenticationService } from '../mls/authenticationService.ts';
import type { DeviceIdentity } from '../mls/credential.ts';
import { clientConfig } from '../mls/suite.ts';
import type { Storage } from '../storage/storage.ts';
import type { SyncEngine } from '../sync/syncEngine.ts';
import type { TrustStore } from '../devices/trust.ts';
import { isTransient, TransientFailure } from './transient.ts';
import { MessageRejected, type MessengerEvent, type MessengerOptions } from './types.ts';

export const MAX_RETRIES = 8;
export const b64 = toBase64Url;
export const newMessageId = (): string => toBase64Url(randomBytes(16));
export const identityText = (d: DeviceIdentity) => `${d.username}/${d.deviceId}`;

export class MessengerContext {
  readonly api: ServerApi;
  readonly directory: ServerKeyDirectory;
  readonly auth: DirectoryAuthenticationService;
  readonly config: ClientConfig;
  readonly groupStore: GroupStore;
  private session: { token: string; expiresAt: number } | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(event: MessengerEvent) => void>();

  // The parts, wired by the Messenger right after construction.
  keyPackages!: KeyPackages;
  membership!: Membership;
  leafCheck!: LeafChecker;
  rejoin!: Rejoin;
  messages!: Messages;
  sync!: SyncEngine;
  trust!: TrustStore;

  /** Key transparency run by the SDK (options.transparency), once `enableTransparency` has set it up. */
  transparency: DeviceTransparency | undefined;
  private anchored: Promise<void> | undefined;

  constructor(
    readonly device: DeviceRecord,
    readonly options: MessengerOptions,
    readonly cs: CiphersuiteImpl,
  ) {
    this.api = new ServerApi(options.serverUrl, options.fetch);
    this.api.session = { token: () => this.token(), renew: () => this.token(true) };
    const kt = options.keyTransparency;
    const custom = typeof kt === 'function' ? kt(this.api) : kt;
    // With options.transparency, every account is verified by the SDK's own verifier (set up in enableTransparency).
    const verifier: AccountVerifier | undefined = options.transparency
      ? {
          verifyAccount: async (account) => {
            const t = this.transparency;
            if (!t) throw new Error('key transparency is configured but not set up');
            await (this.anchored ??= t.anchor().catch((error: unknown) => {
              this.anchored = undefined;
              throw error;
            }));
            await t.kt.verifyAccount(account);
          },
        }
      : custom;
    this.directory = new ServerKeyDirectory(this.api, verifier);
    this.auth = new DirectoryAuthenticationService(this.directory, new StoredIdentityPins(options.storage), (sig, msg, key) => cs.signature.verify(key, msg, sig));
    this.config = clientConfig(this.auth);
    this.groupStore = new GroupStore(options.storage, this.config);
  }

  async enableTransparency(): Promise<void> {
    const config = this.options.transparency;
    if (!config) return;
    const account = { username: this.device.username, identityKey: this.device.identityKey, deviceId: this.device.deviceId };
    this.transparency = await deviceTransparency(config, this.api, this.storage, account, (sig, msg, key) => this.cs.signature.verify(key, msg, sig));
  }

  private lastMonitored = 0;

  /** Runs own-account monitoring (see transparency/monitor.ts) and reports what it found as events. */
  async monitorOwnAccount(): Promise<{ alarms: MonitorAlarm[]; added: string[] }> {
    const t = this.transparency;
    if (!t) throw new Error('Key transparency is off for this device (no options.transparency).');
    this.lastMonitored = Date.now();
    const result = await t.monitor.run();
    for (const alarm of result.alarms) this.emit({ type: 'transparency_alarm', alarm });
    for (const deviceId of result.added) this.emit({ type: 'own_device_added', deviceId });
    return result;
  }

  /** Monitoring as part of syncing: at most once a minute; its trouble is reported, never fatal to the sync. */
  async monitorIfDue(): Promise<void> {
    if (!this.transparency || Date.now() - this.lastMonitored < 60_000) return;
    await this.monitorOwnAccount().catch((error: unknown) => this.emit({ type: 'error', error: error instanceof Error ? error : new Error(String(error)) }));
  }

  get username(): string {
    return this.device.username;
  }
  get deviceId(): string {
    return this.device.deviceId;
  }
  get storage(): Storage {
    return this.options.storage;
  }
  get me(): DeviceIdentity {
    return { username: this.device.username, deviceId: this.device.deviceId };
  }

  /** A session token for this device (challenge signed with the device key), renewed before it expires. */
  async token(renew = false): Promise<string> {
    if (!renew && this.session && this.session.expiresAt - 60_000 > Date.now()) return this.session.token;
    const { challenge } = await this.api.challenge(this.username, this.deviceId);
    const signature = ed25519.sign(
      authResponseBytes({ challenge: fromBase64Url(challenge), username: this.username, deviceId: this.deviceId, origin: this.api.origin }),
      fromBase64Url(this.device.deviceSecret),
    );
    const session = await this.api.createSession({ username: this.username, deviceId: this.deviceId, challenge, signature: b64(signature) });
    this.session = session;
    return session.token;
  }

  on(listener: (event: MessengerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: MessengerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** All state changes run one at a time (pushes, syncs, sends and commits interleave otherwise). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Waits for whatever holds the lock now. */
  async idle(): Promise<void> {
    await this.lock.catch(() => undefined);
  }

  /**
   * Runs an MLS operation, turning ts-mls's terse credential failures into the reason our AS gave, with
   * credentials judged as of `asOf` (server time of the item being processed; undefined = now). A lookup
   * that failed for a passing reason (503, network) becomes a TransientFailure: the item is retried later.
   */
  async withCredentialReasons<T>(fn: () => Promise<T>, asOf?: number): Promise<T> {
    this.auth.takeRejections();
    this.auth.asOf = asOf;
    try {
      return await fn();
    } catch (error) {
      const transient = this.auth.transientFailure;
      const reasons = this.auth.takeRejections();
      if (transient !== undefined || isTransient(error)) throw new TransientFailure(transient ?? error);
      if (reasons.length > 0) throw new MessageRejected('credential_rejected', `credential refused: ${reasons.join('; ')}`);
      throw error;
    } finally {
      this.auth.asOf = undefined;
    }
  }

  /** Loads accounts into the directory cache, a few requests at a time. */
  async prefetchAccounts(usernames: string[]): Promise<void> {
    await inParallel(usernames, (u) => this.directory.account(u));
  }
}

/** Runs `fn` over the distinct items, at most 16 at a time (requests to one server). */
export async function inParallel<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  const queue = [...new Set(items)];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
}
