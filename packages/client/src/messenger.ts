/**
 * The messenger SDK: one device of one account, talking to the Doublelock server over HTTP and WebSocket.
 * Every group — a 1:1 chat is a group of two people — is an MLS group (RFC 9420) whose leaves are all the
 * devices of all its members. Messages are envelopes (envelope/envelope.ts) inside MLS application
 * messages; the server orders each group and fans messages out to device mailboxes.
 *
 * This class is the public face; the work is done by parts sharing one MessengerContext (core/context.ts):
 *   devices/linking.ts      the account, its devices, safety numbers
 *   devices/keyPackages.ts  this device's KeyPackages, claiming others'
 *   groups/membership.ts    creating groups, adding/removing people, the commit loop
 *   content/messages.ts     sending, attachments, history, reports
 *   content/features.ts     replies, reactions, edits, deletes, receipts, typing, timers, admins, blocking
 *   sync/syncEngine.ts      mailbox catch-up and push; sync/incoming.ts applies each item
 */
import { checkDelivery } from './groups/deliveryCheck.ts';
import { externalRejoinAllowed, type MailboxItem } from '@doublelock/protocol';
import type { ServerApi } from './api/serverApi.ts';
import type { ChatMessage, Preferences } from './content/conversation.ts';
import { ChatFeatures } from './content/features.ts';
import { Messages } from './content/messages.ts';
import { MessengerContext } from './core/context.ts';
import { LeafChecker, type LeafFinding } from './groups/leafCheck.ts';
import { Rejoin } from './groups/rejoin.ts';
import type { GroupSummary, ImagePreview, MessengerEvent, MessengerOptions, OutgoingFile, ReceivedMessage } from './core/types.ts';
import type { DeviceRecord } from './device.ts';
import { KeyPackages } from './devices/keyPackages.ts';
import { DeviceManager, registerAccount } from './devices/linking.ts';
import { PendingLink } from './linkCode.ts';
import type { ServerKeyDirectory } from './directory.ts';
import type { MessageContent } from './envelope/content.ts';
import { Membership } from './groups/membership.ts';
import { TrustStore, type ContactTrust } from './devices/trust.ts';
import { suiteImpl } from './mls/suite.ts';
import { getJson } from './storage/storage.ts';
import { SyncEngine } from './sync/syncEngine.ts';
import { ALARMS_KEY, type MonitorAlarm } from './transparency/monitor.ts';

export { MessageRejected, RejoinUnconfirmed, type GroupSummary, type MessengerEvent, type MessengerOptions, type ReceivedMessage, type RejectReason } from './core/types.ts';

export class Messenger {
  private readonly ctx: MessengerContext;
  private readonly devicesPart: DeviceManager;
  private readonly features: ChatFeatures;
  /** Groups that received messages since the last enforcement of deletes and timers. */
  private readonly touched = new Set<string>();

  private constructor(ctx: MessengerContext) {
    this.ctx = ctx;
    this.features = new ChatFeatures(ctx);
    ctx.on((e) => {
      if (e.type === 'message') this.touched.add(e.message.groupId);
    });
    ctx.keyPackages = new KeyPackages(ctx);
    ctx.membership = new Membership(ctx);
    ctx.leafCheck = new LeafChecker(ctx);
    ctx.rejoin = new Rejoin(ctx);
    ctx.messages = new Messages(ctx);
    ctx.sync = new SyncEngine(ctx);
    ctx.trust = new TrustStore(ctx);
    this.devicesPart = new DeviceManager(ctx);
  }

  get api(): ServerApi {
    return this.ctx.api;
  }
  get directory(): ServerKeyDirectory {
    return this.ctx.directory;
  }
  get device(): DeviceRecord {
    return this.ctx.device;
  }
  get username(): string {
    return this.ctx.username;
  }
  get deviceId(): string {
    return this.ctx.deviceId;
  }

  // ---------------------------------------------------------------- accounts and devices

  /** Creates the account with this as its first device (which keeps the account identity key). */
  static async register(options: MessengerOptions, username: string, deviceName = 'device'): Promise<Messenger> {
    const messenger = await Messenger.create(await registerAccount(options, username, deviceName), options);
    await messenger.topUpKeyPackages();
    return messenger;
  }

  /** Opens the device kept in `options.storage`. */
  static async open(options: MessengerOptions): Promise<Messenger> {
    const device = await getJson<DeviceRecord>(options.storage, 'device');
    if (!device) throw new Error('This storage holds no device: register or provision one first.');
    return Messenger.create(device, options);
  }

  /**
   * Starts linking this storage as a new device of `username` (Signal-style): keys are made here; show
   * `code` to an existing device of the account (approveDevice there), then `await pending.complete()`.
   */
  static link(options: MessengerOptions, username: string, deviceName = 'linked device'): Promise<PendingLink> {
    return PendingLink.start(options, username, deviceName, (o) => Messenger.open(o));
  }

  /** The link this storage is waiting on (e.g. after a reload), if any. */
  static pendingLink(options: MessengerOptions): Promise<PendingLink | undefined> {
    return PendingLink.resume(options, (o) => Messenger.open(o));
  }

  private static async create(device: DeviceRecord, options: MessengerOptions): Promise<Messenger> {
    // A device talks to the server it was registered on unless told otherwise.
    const resolved = { ...options, serverUrl: options.serverUrl || device.server };
    const ctx = new MessengerContext(device, resolved, await suiteImpl(options.cryptoProvider));
    await ctx.enableTransparency();
    const messenger = new Messenger(ctx);
    await messenger.features.preferences(); // loaded now: events are filtered synchronously
    return messenger;
  }

  /**
   * Reads the transparency log for this account's entries since the last run (options.transparency): a
   * device or identity key this account did not make raises 'transparency_alarm' (and is kept in storage,
   * see transparencyAlarms()); a device another device of the account added is announced.
   */
  async monitorOwnAccount(): Promise<{ alarms: MonitorAlarm[]; added: string[] }> {
    return this.ctx.monitorOwnAccount();
  }

  /** Alarms raised by own-account monitoring, oldest first (kept until the app dismisses them). */
  async transparencyAlarms(): Promise<MonitorAlarm[]> {
    return (await getJson<MonitorAlarm[]>(this.ctx.storage, ALARMS_KEY)) ?? [];
  }

  /**
   * Approves a new device from the code it shows: any device of the account can. Waits up to `waitMs` for
   * it to come up and adds it to every chat (false when it did not come up in time: it joins with the next
   * reconcileDevices(), e.g. on the next "devices sync").
   */
  approveDevice(code: string, name?: string, waitMs = 60_000): Promise<{ deviceId: string; inAllChats: boolean }> {
    return this.devicesPart.approve(code, name, waitMs);
  }

  /** Revokes a device of this account and removes its leaves from every group this device is in. */
  revokeDevice(deviceId: string): Promise<void> {
    return this.devicesPart.revoke(deviceId);
  }

  devices() {
    return this.devicesPart.list();
  }

  /** The 60-digit safety number of this account and another, from the identity keys pinned here. */
  safetyNumber(username: string): Promise<string> {
    return this.devicesPart.safetyNumber(username);
  }

  /** A contact's trust: 'unverified', 'verified' (set by the user), or 'changed' (a safety-number change). */
  trust(username: string): Promise<ContactTrust> {
    return this.ctx.trust.status(username);
  }

  /** Sets 'verified' after the user compared safety numbers; shared with this account's other devices. */
  setVerified(username: string, verified = true): Promise<ContactTrust> {
    return this.ctx.trust.setVerified(username, verified);
  }

  /** Accepts a contact's changed identity key after the user saw the new safety number (shared too). */
  acceptIdentityChange(username: string): Promise<ContactTrust> {
    return this.ctx.trust.acceptChange(username);
  }

  // ---------------------------------------------------------------- events

  /** Events; messages from blocked people are not delivered to listeners. */
  on(listener: (event: MessengerEvent) => void): () => void {
    return this.ctx.on((e) => {
      if (e.type === 'message' && this.features.isBlocked(e.message.sender.username)) return;
      listener(e);
    });
  }

  // ---------------------------------------------------------------- key packages

  /** Keeps `keyPackageTarget` one-time KeyPackages (and a last-resort one) on the server. */
  topUpKeyPackages(): Promise<number> {
    return this.ctx.keyPackages.topUp();
  }

  // ---------------------------------------------------------------- groups

  groups(): Promise<GroupSummary[]> {
    return this.ctx.membership.groups();
  }

  group(groupId: string): Promise<GroupSummary> {
    return this.ctx.membership.group(groupId);
  }

  /**
   * A new group with these people (all their devices, and this account's other devices). With
   * `admins: true` its creator is its admin (only admins add, remove and rename); otherwise everyone
   * manages until someone names admins. Nothing is created when a name is unknown or blocked.
   */
  async createGroup(name: string, usernames: string[], options: { admins?: boolean; externalRejoin?: boolean } = {}): Promise<string> {
    await this.features.checkPeople(usernames);
    const groupId = await this.ctx.membership.createGroup(name, usernames, options);
    if (options.admins) await this.features.setAdmins(groupId, [this.username]);
    return groupId;
  }

  /** A 1:1 chat is a group of two people without admins; an existing one with the same person is reused. */
  async createChat(username: string): Promise<string> {
    await this.features.checkPeople([username]);
    return (await this.features.existingChat(username)) ?? this.ctx.membership.createGroup(`${this.username} & ${username}`, [username]);
  }

  // Membership changes take their place in the device's queue when called (the checks run in it), so
  // calls made together apply in the order they were made.
  async addMembers(groupId: string, usernames: string[]): Promise<void> {
    await this.ctx.exclusive(async () => {
      await this.features.requireManager(groupId, 'add people');
      await this.features.checkPeople(usernames);
      await this.ctx.membership.addLocked(groupId, usernames);
    });
  }

  /** Removes people (all their devices) from the group. */
  removeMembers(groupId: string, usernames: string[]): Promise<void> {
    return this.ctx.exclusive(async () => {
      await this.features.requireManager(groupId, 'remove people');
      await this.ctx.membership.removeUsersLocked(groupId, usernames);
    });
  }

  /** Leaves: tells the group (its members commit our removal) and forgets the group on this device. */
  leave(groupId: string): Promise<void> {
    return this.ctx.membership.leave(groupId);
  }

  async rename(groupId: string, name: string): Promise<void> {
    await this.features.requireManager(groupId, 'rename the chat');
    return this.ctx.membership.rename(groupId, name);
  }

  /** The group's admins (undefined: a chat without admins, where everyone manages). */
  admins(groupId: string): Promise<string[] | undefined> {
    return this.features.admins(groupId);
  }

  /**
   * The group's rejoin policy (protocol groupPolicy.ts): true when a device that lost its state may rejoin by
   * itself (external commit), false when only by being re-added (`createGroup(…, { externalRejoin: false })`).
   */
  async externalRejoinAllowed(groupId: string): Promise<boolean> {
    const { state } = await this.ctx.groupStore.require(groupId);
    return externalRejoinAllowed(state.groupContext.extensions);
  }

  /**
   * Compares the server's member list of each group (or of these) with the group's MLS members; differences
   * are returned and announced (event `delivery_mismatch`). Also run after syncs, at most every 10 minutes.
   */
  checkDelivery(groupIds?: string[]) {
    return this.ctx.exclusive(() => checkDelivery(this.ctx, groupIds));
  }

  /** Names the admins (an admin only). */
  setAdmins(groupId: string, usernames: string[]) {
    return this.features.setAdmins(groupId, usernames);
  }

  /**
   * Brings every group in line with the key directory: adds this account's devices that are missing
   * (a new device joins through commits made here) and removes the leaves of revoked devices.
   */
  /**
   * Asks the group's members to re-add this device (its state for the group is lost or too far behind): a
   * signed request with a fresh KeyPackage; a member re-adds it and the Welcome replaces the lost state
   * (groups/rejoin.ts). `sync()` does this by itself when the mailbox is drained and the group is still at
   * an epoch the server has left behind.
   */
  rejoin(groupId: string): Promise<void> {
    return this.ctx.exclusive(async () => {
      await this.ctx.rejoin.requestLocked(groupId);
      this.ctx.emit({ type: 'rejoin_requested', groupId });
    });
  }

  /**
   * Re-checks every leaf of this device's groups (or of `groupIds`) against the directory as the log shows
   * it now: revoked devices are removed, leaves the logged state no longer vouches for are removed (when this
   * device may manage the group) or flagged; each finding is also an event `leaf_flagged`. Runs by itself
   * while syncing, every `options.leafCheckIntervalMs`.
   */
  recheckLeaves(groupIds?: string[]): Promise<LeafFinding[]> {
    return this.ctx.exclusive(() => this.ctx.leafCheck.checkLocked(groupIds));
  }

  reconcileDevices(): Promise<void> {
    return this.ctx.membership.reconcileDevices();
  }

  // ---------------------------------------------------------------- messages

  sendText(groupId: string, text: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.ctx.exclusive(() => this.ctx.messages.sendLocked(groupId, { type: 'text', text }));
  }

  /** A text in reply to message `to` (a client message id). */
  reply(groupId: string, to: string, text: string) {
    return this.features.reply(groupId, to, text);
  }

  /** Reacts to a message with an emoji (`remove` takes the reaction back). */
  react(groupId: string, to: string, emoji: string, remove = false) {
    return this.features.react(groupId, to, emoji, remove);
  }

  /** Replaces the text of one of this account's messages, for everyone. */
  edit(groupId: string, id: string, text: string) {
    return this.features.edit(groupId, id, text);
  }

  /** Deletes one of this account's messages for everyone: every device removes its copy. */
  deleteMessage(groupId: string, id: string) {
    return this.features.delete(groupId, id);
  }

  /** Typing indicator (not sent when this person turned them off); true if sent. */
  typing(groupId: string, active: boolean): Promise<boolean> {
    return this.features.typing(groupId, active);
  }

  /** Read receipts for the chat's unacknowledged messages (none when turned off); how many. */
  markRead(groupId: string): Promise<number> {
    return this.features.markRead(groupId);
  }

  /** Disappearing messages: later messages are deleted on every device `seconds` after sending (0: off). */
  setDisappearingTimer(groupId: string, seconds: number) {
    return this.features.setTimer(groupId, seconds);
  }

  /** The chat as shown: replies, reactions, edits, deletes, receipts folded in; expired and blocked left out. */
  conversation(groupId: string): Promise<ChatMessage[]> {
    return this.features.conversation(groupId);
  }

  preferences(): Promise<Preferences> {
    return this.features.preferences();
  }

  /** Read receipts and typing indicators, on or off (reciprocal: off also hides the others'). */
  setPreferences(change: Partial<Omit<Preferences, 'blocked'>>): Promise<Preferences> {
    return this.features.setPreferences(change);
  }

  block(username: string): Promise<void> {
    return this.features.block(username, true);
  }

  unblock(username: string): Promise<void> {
    return this.features.block(username, false);
  }

  /** Applies deletes and disappearing timers to this device's copy of every chat (run it now and then). */
  async enforceRetention(): Promise<number> {
    let removed = 0;
    for (const g of await this.groups()) removed += await this.features.enforce(g.groupId);
    return removed;
  }

  /** Encrypts the file, uploads it as a blob of the group, and sends its key and hashes in a message. */
  sendFile(groupId: string, file: Uint8Array, name: string, mime = 'application/octet-stream', caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.ctx.messages.sendFile(groupId, file, name, mime, caption);
  }

  /**
   * Sends a large file in bounded memory: `file.open()` must give its bytes from the start each time (it is
   * read twice: once to hash the sealed stream, once to upload it). Images get a preview if
   * `options.imagePreview` is set.
   */
  sendFileStream(groupId: string, file: OutgoingFile, caption?: string): Promise<{ seq: number; clientMessageId: string }> {
    return this.ctx.messages.sendFileStream(groupId, file, caption);
  }

  /** Downloads and checks an attachment received in a message, whole (small files; else downloadFileStream). */
  downloadFile(groupId: string, content: Extract<MessageContent, { type: 'file' }>): Promise<Uint8Array> {
    return this.ctx.messages.downloadFile(groupId, content);
  }

  /** An attachment as checked plaintext chunks; keep the result only if the iteration ends without an error. */
  downloadFileStream(groupId: string, content: Extract<MessageContent, { type: 'file' }>): AsyncGenerator<Uint8Array> {
    return this.ctx.messages.downloadFileStream(groupId, content);
  }

  /** The image preview the sender attached to a file message, checked; undefined if there is none. */
  downloadPreview(groupId: string, content: Extract<MessageContent, { type: 'file' }>): Promise<ImagePreview | undefined> {
    return this.ctx.messages.downloadPreview(groupId, content);
  }

  /** Messages sent and received in a group, oldest first. */
  history(groupId: string): Promise<ReceivedMessage[]> {
    return this.ctx.messages.history(groupId);
  }

  /** Reports a received message to the server, revealing exactly its payload and franking key. */
  report(message: ReceivedMessage, reason = '') {
    return this.ctx.messages.report(message, reason);
  }

  // ---------------------------------------------------------------- receiving

  /** Fetches and processes everything waiting in this device's mailbox (offline catch-up). */
  async sync(): Promise<number> {
    const n = await this.ctx.sync.sync();
    // Deletes and timers among what arrived take effect on this device now.
    for (const groupId of [...this.touched]) {
      this.touched.delete(groupId);
      if ((await this.ctx.groupStore.meta(groupId))?.status === 'active') await this.features.enforce(groupId);
    }
    return n;
  }

  /** Connects the push channel: catches up over HTTP, then processes pushed items as they come. */
  connect(): Promise<void> {
    return this.ctx.sync.connect();
  }

  disconnect(): void {
    this.ctx.sync.disconnect();
  }

  /**
   * Processes items in order; a refused item is reported (event 'rejected') and dropped; an item that meets
   * a transient failure stops the batch (rejects with TransientFailure). Returns the mailbox ids done with.
   */
  processItems(items: MailboxItem[]): Promise<number[]> {
    return this.ctx.sync.processItems(items);
  }

  async close(): Promise<void> {
    this.disconnect();
    await this.ctx.idle();
  }
}
