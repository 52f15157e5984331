/**
 * Rejoining by external commit (RFC 9420 §12.4.3.2, "resync"): a device whose group state is lost (restored
 * from an old backup, or too far behind: the commits it misses are gone from its mailbox) but which still has
 * its device key gets back in by itself, with nobody else online.
 *
 * - Every committer leaves, beside its commit, the GroupInfo of the epoch the commit starts (§12.4.3), signed
 *   with its leaf key, with the `external_pub` extension and the ratchet tree — in the `ratchet_tree` extension
 *   while the GroupInfo stays within 1 MiB, else beside it (§12.4.3.3: out of band; a 10,000-member group's tree
 *   is about 4 MiB) — (`groupInfoFor`). The Delivery Service checks both and keeps the latest for the group's
 *   member devices (GET /v1/groups/:id/group-info), within a per-group byte quota.
 * - The lost device takes it, checks it as ts-mls `joinGroupExternal` does (signature by a leaf our AS accepts,
 *   the tree against the tree hash in the signed context), and that its signer is of an account that was in the
 *   group as the device last knew it — else the server could serve a group of its own making (same id, the
 *   device's leaf copied in, signed by a device it controls) whose secrets it would hold — and commits, from a fresh KeyPackage with its own
 *   device key, an ExternalInit and the Remove of its own old leaf (resync = true) — `rejoinLocked`.
 * - Every member checks such a commit before MLS processes it (`checkExternalCommit`): one ExternalInit, one
 *   Remove, and the removed leaf is the very device whose new leaf the commit brings (same account, same device
 *   id, same key) — so only the holder of a member device's key can rejoin that device, and nobody (the server
 *   included, which holds the GroupInfo and its external key) can join a group this way; the new leaf's
 *   credential then goes through our AS (the device listed, active, in the logged directory) like any leaf.
 * - Everyone sees a `rejoined` event for the device. A group whose server keeps no GroupInfo (a group too large
 *   to carry its tree in one, or older) falls back to the re-add request (groups/rejoin.ts).
 *
 * The server chooses which genuine GroupInfo it serves. One colluding with a member removed at epoch R could
 * serve a device that lost its state before R the GroupInfo of an epoch before R: the device's external commit
 * would fork the group there, where the removed member still holds the secrets. Two checks:
 * - The GroupInfo's epoch must be at least the newest epoch of any item the device keeps for epochs it has not
 *   reached (`newestKeptEpoch`: the MLS epoch its members wrote in them) — it has seen that the group is further on.
 * - The rejoin is unconfirmed (`GroupMeta.unconfirmedRejoin`, event `rejoin_pending`) until the device processes
 *   an item in the new epoch from another member device — one that processed its external commit, so is in the
 *   same group (`confirmedBy`). Members send one (`rejoin_ack`, not shown) for the lowest `ACKERS` leaves of other
 *   accounts (`acksRejoin`). Until then it sends nothing in the group (`RejoinUnconfirmed`) and shows nothing
 *   as rejoined; after `rejoinConfirmMs` (default 5 minutes) it asks to be re-added instead (a member makes that
 *   Welcome at the group's real epoch) and says so (`rejoin_unconfirmed`). A removed member who actively sends in
 *   the fork can still confirm it: that residue is in docs/MESSENGER.md.
 */
import { createGroupInfoWithExternalPub, createGroupInfoWithExternalPubAndRatchetTree, decodeMlsMessage, encodeMlsMessage, joinGroupExternal, type ClientState, type GroupInfo, type PublicMessage } from 'ts-mls';
import { ratchetTreeFromExtension } from 'ts-mls/groupInfo.js';
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { deviceIdFor, externalRejoinAllowed, fromBase64Url, MAX_GROUP_INFO_TREE_BYTES, type CommitRequest } from '@doublelock/protocol';
import { ApiError } from '../api/serverApi.ts';
import { b64, identityText, newMessageId, type MessengerContext } from '../core/context.ts';
import { resendWhileTransient } from '../core/transient.ts';
import { MessageRejected } from '../core/types.ts';
import { decodeFrame } from '../envelope/frame.ts';
import { groupMembers, markSeen, newGroupMeta, type GroupMeta } from '../groupStore.ts';
import { asHandshake, handshakeEpoch } from '../mls/handshake.ts';
import { getJson } from '../storage/storage.ts';
import { parseDeviceCredential, type DeviceIdentity } from '../mls/credential.ts';
import { rejoinKey } from './rejoin.ts';

/** Storage marker of a group whose external rejoin waits for confirmation (listed by the sync engine). */
export const unconfirmedKey = (groupId: string) => `rejoining/${groupId}`;
/** How many members (the lowest leaves of other accounts) confirm an external rejoin with a `rejoin_ack`. */
export const ACKERS = 3;
export const REJOIN_CONFIRM_MS = 5 * 60_000;

/**
 * Whether an item just processed confirms this device's pending external rejoin: it is in the new epoch (or
 * later) and from another member device — which could only make it after processing our external commit.
 */
export function confirmedBy(meta: GroupMeta, epoch: bigint | number, senderDeviceId: string, ownDeviceId: string): boolean {
  return meta.unconfirmedRejoin !== undefined && Number(epoch) >= meta.unconfirmedRejoin.epoch && senderDeviceId !== ownDeviceId;
}

/** Whether this device sends the `rejoin_ack` for `rejoining`: its leaf is among the lowest `ACKERS` of other accounts. */
export function acksRejoin(state: Pick<ClientState, 'ratchetTree'>, rejoining: DeviceIdentity, ownDeviceId: string): boolean {
  const others = groupMembers(state).filter((m) => m.username !== rejoining.username);
  return others.slice(0, ACKERS).some((m) => m.deviceId === ownDeviceId);
}

/**
 * The newest epoch among the items this device keeps for epochs it has not reached, as their senders wrote it
 * in the MLS message (a commit's epoch, a PrivateMessage's); -1 when none.
 */
export async function newestKeptEpoch(ctx: MessengerContext, groupId: string): Promise<number> {
  let newest = -1;
  for (const key of await ctx.storage.keys(`buffer/${groupId}/`)) {
    const item = await getJson<{ kind: string; payload: string }>(ctx.storage, key);
    if (!item) continue;
    try {
      const bytes = fromBase64Url(item.payload);
      if (item.kind === 'commit') {
        const message = asHandshake(decodeMlsMessage(bytes, 0)?.[0]);
        if (message) newest = Math.max(newest, Number(handshakeEpoch(message)));
      } else {
        const message = decodeMlsMessage(decodeFrame(bytes).mlsMessage, 0)?.[0];
        if (message?.wireformat === 'mls_private_message') newest = Math.max(newest, Number(message.privateMessage.epoch));
      }
    } catch {
      // Not an MLS item (a rejoin request, garbage): says nothing about the epoch.
    }
  }
  return newest;
}

/** A GroupInfo carries its ratchet tree while it stays within this; a larger tree goes beside it. */
export const MAX_GROUP_INFO_BYTES = 1024 * 1024;

/**
 * The GroupInfo to leave beside a commit that made `state` (base64url MLSMessage), with its ratchet tree inside
 * when it fits (and `ratchetTreeInGroupInfo` is not false), else beside it (`groupInfoTree`); nothing under a
 * re-add-only policy or for a tree beyond MAX_GROUP_INFO_TREE_BYTES.
 */
export async function groupInfoFor(ctx: MessengerContext, state: ClientState): Promise<Pick<CommitRequest, 'groupInfo' | 'groupInfoTree'>> {
  if (!externalRejoinAllowed(state.groupContext.extensions)) return {}; // the group's policy: re-adds only
  const tree = encodeRatchetTree(state.ratchetTree);
  if (ctx.options.mls?.ratchetTreeInGroupInfo !== false && tree.length < MAX_GROUP_INFO_BYTES - 64 * 1024) {
    const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(state, [], ctx.cs);
    const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo });
    if (bytes.length <= MAX_GROUP_INFO_BYTES) return { groupInfo: b64(bytes) };
  }
  if (tree.length > MAX_GROUP_INFO_TREE_BYTES) return {};
  const groupInfo = await createGroupInfoWithExternalPub(state, [], ctx.cs);
  return { groupInfo: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo })), groupInfoTree: b64(tree) };
}

/**
 * A member's check of an external commit, before MLS processing (see top). Returns the rejoining device.
 * Refused with `external_commit_refused` (reported to the server like any commit invalid for everyone).
 */
export function checkExternalCommit(state: ClientState, message: PublicMessage): DeviceIdentity {
  const content = message.content;
  if (content.contentType !== 'commit') return refuse('not a commit');
  if (!externalRejoinAllowed(state.groupContext.extensions)) refuse('the group does not allow rejoining by external commit (its policy: re-adds only)');
  const leafNode = content.commit.path?.leafNode ?? refuse('no path');
  const device = parseDeviceCredential(leafNode.credential) ?? refuse('the new leaf has no device credential');
  if (deviceIdFor(leafNode.signaturePublicKey) !== device.deviceId) refuse(`the new leaf claims device ${device.deviceId} with another device's key`);
  // The rule: one ExternalInit and the Remove of the old leaf of this very device (account, id and key).
  const proposals = content.commit.proposals.map((p) => (p.proposalOrRefType === 'proposal' ? p.proposal : refuse('a proposal by reference')));
  const removed = proposals.flatMap((p) => (p.proposalType === 'remove' ? [p.remove.removed] : []));
  if (proposals.length !== 2 || removed.length !== 1 || !proposals.some((p) => p.proposalType === 'external_init')) {
    refuse(`${identityText(device)} would join from outside: an external commit may only re-add a member device that lost its state (one ExternalInit and the Remove of its old leaf)`);
  }
  const node = state.ratchetTree[removed[0]! * 2];
  const old = node?.nodeType === 'leaf' ? node.leaf : refuse('it removes an empty leaf');
  const was = parseDeviceCredential(old.credential);
  if (!was || was.username !== device.username || was.deviceId !== device.deviceId || b64(old.signaturePublicKey) !== b64(leafNode.signaturePublicKey)) {
    refuse(`it removes ${was ? identityText(was) : 'a leaf'} but brings in ${identityText(device)}: only a device can rejoin in its own place`);
  }
  return device;
}

function refuse(why: string): never {
  throw new MessageRejected('external_commit_refused', `external commit refused: ${why}`);
}

/**
 * The lost device: rejoins `groupId` by external commit from the GroupInfo the server keeps. True when it is
 * back in (its new state saved, what it kept for the lost state dropped); false when the server keeps no
 * GroupInfo for the group's current epoch (the caller falls back to asking for a re-add).
 */
export async function rejoinLocked(ctx: MessengerContext, groupId: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let kept;
    try {
      kept = await ctx.api.groupInfo(groupId);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'not_found') return false;
      throw error;
    }
    const message = decodeMlsMessage(fromBase64Url(kept.groupInfo), 0)?.[0];
    if (message?.wireformat !== 'mls_group_info') return false;
    const info: GroupInfo = message.groupInfo;
    if (b64(info.groupContext.groupId) !== groupId || Number(info.groupContext.epoch) !== kept.epoch) return false;
    // The tree: in the GroupInfo, or beside it (a large group's; the signed context's tree hash vouches for it).
    const tree = ratchetTreeFromExtension(info) ?? (kept.ratchetTree ? decodeRatchetTree(fromBase64Url(kept.ratchetTree), 0)?.[0] : undefined);
    if (!tree) return false;
    // A GroupInfo older than what this device has already seen of the group: the server serves a past epoch (a
    // fork where members removed since would hold the secrets).
    const seen = await newestKeptEpoch(ctx, groupId);
    if (kept.epoch < seen) {
      throw new MessageRejected('stale_epoch_sender', `the server serves the group info of epoch ${kept.epoch}, but this device keeps items of epoch ${seen}: a past epoch (a fork), refused`);
    }
    // The server chooses what it serves: a group of its own making (same id, this device's leaf copied in, signed
    // by a device it controls) would pass every MLS check, and the server would hold its secrets. So the signer
    // must be of an account that was in the group as this device last knew it: one the server cannot sign for.
    const signer = tree[info.signer * 2];
    const signerAccount = signer?.nodeType === 'leaf' ? parseDeviceCredential(signer.leaf.credential)?.username : undefined;
    const lost = await ctx.groupStore.load(groupId);
    if (!signerAccount || !lost || !groupMembers(lost.state).some((m) => m.username === signerAccount)) {
      throw new MessageRejected('credential_rejected', `the group info is signed by ${signerAccount ?? 'an unknown leaf'}, who was not in the group as this device knew it`);
    }
    const own = await ctx.keyPackages.create(false);
    // ts-mls checks the leaves one by one; fetch their accounts together first.
    await ctx.prefetchAccounts(groupMembers({ ratchetTree: tree }).map((m) => m.username));
    const { publicMessage, newState } = await ctx.withCredentialReasons(() => joinGroupExternal(info, own.publicPackage, own.privatePackage, true, ctx.cs, tree, ctx.config));
    const groupInfo = await groupInfoFor(ctx, newState);
    const request: CommitRequest = {
      clientMessageId: newMessageId(),
      epoch: kept.epoch,
      commit: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage })),
      adds: [],
      removes: [],
      ...groupInfo,
    };
    let accepted;
    try {
      accepted = await resendWhileTransient(() => ctx.api.commit(groupId, request));
    } catch (error) {
      if (error instanceof ApiError && error.code === 'stale_epoch') continue; // someone committed first: take the newer GroupInfo
      throw error;
    }
    const previous = await ctx.groupStore.meta(groupId);
    const meta: GroupMeta = { ...newGroupMeta(previous?.name ?? 'chat'), joinedAt: accepted.seq, unconfirmedRejoin: { epoch: kept.epoch + 1, at: Date.now() } };
    meta.epochEnds[String(kept.epoch)] = accepted.seq;
    markSeen(meta, accepted.seq);
    // The new state replaces the lost one; what was kept for the old one's epochs, and any re-add asked for, go.
    const dropped = [rejoinKey(groupId), ...(await ctx.storage.keys(`buffer/${groupId}/`))].map((key) => ({ key, value: undefined }));
    await ctx.groupStore.save(groupId, newState, meta, [...dropped, { key: unconfirmedKey(groupId), value: new Uint8Array([1]) }]);
    // Not "rejoined" yet: that waits for a current member's item in the new epoch (see top).
    ctx.emit({ type: 'rejoin_pending', groupId });
    return true;
  }
  return false;
}
