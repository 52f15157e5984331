/**
 * The messenger SDK: one device of one account, talking to the Doublelock server over HTTP and WebSocket.
 * Every group — a 1:1 chat is a group of two people — is an MLS group (RFC 9420) whose leaves are all the
 * devices of all its members. Messages are envelopes (envelope/envelope.ts) inside MLS application
 * messages; the server orders each group and fans messages out to device mailboxes.
 *
 * Delivery rules kept here: items are processed one at a time in mailbox order (per-group server order);
 * duplicates (at-least-once delivery) are dropped by (group, seq); a message from an earlier epoch is
 * accepted only if the server ordered it before the commit that ended that epoch; a commit or send that
 * loses the race for an epoch (409 stale_epoch) fetches what it missed and is rebuilt and retried.
 */
import {
  authResponseBytes,
  fromBase64Url,
  toBase64Url,
  type EscrowFieldProvider,
  type MailboxItem,
} from '@doublelock/protocol';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  joinGroup,
  processPrivateMessage,
  type CiphersuiteImpl,
  type ClientConfig,
  type ClientState,
  type CryptoProvider,
  type KeyPackage,
  type PrivateKeyPackage,
  type Proposal,
} from 'ts-mls';
import { decodeKeyPackage, encodeKeyPackage, makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { ApiError, ServerApi } from './api/serverApi.ts';
import { MailboxSocket, type WebSocketConstructor } from './api/mailboxSocket.ts';
import { newDeviceKeys, signDeviceCertificate, signRevocation, type DeviceProvisioning, type DeviceRecord } from './device.ts';
import { ServerKeyDirectory, StoredIdentityPins, identityKeyOf, type AccountVerifier } from './directory.ts';
import { openAttachment, sealAttachment } from './envelope/attachment.ts';
import { decodeContent, encodeContent, type MessageContent } from './envelope/content.ts';
import { openEnvelope, sealEnvelope, type EnvelopeContext } from './envelope/envelope.ts';
import { decodeFrame, encodeFrame } from './envelope/frame.ts';
import { DirectoryAuthenticationService } from './mls/authenticationService.ts';
import { deviceCredential, parseDeviceCredential, type DeviceIdentity } from './mls/credential.ts';
import { clientConfig, suiteImpl } from './mls/suite.ts';
import { GroupStore, groupMembers, isSeen, markSeen, newGroupMeta, type GroupMeta } from './groupStore.ts';
import { safetyNumber } from './safetyNumber.ts';
import { getJson, jsonWrite, type Storage } from './storage/storage.ts';

/** Why an incoming item was refused; the item is acknowledged and dropped, never applied. */
export class MessageRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    message: string,
  ) {
    super(message);
    this.name = 'MessageRejected';
  }
}
export type RejectReason =
  | 'unknown_group'
  | 'malformed'
  | 'decryption_failed'
  | 'replayed'
  | 'stale_epoch_sender'
  | 'future_epoch'
  | 'sender_mismatch'
  | 'credential_rejected'
  | 'envelope_rejected'
  | 'no_key_package';

export interface ReceivedMessage {
  groupId: string;
  seq: number;
  serverTime: number;
  clientMessageId: string;
  sender: DeviceIdentity;
  content: MessageContent;
  /** What a franked report reveals (see report()). */
  franking: { payload: string; frankingKey: string; commitment: string; tag: string };
}

export interface GroupSummary {
  groupId: string;
  name: string;
  epoch: number;
  status: GroupMeta['status'];
  members: DeviceIdentity[];
}

export type MessengerEvent =
  | { type: 'message'; message: ReceivedMessage }
  | { type: 'joined'; groupId: string }
  | { type: 'membership'; groupId: string; added: DeviceIdentity[]; removed: DeviceIdentity[] }
  | { type: 'removed'; groupId: string }
  | { type: 'rejected'; item: MailboxItem; error: MessageRejected }
  /** Transport trouble (the push channel); the mailbox keeps everything, a later sync catches up. */
  | { type: 'error'; error: Error };

export interface MessengerOptions {
  serverUrl: string;
  storage: Storage;
  /** Needed for push (browsers: globalThis.WebSocket; Node 20: the `ws` package). */
  webSocket?: WebSocketConstructor;
  /** Lawful-access deployments: fills and verifies the envelope's escrow access field. */
  escrow?: EscrowFieldProvider;
  fetch?: typeof fetch;
  cryptoProvider?: CryptoProvider;
  /**
   * Key transparency: every account is checked against the log before its devices are trusted. Give a
   * verifier, or a factory that gets this device's API (for consistency proofs), e.g.
   * `(api) => new KeyTransparency({ logKey, consistencyProof: (a, b) => api.consistencyProof(a, b) })`.
   */
  keyTransparency?: AccountVerifier | ((api: ServerApi) => AccountVerifier);
  /** One-time KeyPackages kept on the server (topped up when fewer than half remain). */
  keyPackageTarget?: number;
}

interface StoredKeyPackage {
  publicPackage: string;
  initPrivateKey: string;
  hpkePrivateKey: string;
  lastResort: boolean;
}

const MAX_RETRIES = 8;
const b64 = toBase64Url;
const newMessageId = (): string => toBase64Url(randomBytes(16));
const identityText = (d: DeviceIdentity) => `${d.username}/${d.deviceId}`;

export class Messenger {
  readonly api: ServerApi;
  readonly directory: ServerKeyDirectory;
  private readonly auth: DirectoryAuthenticationService;
  private readonly config: ClientConfig;
  private readonly groupStore: GroupStore;
  private socket: MailboxSocket | undefined;
  private session: { token: string; expiresAt: number } | undefined;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(event: MessengerEvent) => void>();

  private constructor(
    readonly device: DeviceRecord,
    private readonly options: MessengerOptions,
    private readonly cs: CiphersuiteImpl,
  ) {
    this.api = new ServerApi(options.serverUrl, options.fetch);
    this.api.session = { token: () => this.token(), renew: () => this.token(true) };
    const kt = options.keyTransparency;
    this.directory = new ServerKeyDirectory(this.api, typeof kt === 'function' ? kt(this.api) : kt);
    this.auth = new DirectoryAuthenticationService(this.directory, new StoredIdentityPins(options.storage), (sig, msg, key) => cs.signature.verify(key, msg, sig));
    this.config = clientConfig(this.auth);
    this.groupStore = new GroupStore(options.storage, this.config);
  }

  get username(): string {
    return this.device.username;
  }
  get deviceId(): string {
    return this.device.deviceId;
  }
  private get storage(): Storage {
    return this.options.storage;
  }
  private get me(): DeviceIdentity {
    return { username: this.device.username, deviceId: this.device.deviceId };
  }

  // ---------------------------------------------------------------- accounts and devices

  /** Creates the account with this as its first device (which keeps the account identity key). */
  static async register(options: MessengerOptions, username: string, deviceName = 'device'): Promise<Messenger> {
    const identitySecret = ed25519.utils.randomSecretKey();
    const identityKey = ed25519.getPublicKey(identitySecret);
    const keys = newDeviceKeys();
    const api = new ServerApi(options.serverUrl, options.fetch);
    await api.register({ username, identityKey: b64(identityKey), device: signDeviceCertificate(identitySecret, username, keys.publicKey, deviceName) });
    const device: DeviceRecord = {
      server: options.serverUrl,
      username,
      deviceId: keys.deviceId,
      deviceSecret: b64(keys.secret),
      devicePublic: b64(keys.publicKey),
      identityKey: b64(identityKey),
      identitySecret: b64(identitySecret),
    };
    await options.storage.write([jsonWrite('device', device), { key: `pin/${username}`, value: identityKey }]);
    const messenger = await Messenger.create(device, options);
    await messenger.topUpKeyPackages();
    return messenger;
  }

  /** Opens the device kept in `options.storage`. */
  static async open(options: MessengerOptions): Promise<Messenger> {
    const device = await getJson<DeviceRecord>(options.storage, 'device');
    if (!device) throw new Error('This storage holds no device: register or provision one first.');
    return Messenger.create(device, options);
  }

  /** A device provisioned by another device of the account (see provisionDevice). */
  static async fromProvisioning(options: MessengerOptions, p: DeviceProvisioning): Promise<Messenger> {
    const secret = fromBase64Url(p.deviceSecret);
    const device: DeviceRecord = {
      server: p.server,
      username: p.username,
      deviceId: p.deviceId,
      deviceSecret: p.deviceSecret,
      devicePublic: b64(ed25519.getPublicKey(secret)),
      identityKey: p.identityKey,
    };
    await options.storage.write([jsonWrite('device', device), { key: `pin/${p.username}`, value: fromBase64Url(p.identityKey) }]);
    const messenger = await Messenger.create(device, options);
    await messenger.topUpKeyPackages();
    return messenger;
  }

  private static async create(device: DeviceRecord, options: MessengerOptions): Promise<Messenger> {
    // A device talks to the server it was registered on unless told otherwise.
    return new Messenger(device, { ...options, serverUrl: options.serverUrl || device.server }, await suiteImpl(options.cryptoProvider));
  }

  /** Registers a new device for this account, signed with the account key; hand the result to it. */
  async provisionDevice(name: string): Promise<DeviceProvisioning> {
    const identitySecret = this.identitySecret();
    const keys = newDeviceKeys();
    await this.api.addDevice(this.username, signDeviceCertificate(identitySecret, this.username, keys.publicKey, name));
    this.directory.forget(this.username);
    return { server: this.device.server, username: this.username, deviceId: keys.deviceId, deviceSecret: b64(keys.secret), identityKey: this.device.identityKey };
  }

  /** Revokes a device of this account and removes its leaves from every group this device is in. */
  async revokeDevice(deviceId: string): Promise<void> {
    if (deviceId === this.deviceId) throw new Error('A device cannot revoke itself here: revoke it from another device.');
    await this.api.revokeDevice(this.username, deviceId, signRevocation(this.identitySecret(), this.username, deviceId));
    this.directory.forget(this.username);
    await this.reconcileDevices();
  }

  async devices() {
    return (await this.directory.account(this.username, { fresh: true }))?.devices ?? [];
  }

  private identitySecret(): Uint8Array {
    if (!this.device.identitySecret) throw new Error('Only a device holding the account key can add or revoke devices.');
    return fromBase64Url(this.device.identitySecret);
  }

  /** The 60-digit safety number of this account and another, from the identity keys pinned here. */
  async safetyNumber(username: string): Promise<string> {
    const account = await this.directory.account(username, { fresh: true });
    if (!account) throw new Error(`No account "${username}".`);
    const pinned = await this.storage.get(`pin/${username}`);
    if (pinned && b64(pinned) !== account.identityKey) throw new Error(`The identity key of ${username} changed since it was first seen: do not trust this contact until you have checked.`);
    return safetyNumber({ username: this.username, identityKey: fromBase64Url(this.device.identityKey) }, { username, identityKey: identityKeyOf(account) });
  }

  // ---------------------------------------------------------------- session

  private async token(renew = false): Promise<string> {
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

  // ---------------------------------------------------------------- events and the lock

  on(listener: (event: MessengerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: MessengerEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** All state changes run one at a time (pushes, syncs, sends and commits interleave otherwise). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- key packages

  private async newKeyPackage(lastResort: boolean): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage; stored: StoredKeyPackage; ref: string }> {
    const { publicPackage, privatePackage } = await generateKeyPackageWithKey(
      deviceCredential(this.me),
      defaultCapabilities(),
      defaultLifetime,
      [],
      { signKey: fromBase64Url(this.device.deviceSecret), publicKey: fromBase64Url(this.device.devicePublic) },
      this.cs,
    );
    const ref = bytesToHex(await makeKeyPackageRef(publicPackage, this.cs.hash));
    const stored: StoredKeyPackage = {
      publicPackage: b64(encodeKeyPackage(publicPackage)),
      initPrivateKey: b64(privatePackage.initPrivateKey),
      hpkePrivateKey: b64(privatePackage.hpkePrivateKey),
      lastResort,
    };
    return { publicPackage, privatePackage, stored, ref };
  }

  /** Keeps `keyPackageTarget` one-time KeyPackages (and a last-resort one) on the server. */
  async topUpKeyPackages(): Promise<number> {
    const target = this.options.keyPackageTarget ?? 20;
    const count = await this.api.keyPackageCount();
    const missing = count.oneTime >= target / 2 ? 0 : target - count.oneTime;
    if (missing === 0 && count.lastResort) return 0;
    const fresh = await Promise.all(Array.from({ length: missing }, () => this.newKeyPackage(false)));
    const lastResort = count.lastResort ? undefined : await this.newKeyPackage(true);
    const all = lastResort ? [...fresh, lastResort] : fresh;
    // Keep the private halves before the public ones can be claimed.
    await this.storage.write(all.map((k) => jsonWrite(`kp/${k.ref}`, k.stored)));
    const wire = (k: { publicPackage: KeyPackage }) => b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: k.publicPackage }));
    await this.api.uploadKeyPackages(fresh.map(wire), lastResort && wire(lastResort));
    return all.length;
  }

  /** One KeyPackage per active device of each user, checked to be the device it claims to be. */
  private async claim(usernames: string[]): Promise<Array<{ device: DeviceIdentity; keyPackage: KeyPackage }>> {
    const out: Array<{ device: DeviceIdentity; keyPackage: KeyPackage }> = [];
    const claims = new Map<string, Awaited<ReturnType<ServerApi['claimKeyPackages']>>>();
    await Messenger.inParallel(usernames, async (username) => {
      claims.set(username, await this.api.claimKeyPackages(username));
    });
    for (const username of usernames) {
      const { keyPackages } = claims.get(username)!;
      for (const claimed of keyPackages) {
        if (username === this.username && claimed.deviceId === this.deviceId) continue;
        const message = decodeMlsMessage(fromBase64Url(claimed.keyPackage), 0)?.[0];
        if (message?.wireformat !== 'mls_key_package') throw new Error(`the key directory returned a malformed KeyPackage for ${username}/${claimed.deviceId}`);
        const claimedIdentity = parseDeviceCredential(message.keyPackage.leafNode.credential);
        if (claimedIdentity?.username !== username || claimedIdentity.deviceId !== claimed.deviceId) {
          throw new Error(`the KeyPackage handed out for ${username}/${claimed.deviceId} belongs to someone else`);
        }
        out.push({ device: claimedIdentity, keyPackage: message.keyPackage });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- group state

  async groups(): Promise<GroupSummary[]> {
    const out: GroupSummary[] = [];
    for (const groupId of await this.groupStore.ids()) {
      const group = await this.groupStore.load(groupId);
      if (group) out.push({ groupId, name: group.meta.name, epoch: Number(group.state.groupContext.epoch), status: group.meta.status, members: groupMembers(group.state).map(({ username, deviceId }) => ({ username, deviceId })) });
    }
    return out;
  }

  async group(groupId: string): Promise<GroupSummary> {
    const { state, meta } = await this.groupStore.require(groupId);
    return { groupId, name: meta.name, epoch: Number(state.groupContext.epoch), status: meta.status, members: groupMembers(state).map(({ username, deviceId }) => ({ username, deviceId })) };
  }

  /** Runs an MLS operation, turning ts-mls's terse credential failures into the reason our AS gave. */
  private async withCredentialReasons<T>(fn: () => Promise<T>): Promise<T> {
    this.auth.takeRejections();
    try {
      return await fn();
    } catch (error) {
      const reasons = this.auth.takeRejections();
      if (reasons.length > 0) throw new MessageRejected('credential_rejected', `credential refused: ${reasons.join('; ')}`);
      throw error;
    }
  }

  // ---------------------------------------------------------------- creating and changing groups

  /** A new group with these people (all their devices, and this account's other devices). */
  createGroup(name: string, usernames: string[]): Promise<string> {
    if (name.length < 1 || name.length > 128) return Promise.reject(new RangeError('a group name has 1–128 characters'));
    return this.exclusive(async () => {
      const groupIdBytes = randomBytes(32);
      const groupId = b64(groupIdBytes);
      const own = await this.newKeyPackage(false);
      const state = await createGroup(groupIdBytes, own.publicPackage, own.privatePackage, [], this.cs, this.config);
      await this.api.createGroup(groupId);
      await this.groupStore.save(groupId, state, newGroupMeta(name));
      const people = [...new Set([this.username, ...usernames])];
      await this.addLocked(groupId, people);
      return groupId;
    });
  }

  /** A 1:1 chat is a group of two people. */
  createChat(username: string): Promise<string> {
    return this.createGroup(`${this.username} & ${username}`, [username]);
  }

  addMembers(groupId: string, usernames: string[]): Promise<void> {
    return this.exclusive(() => this.addLocked(groupId, usernames));
  }

  /** Loads accounts into the directory cache, a few requests at a time. */
  private async prefetchAccounts(usernames: string[]): Promise<void> {
    await Messenger.inParallel(usernames, (u) => this.directory.account(u));
  }

  /** Runs `fn` over the distinct items, at most 16 at a time (requests to one server). */
  private static async inParallel<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
    const queue = [...new Set(items)];
    const worker = async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    };
    await Promise.all(Array.from({ length: Math.min(16, queue.length) }, worker));
  }

  private async addLocked(groupId: string, usernames: string[]): Promise<void> {
    // The directory entries (for our AS) and the KeyPackages are independent: fetch them together.
    const [, claimed] = await Promise.all([this.prefetchAccounts(usernames), this.claim(usernames)]);
    if (claimed.length === 0) return;
    const added = await this.commitLocked(groupId, (state) => {
      const present = new Set(groupMembers(state).map((m) => m.deviceId));
      const adds = claimed.filter((c) => !present.has(c.device.deviceId));
      return { proposals: adds.map((c) => ({ proposalType: 'add', add: { keyPackage: c.keyPackage } })), adds: adds.map((c) => c.device.deviceId), removes: [] };
    });
    if (added) await this.shareName(groupId);
  }

  /** The group's name travels end-to-end like any message: resent after adds, so newcomers learn it. */
  private async shareName(groupId: string): Promise<void> {
    const { meta } = await this.groupStore.require(groupId);
    await this.sendLocked(groupId, { type: 'rename', name: meta.name });
  }

  /** Removes people (all their devices) from the group. */
  removeMembers(groupId: string, usernames: string[]): Promise<void> {
    return this.exclusive(() => this.removeUsersLocked(groupId, usernames));
  }

  private async removeUsersLocked(groupId: string, usernames: string[]): Promise<void> {
    if (usernames.includes(this.username)) throw new Error('Use leave() to leave a group.');
    await this.commitLocked(groupId, (state) => {
      const gone = groupMembers(state).filter((m) => usernames.includes(m.username));
      return { proposals: gone.map((m) => ({ proposalType: 'remove', remove: { removed: m.leafIndex } })), adds: [], removes: gone.map((m) => m.deviceId) };
    });
  }

  /** Leaves: tells the group (its members commit our removal) and forgets the group on this device. */
  leave(groupId: string): Promise<void> {
    return this.exclusive(async () => {
      await this.sendLocked(groupId, { type: 'leave' });
      const { meta } = await this.groupStore.require(groupId);
      await this.groupStore.forget(groupId, { ...meta, status: 'left' });
    });
  }

  rename(groupId: string, name: string): Promise<void> {
    return this.exclusive(async () => {
      await this.sendLocked(groupId, { type: 'rename', name });
      const { meta } = await this.groupStore.require(groupId);
      await this.groupStore.saveMeta(groupId, { ...meta, name });
    });
  }

  /**
   * Brings every group in line with the key directory: adds this account's devices that are missing
   * (a new device joins through commits made here) and removes the leaves of revoked devices.
   */
  reconcileDevices(): Promise<void> {
    return this.exclusive(async () => {
      const mine = new Set(await this.directory.activeDevices(this.username, true));
      for (const summary of await this.groups()) {
        if (summary.status !== 'active') continue;
        const usernames = [...new Set(summary.members.map((m) => m.username))];
        const active = new Map<string, Set<string>>();
        for (const u of usernames) active.set(u, u === this.username ? mine : new Set(await this.directory.activeDevices(u, true)));
        const present = new Set(summary.members.map((m) => m.deviceId));
        const missingOwn = [...mine].filter((d) => !present.has(d));
        const claimed = missingOwn.length > 0 ? (await this.claim([this.username])).filter((c) => missingOwn.includes(c.device.deviceId)) : [];
        const added = await this.commitLocked(summary.groupId, (state) => {
          const members = groupMembers(state);
          const here = new Set(members.map((m) => m.deviceId));
          const adds = claimed.filter((c) => !here.has(c.device.deviceId));
          const gone = members.filter((m) => m.deviceId !== this.deviceId && !(active.get(m.username)?.has(m.deviceId) ?? true));
          return {
            proposals: [
              ...gone.map((m): Proposal => ({ proposalType: 'remove', remove: { removed: m.leafIndex } })),
              ...adds.map((c): Proposal => ({ proposalType: 'add', add: { keyPackage: c.keyPackage } })),
            ],
            adds: adds.map((c) => c.device.deviceId),
            removes: gone.map((m) => m.deviceId),
          };
        });
        if (added) await this.shareName(summary.groupId);
      }
    });
  }

  /**
   * Commits the proposals `plan` computes from the current state; on 409 stale_epoch, catches up and asks
   * `plan` again (it may now find nothing left to do).
   */
  private async commitLocked(groupId: string, plan: (state: ClientState) => { proposals: Proposal[]; adds: string[]; removes: string[] }): Promise<boolean> {
    const clientMessageId = newMessageId();
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { state, meta } = await this.groupStore.require(groupId);
      const { proposals, adds, removes } = plan(state);
      if (proposals.length === 0) return false;
      const result = await this.withCredentialReasons(() =>
        createCommit({ state, cipherSuite: this.cs }, { extraProposals: proposals, ratchetTreeExtension: false }),
      );
      const epoch = Number(state.groupContext.epoch);
      try {
        const accepted = await this.api.commit(groupId, {
          clientMessageId,
          epoch,
          commit: b64(encodeMlsMessage(result.commit)),
          adds,
          removes,
          ...(result.welcome && {
            welcome: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })),
            ratchetTree: b64(encodeRatchetTree(result.newState.ratchetTree)),
          }),
        });
        meta.epochEnds[String(epoch)] = accepted.seq;
        markSeen(meta, accepted.seq, ...(result.welcome ? [accepted.seq + 1] : []));
        await this.groupStore.save(groupId, result.newState, meta);
        const before = new Set(groupMembers(state).map((m) => m.deviceId));
        const after = groupMembers(result.newState);
        const afterIds = new Set(after.map((m) => m.deviceId));
        this.emit({
          type: 'membership',
          groupId,
          added: after.filter((m) => !before.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
          removed: groupMembers(state).filter((m) => !afterIds.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
        });
        return adds.length > 0;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'stale_epoch')) throw error;
        await this.syncLocked();
      }
    }
    throw new Error(`Could not commit to group ${groupId}: it kept moving on (${MAX_RETRIES} attempts).`);
  }

  // ---------------------------------------------------------------- sending

  sendText(groupId: string, text: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.exclusive(() => this.sendLocked(groupId, { type: 'text', text }));
  }

  /** Encrypts the file, uploads it as a blob of the group, and sends its key and hashes in a message. */
  sendFile(groupId: string, file: Uint8Array, name: string, mime = 'application/octet-stream', caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.exclusive(async () => {
      const { sealed, secret } = sealAttachment(file);
      await this.api.putBlob(groupId, secret.blob, sealed);
      return this.sendLocked(groupId, { type: 'file', name, mime, size: secret.size, blob: secret.blob, key: b64(secret.key), sha256: secret.sha256, ...(caption && { caption }) });
    });
  }

  /** Downloads and checks an attachment received in a message. */
  async downloadFile(groupId: string, content: Extract<MessageContent, { type: 'file' }>): Promise<Uint8Array> {
    const sealed = await this.api.getBlob(groupId, content.blob);
    return openAttachment(sealed, { blob: content.blob, key: fromBase64Url(content.key), sha256: content.sha256, size: content.size });
  }

  private async sendLocked(groupId: string, content: MessageContent): Promise<{ seq: number; clientMessageId: string }> {
    const clientMessageId = newMessageId();
    const payload = encodeContent(content);
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { state, meta } = await this.groupStore.require(groupId);
      // Sealed per attempt: the escrow field is labelled with the devices of the epoch it is sent in.
      const recipientDevices = groupMembers(state).map((m) => m.deviceId).filter((d) => d !== this.deviceId);
      const context: EnvelopeContext = { groupId: fromBase64Url(groupId), senderUsername: this.username, senderDeviceId: this.deviceId, clientMessageId, recipientDevices };
      const envelope = sealEnvelope(payload, context, this.options.escrow);
      const { newState, privateMessage } = await createApplicationMessage(state, envelope.keys, this.cs);
      // The ratchet step is stored before anything leaves the device: a key is never used twice.
      await this.groupStore.save(groupId, newState, meta);
      const frame = encodeFrame({
        mlsMessage: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage }),
        sealedPayload: envelope.sealedPayload,
        escrow: envelope.escrow,
      });
      try {
        const accepted = await this.api.sendMessage(groupId, {
          clientMessageId,
          epoch: Number(state.groupContext.epoch),
          ciphertext: b64(frame),
          frankingCommitment: b64(envelope.frankingCommitment),
        });
        markSeen(meta, accepted.seq);
        // Kept with the received ones, so this device's history shows what it said too.
        const sent: ReceivedMessage = {
          groupId,
          seq: accepted.seq,
          serverTime: accepted.serverTime,
          clientMessageId,
          sender: this.me,
          content,
          franking: { payload: b64(payload), frankingKey: b64(envelope.frankingKey), commitment: b64(envelope.frankingCommitment), tag: accepted.frankingTag ?? '' },
        };
        await this.groupStore.saveMeta(groupId, meta, [jsonWrite(`msg/${groupId}/${String(accepted.seq).padStart(12, '0')}`, sent)]);
        return { seq: accepted.seq, clientMessageId };
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'stale_epoch')) throw error;
        await this.syncLocked();
      }
    }
    throw new Error(`Could not send to group ${groupId}: it kept moving on (${MAX_RETRIES} attempts).`);
  }

  // ---------------------------------------------------------------- receiving

  /** Fetches and processes everything waiting in this device's mailbox (offline catch-up). */
  sync(): Promise<number> {
    return this.exclusive(() => this.syncLocked());
  }

  private async syncLocked(): Promise<number> {
    let total = 0;
    for (;;) {
      const { items } = await this.api.mailbox(200);
      if (items.length === 0) break;
      await this.processItems(items);
      await this.api.ack(items.map((i) => i.id));
      total += items.length;
    }
    await this.afterProcessing();
    return total;
  }

  /** Connects the push channel: catches up over HTTP, then processes pushed items as they come. */
  async connect(): Promise<void> {
    if (!this.options.webSocket) throw new Error('Pass a WebSocket implementation in the options to receive pushes.');
    if (this.socket) return;
    this.socket = new MailboxSocket(MailboxSocket.urlFor(this.options.serverUrl), this.options.webSocket, {
      token: () => this.token(),
      onReady: async () => {
        await this.sync();
      },
      onItems: async (items) => {
        await this.exclusive(async () => {
          await this.processItems(items);
          await this.afterProcessing();
        });
        this.socket?.ack(items.map((i) => i.id));
      },
      onError: (error) => this.emit({ type: 'error', error }),
    });
    await this.socket.start();
    await this.topUpKeyPackages();
  }

  disconnect(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  private pendingLeaves: Array<{ groupId: string; username: string }> = [];

  /** Work that follows processing: commit the removal of people who left; keep KeyPackages topped up. */
  private async afterProcessing(): Promise<void> {
    const leaves = this.pendingLeaves;
    this.pendingLeaves = [];
    for (const { groupId, username } of leaves) {
      const group = await this.groupStore.load(groupId);
      if (group?.meta.status === 'active') await this.removeUsersLocked(groupId, [username]);
    }
    if (this.joinedSinceTopUp) {
      this.joinedSinceTopUp = false;
      await this.topUpKeyPackages();
    }
  }
  private joinedSinceTopUp = false;

  /** Processes items in order; a refused item is reported (event 'rejected') and dropped. */
  async processItems(items: MailboxItem[]): Promise<void> {
    for (const item of items) {
      try {
        await this.processItem(item);
      } catch (error) {
        const rejected = error instanceof MessageRejected ? error : new MessageRejected('malformed', error instanceof Error ? error.message : String(error));
        this.emit({ type: 'rejected', item, error: rejected });
      }
    }
  }

  private async processItem(item: MailboxItem): Promise<void> {
    if (item.kind === 'welcome') return this.processWelcome(item);
    const group = await this.groupStore.load(item.groupId);
    if (!group || group.meta.status !== 'active') {
      throw new MessageRejected('unknown_group', `${item.kind} for group ${item.groupId}, which this device is not in`);
    }
    if (isSeen(group.meta, item.seq)) return; // at-least-once delivery: already applied
    if (item.kind === 'commit') return this.processCommit(item, group.state, group.meta);
    return this.processApplication(item, group.state, group.meta);
  }

  private async processWelcome(item: MailboxItem): Promise<void> {
    if ((await this.groupStore.meta(item.groupId))?.status === 'active') return; // a duplicate
    const message = decodeMlsMessage(fromBase64Url(item.payload), 0)?.[0];
    if (message?.wireformat !== 'mls_welcome') throw new MessageRejected('malformed', 'welcome item does not hold an MLS Welcome');
    let stored: StoredKeyPackage | undefined;
    let ref = '';
    for (const secret of message.welcome.secrets) {
      ref = bytesToHex(secret.newMember);
      stored = await getJson<StoredKeyPackage>(this.storage, `kp/${ref}`);
      if (stored) break;
    }
    if (!stored) throw new MessageRejected('no_key_package', 'the Welcome is for none of this device’s KeyPackages');
    const keyPackage = decodeKeyPackage(fromBase64Url(stored.publicPackage), 0)?.[0];
    if (!keyPackage) throw new MessageRejected('malformed', 'stored KeyPackage does not decode');
    const tree = item.ratchetTree ? decodeRatchetTree(fromBase64Url(item.ratchetTree), 0)?.[0] : undefined;
    // ts-mls checks the leaves one by one; fetch their accounts together first.
    if (tree) await this.prefetchAccounts(groupMembers({ ratchetTree: tree }).map((m) => m.username));
    const privateKeys: PrivateKeyPackage = {
      initPrivateKey: fromBase64Url(stored.initPrivateKey),
      hpkePrivateKey: fromBase64Url(stored.hpkePrivateKey),
      signaturePrivateKey: fromBase64Url(this.device.deviceSecret),
    };
    const state = await this.withCredentialReasons(() => joinGroup(message.welcome, keyPackage, privateKeys, emptyPskIndex, this.cs, tree, undefined, this.config));
    if (b64(state.groupContext.groupId) !== item.groupId) throw new MessageRejected('malformed', 'the Welcome is for another group than the server says');
    const meta = newGroupMeta('chat');
    markSeen(meta, item.seq, item.seq - 1);
    await this.groupStore.save(item.groupId, state, meta, stored.lastResort ? [] : [{ key: `kp/${ref}`, value: undefined }]);
    this.joinedSinceTopUp = true;
    this.emit({ type: 'joined', groupId: item.groupId });
  }

  private async processCommit(item: MailboxItem, state: ClientState, meta: GroupMeta): Promise<void> {
    const message = decodeMlsMessage(fromBase64Url(item.payload), 0)?.[0];
    if (message?.wireformat !== 'mls_private_message') throw new MessageRejected('malformed', 'commit item does not hold an MLS PrivateMessage');
    const epoch = state.groupContext.epoch;
    if (message.privateMessage.epoch !== epoch) {
      throw new MessageRejected(message.privateMessage.epoch > epoch ? 'future_epoch' : 'replayed', `commit for epoch ${message.privateMessage.epoch}, but the group is at epoch ${epoch}`);
    }
    const result = await this.withCredentialReasons(async () => {
      try {
        return await processPrivateMessage(state, message.privateMessage, emptyPskIndex, this.cs);
      } catch (error) {
        throw error instanceof MessageRejected ? error : new MessageRejected('decryption_failed', `commit refused: ${(error as Error).message}`);
      }
    });
    if (result.kind !== 'newState') throw new MessageRejected('malformed', 'commit item holds an application message');
    const sender = await this.senderOf(state, message.privateMessage);
    if (sender.username !== item.sender.username || sender.deviceId !== item.sender.deviceId) {
      throw new MessageRejected('sender_mismatch', `the server says ${identityText(item.sender)} committed, MLS says ${identityText(sender)}`);
    }
    meta.epochEnds[String(epoch)] = item.seq;
    markSeen(meta, item.seq);
    const removed = result.newState.groupActiveState.kind === 'removedFromGroup';
    if (removed) meta.status = 'removed';
    await (removed ? this.groupStore.forget(item.groupId, meta) : this.groupStore.save(item.groupId, result.newState, meta));
    if (removed) {
      this.emit({ type: 'removed', groupId: item.groupId });
      return;
    }
    const before = groupMembers(state);
    const after = groupMembers(result.newState);
    const beforeIds = new Set(before.map((m) => m.deviceId));
    const afterIds = new Set(after.map((m) => m.deviceId));
    this.emit({
      type: 'membership',
      groupId: item.groupId,
      added: after.filter((m) => !beforeIds.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
      removed: before.filter((m) => !afterIds.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
    });
  }

  /** Who sent a PrivateMessage: its sender data names a leaf, whose credential our AS accepted. */
  private async senderOf(state: ClientState, pm: { epoch: bigint } & Parameters<typeof decryptSenderData>[0]): Promise<DeviceIdentity> {
    const historical = pm.epoch < state.groupContext.epoch ? state.historicalReceiverData.get(pm.epoch) : undefined;
    const secret = historical ? historical.senderDataSecret : state.keySchedule.senderDataSecret;
    const tree = historical ? historical.ratchetTree : state.ratchetTree;
    const senderData = await decryptSenderData(pm, secret, this.cs).catch(() => undefined);
    const leaf = senderData && tree[senderData.leafIndex * 2];
    const identity = leaf?.nodeType === 'leaf' ? parseDeviceCredential(leaf.leaf.credential) : undefined;
    if (!identity) throw new MessageRejected('decryption_failed', 'the sender of the message cannot be established');
    return identity;
  }

  private async processApplication(item: MailboxItem, state: ClientState, meta: GroupMeta): Promise<void> {
    let frame;
    try {
      frame = decodeFrame(fromBase64Url(item.payload));
    } catch (error) {
      throw new MessageRejected('malformed', `not a message frame: ${(error as Error).message}`);
    }
    const message = decodeMlsMessage(frame.mlsMessage, 0)?.[0];
    if (message?.wireformat !== 'mls_private_message') throw new MessageRejected('malformed', 'message frame does not hold an MLS PrivateMessage');
    const pm = message.privateMessage;
    if (b64(pm.groupId) !== item.groupId) throw new MessageRejected('malformed', 'the MLS message is for another group');
    const current = state.groupContext.epoch;
    if (pm.epoch > current) throw new MessageRejected('future_epoch', `message from epoch ${pm.epoch}, but the group is at epoch ${current}: a commit is missing`);
    if (pm.epoch < current) {
      // A late message is fine only if the server ordered it before the commit that ended its epoch; after
      // that, the epoch's members may include people since removed.
      const end = meta.epochEnds[String(pm.epoch)];
      if (end === undefined || item.seq > end) {
        throw new MessageRejected('stale_epoch_sender', `message from epoch ${pm.epoch} ordered after that epoch ended (seq ${item.seq} > ${end ?? '?'}): a removed member or a replay`);
      }
    }
    const sender = await this.senderOf(state, pm);
    if (sender.username !== item.sender.username || sender.deviceId !== item.sender.deviceId) {
      throw new MessageRejected('sender_mismatch', `the server says ${identityText(item.sender)} sent it, MLS says ${identityText(sender)}`);
    }
    let result;
    try {
      result = await processPrivateMessage(state, pm, emptyPskIndex, this.cs);
    } catch (error) {
      const text = (error as Error).message;
      const replay = /gen in the past|generation|consumed/i.test(text);
      throw new MessageRejected(replay ? 'replayed' : 'decryption_failed', replay ? `replayed or duplicated MLS message: ${text}` : `MLS decryption failed (tampered or not for us): ${text}`);
    }
    if (result.kind !== 'applicationMessage') throw new MessageRejected('malformed', 'application item holds a handshake message');
    // The escrow field's label names the devices of the message's epoch (the tree it was sent in).
    const epochTree = pm.epoch < current ? state.historicalReceiverData.get(pm.epoch)?.ratchetTree : state.ratchetTree;
    const recipientDevices = groupMembers({ ratchetTree: epochTree ?? state.ratchetTree }).map((m) => m.deviceId).filter((d) => d !== sender.deviceId);
    const context: EnvelopeContext = { groupId: fromBase64Url(item.groupId), senderUsername: sender.username, senderDeviceId: sender.deviceId, clientMessageId: item.clientMessageId, recipientDevices };
    let opened;
    let content: MessageContent;
    try {
      // A provider may need to fetch what verify() needs for this field first (e.g. an epoch's certified key).
      const escrow = this.options.escrow;
      if (escrow?.prepare && frame.escrow) await escrow.prepare(frame.escrow.field);
      opened = openEnvelope(result.message, frame.sealedPayload, frame.escrow, context, item.franking ? fromBase64Url(item.franking.commitment) : undefined, this.options.escrow, item.serverTime);
      content = decodeContent(opened.payload);
    } catch (error) {
      // The ratchet step is kept: the key is spent even though the message was refused.
      markSeen(meta, item.seq);
      await this.groupStore.save(item.groupId, result.newState, meta);
      throw new MessageRejected('envelope_rejected', (error as Error).message);
    }
    markSeen(meta, item.seq);
    if (content.type === 'rename') meta.name = content.name;
    const received: ReceivedMessage = {
      groupId: item.groupId,
      seq: item.seq,
      serverTime: item.serverTime,
      clientMessageId: item.clientMessageId,
      sender,
      content,
      franking: { payload: b64(opened.payload), frankingKey: b64(opened.frankingKey), commitment: b64(opened.frankingCommitment), tag: item.franking!.tag },
    };
    await this.groupStore.save(item.groupId, result.newState, meta, [jsonWrite(`msg/${item.groupId}/${String(item.seq).padStart(12, '0')}`, received)]);
    if (content.type === 'leave') {
      if (sender.username === this.username) {
        await this.groupStore.forget(item.groupId, { ...meta, status: 'left' });
        this.emit({ type: 'removed', groupId: item.groupId });
      } else {
        this.pendingLeaves.push({ groupId: item.groupId, username: sender.username });
      }
    }
    this.emit({ type: 'message', message: received });
  }

  /** Messages received in a group, oldest first. */
  async history(groupId: string): Promise<ReceivedMessage[]> {
    const keys = await this.storage.keys(`msg/${groupId}/`);
    const out: ReceivedMessage[] = [];
    for (const key of keys) {
      const m = await getJson<ReceivedMessage>(this.storage, key);
      if (m) out.push(m);
    }
    return out;
  }

  // ---------------------------------------------------------------- reporting

  /** Reports a received message to the server, revealing exactly its payload and franking key. */
  report(message: ReceivedMessage, reason = '') {
    return this.api.report({
      groupId: message.groupId,
      seq: message.seq,
      clientMessageId: message.clientMessageId,
      sender: message.sender,
      serverTime: message.serverTime,
      payload: message.franking.payload,
      frankingKey: message.franking.frankingKey,
      commitment: message.franking.commitment,
      tag: message.franking.tag,
      reason,
    });
  }

  async close(): Promise<void> {
    this.disconnect();
    await this.lock.catch(() => undefined);
  }
}
