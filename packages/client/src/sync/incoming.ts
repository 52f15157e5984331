/**
 * Applying one mailbox item: a Welcome (joining a group), a commit (the next epoch) or an application
 * message (an envelope). Each either applies fully or throws MessageRejected and changes nothing (except
 * a spent ratchet key, which is kept spent).
 *
 * Rules: a message from an earlier epoch is accepted only if the server ordered it before the commit that
 * ended that epoch; the sender the server names must be the leaf MLS says sent it. An item for an epoch
 * this device has not reached yet (its commit is still to come) is kept (`buffer/<group>/<seq>`) and
 * processed right after the commit that reaches that epoch, not dropped. Credentials in commits and
 * Welcomes are judged as of the item's server time (an old add of a since-revoked device still applies).
 */
import { commitRejectionBytes, fromBase64Url, voidNotice, type MailboxItem, type VoidNotice } from '@doublelock/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { decodeMlsMessage, emptyPskIndex, joinGroup, processPrivateMessage, type ClientState, type PrivateKeyPackage } from 'ts-mls';
import { decodeKeyPackage } from 'ts-mls/keyPackage.js';
import { decryptSenderData } from 'ts-mls/privateMessage.js';
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { checkCommitAgainstAdmins, mayManage } from '../groups/adminRule.ts';
import { isRejoinRequest, rejoinedDevices, rejoinKey } from '../groups/rejoin.ts';
import { acksRejoin, checkExternalCommit, confirmedBy, unconfirmedKey } from '../groups/externalRejoin.ts';
import { asHandshake, handshakeEpoch, handshakeSenderLeaf, processHandshake, type HandshakeMessage } from '../mls/handshake.ts';
import { b64, identityText, type MessengerContext } from '../core/context.ts';
import { isTransient, TransientFailure } from '../core/transient.ts';
import { MessageRejected, type ReceivedMessage, type RejectReason } from '../core/types.ts';
import { historyKey } from '../content/messages.ts';
import type { StoredKeyPackage } from '../devices/keyPackages.ts';
import { decodeContent, type MessageContent } from '../envelope/content.ts';
import { openEnvelope, type EnvelopeContext } from '../envelope/envelope.ts';
import { decodeFrame } from '../envelope/frame.ts';
import { groupMembers, isSeen, markSeen, newGroupMeta, type GroupMeta } from '../groupStore.ts';
import { parseDeviceCredential, type DeviceIdentity } from '../mls/credential.ts';
import { getJson, jsonWrite, type StorageWrite } from '../storage/storage.ts';

/** Refusals that say a commit is itself invalid (every member judges it the same way): reported to the server. */
const INVALID_COMMIT: ReadonlySet<RejectReason> = new Set<RejectReason>(['malformed', 'decryption_failed', 'sender_mismatch', 'credential_rejected', 'not_admin', 'external_commit_refused']);

/** The commit this device last reported invalid in a group (`{ seq, epoch, at }`), until it is voided. */
export const reportedCommitKey = (groupId: string) => `reported/${groupId}`;
/** How long a device that reported a commit invalid waits for the void before it counts itself lost. */
export const VOID_GRACE_MS = 10 * 60_000;

/** Items kept per group for epochs not reached yet; more than this and the newest is refused. */
export const MAX_BUFFERED_PER_GROUP = 1000;
const bufferKey = (groupId: string, seq: number) => `buffer/${groupId}/${String(seq).padStart(12, '0')}`;

export class IncomingItems {
  /** Groups whose state a voided commit left out of step with no undo point kept: they rejoin after the batch. */
  lostByVoid: string[] = [];
  /** People who sent a 'leave': their removal is committed after the batch (see SyncEngine). */
  pendingLeaves: Array<{ groupId: string; username: string }> = [];
  /** Devices that rejoined by external commit, for which this device sends the `rejoin_ack` after the batch. */
  pendingAcks: Array<{ groupId: string; deviceId: string }> = [];

  constructor(private readonly ctx: MessengerContext) {}

  async process(item: MailboxItem): Promise<void> {
    if (item.kind === 'welcome') return this.processWelcome(item);
    const group = await this.ctx.groupStore.load(item.groupId);
    if (!group || group.meta.status !== 'active') {
      throw new MessageRejected('unknown_group', `${item.kind} for group ${item.groupId}, which this device is not in`);
    }
    if (isSeen(group.meta, item.seq)) return; // at-least-once delivery: already applied
    if (item.kind === 'void') return this.processVoid(item, group.meta);
    try {
      if (item.kind === 'commit') await this.processCommit(item, group.state, group.meta);
      else await this.processApplication(item, group.state, group.meta);
    } catch (error) {
      if (error instanceof MessageRejected && error.reason === 'future_epoch') return this.keepForLater(item, error);
      if (item.kind === 'commit' && error instanceof MessageRejected && INVALID_COMMIT.has(error.reason)) await this.reportInvalidCommit(item, error);
      throw error;
    }
    if (item.kind === 'commit') await this.processBuffered(item.groupId);
  }

  /**
   * Tells the server, signed with this device's key, that this commit failed its checks. Every member runs
   * the same checks, so a commit invalid for one honest member is invalid for all; when a majority of the
   * accounts that stay in the group have said so, the server voids it (and sends a `void` item).
   */
  private async reportInvalidCommit(item: MailboxItem, error: MessageRejected): Promise<void> {
    const { ctx } = this;
    const signed = commitRejectionBytes({ groupId: item.groupId, epoch: item.epoch, seq: item.seq, commitHash: sha256(fromBase64Url(item.payload)) });
    const signature = await ctx.cs.signature.sign(fromBase64Url(ctx.device.deviceSecret), signed);
    try {
      await ctx.api.rejectCommit(item.groupId, item.seq, `${error.reason}: ${error.message}`, b64(signature));
      await ctx.storage.write([jsonWrite(reportedCommitKey(item.groupId), { seq: item.seq, epoch: item.epoch, at: Date.now() })]);
    } catch (failure) {
      // Unreachable server: keep the item and report on the next try. A 4xx (already void, superseded) ends it.
      if (isTransient(failure)) throw new TransientFailure(failure);
    }
  }

  /**
   * The server voided a commit (its members found it invalid). A device that refused it stays at its
   * epoch and drops what it kept for the voided epoch; a device that made it or had applied it goes back to
   * before it (the undo point kept with the commit), but only on a majority of the other remaining accounts'
   * signed rejections of that very commit (a server cannot undo a commit on its own word) — without an undo
   * point it rejoins as a lost device (SyncEngine); a device that joined from its Welcome leaves that group state.
   */
  private async processVoid(item: MailboxItem, meta: GroupMeta): Promise<void> {
    const { ctx } = this;
    let notice: VoidNotice;
    try {
      notice = voidNotice.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(item.payload))));
    } catch {
      throw new MessageRejected('malformed', 'a void item without a valid notice');
    }
    const appliedHere = meta.epochEnds[String(notice.epoch)] === notice.voidedSeq;
    const voided = (rolledBack: boolean) => ctx.emit({ type: 'commit_voided', groupId: item.groupId, seq: notice.voidedSeq, appliedHere, rolledBack });
    if (meta.joinedAt === notice.voidedSeq + 1) {
      await ctx.groupStore.forget(item.groupId, { ...meta, status: 'removed' });
      voided(false);
      ctx.emit({ type: 'removed', groupId: item.groupId });
      return;
    }
    const recovery = appliedHere ? await this.recoverFromVoid(item.groupId, notice, item.sender.username) : 'stays';
    if (recovery === 'rolledBack') {
      const restored = await ctx.groupStore.require(item.groupId);
      markSeen(restored.meta, item.seq);
      await ctx.groupStore.saveMeta(item.groupId, restored.meta);
      voided(true);
      return;
    }
    if (recovery === 'lost') this.lostByVoid.push(item.groupId);
    if (!appliedHere) {
      for (const key of await ctx.storage.keys(`buffer/${item.groupId}/`)) {
        const kept = await getJson<MailboxItem>(ctx.storage, key);
        if (kept && kept.seq > notice.voidedSeq && kept.seq < item.seq) await ctx.storage.write([{ key, value: undefined }]);
      }
    }
    markSeen(meta, item.seq);
    await ctx.groupStore.saveMeta(item.groupId, meta, [{ key: reportedCommitKey(item.groupId), value: undefined }]);
    voided(false);
  }

  /**
   * A voided commit this device had applied (its own, or another's it found valid): only if devices of a majority
   * of the remaining accounts other than the committer's signed their rejection of this very commit (its hash,
   * kept with the undo point), back to the state before it ('rolledBack'), or — that state not kept — 'lost'
   * (it rejoins). Otherwise it 'stays' where it is (the server's word alone undoes nothing).
   */
  private async recoverFromVoid(groupId: string, notice: VoidNotice, committer: string): Promise<'rolledBack' | 'lost' | 'stays'> {
    const { ctx } = this;
    const undo = await ctx.groupStore.undoFor(groupId, notice.voidedSeq);
    if (!undo) return 'stays';
    const { state: now } = await ctx.groupStore.require(groupId);
    const kept = undo.before && undo.before.groupContext.epoch === BigInt(notice.epoch) ? undo.before : undefined;
    if (!(await this.majorityRejected(groupId, notice, kept ?? now, now, committer, undo.commitHash))) return 'stays';
    if (kept && (await ctx.groupStore.rollBack(groupId, notice.voidedSeq, notice.epoch))) return 'rolledBack';
    return 'lost';
  }

  /** Whether the notice carries rejections of the commit, signed by devices of a majority of the accounts that stay (the committer's aside). */
  private async majorityRejected(groupId: string, notice: VoidNotice, beforeState: ClientState, now: ClientState, committer: string, commitHash: Uint8Array): Promise<boolean> {
    const { ctx } = this;
    const before = groupMembers(beforeState);
    const stayed = new Set(groupMembers(now).map((m) => m.deviceId));
    const eligible = new Set(before.filter((m) => stayed.has(m.deviceId) && m.username !== committer).map((m) => m.username));
    const signed = commitRejectionBytes({ groupId, epoch: notice.epoch, seq: notice.voidedSeq, commitHash });
    const rejecting = new Set<string>();
    for (const r of notice.rejections) {
      const member = before.find((m) => m.deviceId === r.deviceId && m.username === r.username);
      const leaf = member && beforeState.ratchetTree[member.leafIndex * 2];
      if (!member || !eligible.has(member.username) || leaf?.nodeType !== 'leaf') continue;
      if (await ctx.cs.signature.verify(leaf.leaf.signaturePublicKey, signed, fromBase64Url(r.signature)).catch(() => false)) rejecting.add(member.username);
    }
    return eligible.size > 0 && rejecting.size * 2 > eligible.size;
  }

  /** Keeps an item of a future epoch until its commit has been applied. */
  private async keepForLater(item: MailboxItem, error: MessageRejected): Promise<void> {
    const { storage } = this.ctx;
    if ((await storage.keys(`buffer/${item.groupId}/`)).length >= MAX_BUFFERED_PER_GROUP) throw error;
    await storage.write([jsonWrite(bufferKey(item.groupId, item.seq), item)]);
    this.ctx.emit({ type: 'buffered', groupId: item.groupId, seq: item.seq });
  }

  /** After a commit: the kept items of the group, in server order, as far as the group's epoch now goes. */
  private async processBuffered(groupId: string): Promise<void> {
    const { ctx } = this;
    for (const key of await ctx.storage.keys(`buffer/${groupId}/`)) {
      const item = await getJson<MailboxItem>(ctx.storage, key);
      const group = await ctx.groupStore.load(groupId);
      if (!item || !group || group.meta.status !== 'active') break;
      if (item.epoch > Number(group.state.groupContext.epoch)) continue; // still ahead (the server's epoch label)
      await ctx.storage.write([{ key, value: undefined }]);
      try {
        await this.process(item);
      } catch (error) {
        if (error instanceof TransientFailure) {
          await ctx.storage.write([jsonWrite(key, item)]);
          throw error;
        }
        ctx.emit({ type: 'rejected', item, error: error instanceof MessageRejected ? error : new MessageRejected('malformed', String(error)) });
      }
    }
  }

  private async processWelcome(item: MailboxItem): Promise<void> {
    const { ctx } = this;
    const previous = await ctx.groupStore.meta(item.groupId);
    // A group this device is in: a duplicate — unless it asked to rejoin it (its state was lost).
    const rejoining = previous?.status === 'active' && (await ctx.rejoin.asked(item.groupId)) !== undefined;
    if (previous?.status === 'active' && !rejoining) return;
    const message = decodeMlsMessage(fromBase64Url(item.payload), 0)?.[0];
    if (message?.wireformat !== 'mls_welcome') throw new MessageRejected('malformed', 'welcome item does not hold an MLS Welcome');
    let stored: StoredKeyPackage | undefined;
    let ref = '';
    for (const secret of message.welcome.secrets) {
      ref = bytesToHex(secret.newMember);
      stored = await getJson<StoredKeyPackage>(ctx.storage, `kp/${ref}`);
      if (stored) break;
    }
    if (!stored) throw new MessageRejected('no_key_package', 'the Welcome is for none of this device’s KeyPackages');
    const keyPackage = decodeKeyPackage(fromBase64Url(stored.publicPackage), 0)?.[0];
    if (!keyPackage) throw new MessageRejected('malformed', 'stored KeyPackage does not decode');
    const tree = item.ratchetTree ? decodeRatchetTree(fromBase64Url(item.ratchetTree), 0)?.[0] : undefined;
    // ts-mls checks the leaves one by one; fetch their accounts together first.
    if (tree) await ctx.prefetchAccounts(groupMembers({ ratchetTree: tree }).map((m) => m.username));
    const privateKeys: PrivateKeyPackage = {
      initPrivateKey: fromBase64Url(stored.initPrivateKey),
      hpkePrivateKey: fromBase64Url(stored.hpkePrivateKey),
      signaturePrivateKey: fromBase64Url(ctx.device.deviceSecret),
    };
    const state = await ctx.withCredentialReasons(() => joinGroup(message.welcome, keyPackage, privateKeys, emptyPskIndex, ctx.cs, tree, undefined, ctx.config), item.serverTime);
    if (b64(state.groupContext.groupId) !== item.groupId) throw new MessageRejected('malformed', 'the Welcome is for another group than the server says');
    const meta = { ...newGroupMeta(rejoining ? previous!.name : 'chat'), joinedAt: item.seq };
    markSeen(meta, item.seq, item.seq - 1);
    // Rejoining: the new state replaces the lost one, and what was kept for epochs of the old one goes.
    const dropped = rejoining ? [rejoinKey(item.groupId), unconfirmedKey(item.groupId), ...(await ctx.storage.keys(`buffer/${item.groupId}/`))].map((key) => ({ key, value: undefined })) : [];
    await ctx.groupStore.save(item.groupId, state, meta, [...(stored.lastResort ? [] : [{ key: `kp/${ref}`, value: undefined }]), ...dropped]);
    ctx.keyPackages.joinedSinceTopUp = true;
    ctx.emit(rejoining ? { type: 'rejoined', groupId: item.groupId, ...ctx.me } : { type: 'joined', groupId: item.groupId });
  }

  private async processCommit(item: MailboxItem, state: ClientState, meta: GroupMeta): Promise<void> {
    const { ctx } = this;
    const message = asHandshake(decodeMlsMessage(fromBase64Url(item.payload), 0)?.[0]);
    if (!message) throw new MessageRejected('malformed', 'commit item does not hold an MLS PrivateMessage or PublicMessage');
    const epoch = state.groupContext.epoch;
    const commitEpoch = handshakeEpoch(message);
    if (commitEpoch !== epoch) {
      throw new MessageRejected(commitEpoch > epoch ? 'future_epoch' : 'replayed', `commit for epoch ${commitEpoch}, but the group is at epoch ${epoch}`);
    }
    // An external commit: only a member device rejoining in its own place (groups/externalRejoin.ts), checked
    // before MLS processes it; its new leaf's credential then goes through the AS like any leaf.
    const rejoining =
      message.wireformat === 'mls_public_message' && message.publicMessage.content.sender.senderType === 'new_member_commit' ? checkExternalCommit(state, message.publicMessage) : undefined;
    const result = await ctx.withCredentialReasons(async () => {
      try {
        return await processHandshake(state, message, ctx.cs);
      } catch (error) {
        throw error instanceof MessageRejected ? error : new MessageRejected('decryption_failed', `commit refused: ${(error as Error).message}`);
      }
    }, item.serverTime);
    if (result.kind !== 'newState') throw new MessageRejected('malformed', 'commit item holds an application message');
    const sender = rejoining ?? (await this.commitSender(state, message));
    if (sender.username !== item.sender.username || sender.deviceId !== item.sender.deviceId) {
      throw new MessageRejected('sender_mismatch', `the server says ${identityText(item.sender)} committed, MLS says ${identityText(sender)}`);
    }
    // Only admins change membership (beyond one's own devices and revoked ones) or the admin list; checked
    // here whatever the server accepted.
    await checkCommitAgainstAdmins(ctx, state, result.newState, sender);
    meta.epochEnds[String(epoch)] = item.seq;
    markSeen(meta, item.seq);
    // Another member's commit in our rejoin's new epoch: it processed our external commit (groups/externalRejoin.ts).
    const confirmed = confirmedBy(meta, epoch, sender.deviceId, ctx.deviceId);
    if (confirmed) delete meta.unconfirmedRejoin;
    const removed = result.newState.groupActiveState.kind === 'removedFromGroup';
    if (removed) meta.status = 'removed';
    if (removed) await ctx.groupStore.forget(item.groupId, meta);
    else {
      // The state before the commit is kept until the next one: should the group void this commit (its other
      // members found it invalid), this device goes back to it (processVoid).
      const undo = await ctx.groupStore.undoPoint(item.groupId, item.seq, sha256(fromBase64Url(item.payload)));
      await ctx.groupStore.save(item.groupId, result.newState, meta, [...undo, ...(confirmed ? [{ key: unconfirmedKey(item.groupId), value: undefined }] : [])]);
    }
    if (removed) {
      ctx.emit({ type: 'removed', groupId: item.groupId });
      return;
    }
    const before = groupMembers(state);
    const after = groupMembers(result.newState);
    const beforeIds = new Set(before.map((m) => m.deviceId));
    const afterIds = new Set(after.map((m) => m.deviceId));
    ctx.emit({
      type: 'membership',
      groupId: item.groupId,
      added: after.filter((m) => !beforeIds.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
      removed: before.filter((m) => !afterIds.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
    });
    for (const device of rejoinedDevices(state, result.newState)) ctx.emit({ type: 'rejoined', groupId: item.groupId, ...device });
    if (rejoining) {
      ctx.emit({ type: 'rejoined', groupId: item.groupId, username: rejoining.username, deviceId: rejoining.deviceId });
      if (rejoining.deviceId !== ctx.deviceId && acksRejoin(result.newState, rejoining, ctx.deviceId)) this.pendingAcks.push({ groupId: item.groupId, deviceId: rejoining.deviceId });
    }
    if (confirmed) ctx.emit({ type: 'rejoined', groupId: item.groupId, ...ctx.me });
  }

  /** Who sent a commit: its (public, or encrypted) sender names a leaf, whose credential our AS accepted. */
  private async commitSender(state: ClientState, message: HandshakeMessage): Promise<DeviceIdentity> {
    const sender = await handshakeSenderLeaf(state, message, this.ctx.cs);
    const leaf = sender && sender.tree[sender.leafIndex * 2];
    const identity = leaf?.nodeType === 'leaf' ? parseDeviceCredential(leaf.leaf.credential) : undefined;
    if (!identity) throw new MessageRejected('decryption_failed', 'the sender of the commit cannot be established');
    return identity;
  }

  /** Who sent a PrivateMessage: its sender data names a leaf, whose credential our AS accepted. */
  private async senderOf(state: ClientState, pm: { epoch: bigint } & Parameters<typeof decryptSenderData>[0]): Promise<DeviceIdentity> {
    const historical = pm.epoch < state.groupContext.epoch ? state.historicalReceiverData.get(pm.epoch) : undefined;
    const secret = historical ? historical.senderDataSecret : state.keySchedule.senderDataSecret;
    const tree = historical ? historical.ratchetTree : state.ratchetTree;
    const senderData = await decryptSenderData(pm, secret, this.ctx.cs).catch(() => undefined);
    const leaf = senderData && tree[senderData.leafIndex * 2];
    const identity = leaf?.nodeType === 'leaf' ? parseDeviceCredential(leaf.leaf.credential) : undefined;
    if (!identity) throw new MessageRejected('decryption_failed', 'the sender of the message cannot be established');
    return identity;
  }

  private async processApplication(item: MailboxItem, state: ClientState, meta: GroupMeta): Promise<void> {
    const { ctx } = this;
    const bytes = fromBase64Url(item.payload);
    if (isRejoinRequest(bytes)) {
      // A member that lost its state asks to be re-added (groups/rejoin.ts); checked against its leaf.
      try {
        await ctx.rejoin.received(item, bytes, state);
      } catch (error) {
        throw error instanceof MessageRejected ? error : new MessageRejected('malformed', (error as Error).message);
      }
      markSeen(meta, item.seq);
      await ctx.groupStore.saveMeta(item.groupId, meta);
      return;
    }
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
      result = await processPrivateMessage(state, pm, emptyPskIndex, ctx.cs);
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
      const escrow = ctx.options.escrow;
      if (escrow?.prepare && frame.escrow) await escrow.prepare(frame.escrow.field);
      opened = openEnvelope(result.message, frame.sealedPayload, frame.escrow, context, item.franking ? fromBase64Url(item.franking.commitment) : undefined, ctx.options.escrow, item.serverTime);
      content = decodeContent(opened.payload);
    } catch (error) {
      // The ratchet step is kept: the key is spent even though the message was refused.
      markSeen(meta, item.seq);
      await ctx.groupStore.save(item.groupId, result.newState, meta);
      throw new MessageRejected('envelope_rejected', (error as Error).message);
    }
    markSeen(meta, item.seq);
    // A member's item in our rejoin's new epoch confirms it (groups/externalRejoin.ts).
    const confirmed = confirmedBy(meta, pm.epoch, sender.deviceId, ctx.deviceId);
    const confirmation: StorageWrite[] = confirmed ? [{ key: unconfirmedKey(item.groupId), value: undefined }] : [];
    if (confirmed) delete meta.unconfirmedRejoin;
    if (content.type === 'rejoin_ack') {
      // Not a chat message: nothing kept in the history, nothing shown.
      await ctx.groupStore.save(item.groupId, result.newState, meta, confirmation);
      if (confirmed) ctx.emit({ type: 'rejoined', groupId: item.groupId, ...ctx.me });
      return;
    }
    // Renames are honoured from the group's admins only (the list in the group's context: groups/adminRule.ts).
    if (content.type === 'rename' && mayManage(state, sender.username)) meta.name = content.name;
    if (content.type === 'trust') await ctx.trust.received(item.groupId, sender, content);
    const received: ReceivedMessage = {
      groupId: item.groupId,
      seq: item.seq,
      serverTime: item.serverTime,
      clientMessageId: item.clientMessageId,
      sender,
      content,
      franking: { payload: b64(opened.payload), frankingKey: b64(opened.frankingKey), commitment: b64(opened.frankingCommitment), tag: item.franking!.tag },
    };
    await ctx.groupStore.save(item.groupId, result.newState, meta, [jsonWrite(historyKey(item.groupId, item.seq), received), ...confirmation]);
    if (confirmed) ctx.emit({ type: 'rejoined', groupId: item.groupId, ...ctx.me });
    if (content.type === 'leave') {
      if (sender.username === ctx.username) {
        await ctx.groupStore.forget(item.groupId, { ...meta, status: 'left' });
        ctx.emit({ type: 'removed', groupId: item.groupId });
      } else {
        this.pendingLeaves.push({ groupId: item.groupId, username: sender.username });
      }
    }
    ctx.emit({ type: 'message', message: received });
  }
}
