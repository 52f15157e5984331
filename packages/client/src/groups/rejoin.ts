/**
 * Rejoining a group after losing its state (issue 10: "a device that is truly lost rejoins … by a re-add by
 * another member, automatically, and says so in the chat").
 *
 * A device restored from an old backup, or one whose missing commits are gone from the mailbox, still has its
 * device key and is still a member at the Delivery Service, but cannot follow the group's epochs any more.
 * It asks to be re-added: a rejoin request, posted in the group at the server's current epoch as a
 * message whose bytes are
 *   lengthPrefixed("doublelock/rejoin/v1", groupId, epoch, KeyPackage, signature)
 *   signature = Ed25519(device key, lengthPrefixed("doublelock/rejoin-request/v1", groupId, epoch, KeyPackage))
 * with a fresh KeyPackage of its own (one it holds the private keys of: after a restore, the KeyPackages the
 * server still has may be ones the backup never saw). Members check the signature against the key of that
 * device's leaf in their tree — the key the AS accepted for it, as logged — that the KeyPackage is for the
 * same device and key and passes the AS now, and that the request is for the epoch the group is at (a replay
 * at a later epoch is ignored). One member acts — the manager (admins, or everyone without admins) with the
 * lowest leaf — and commits "remove the old leaf, add this KeyPackage"; every member sees a `rejoined` event
 * for that device; the lost device processes the Welcome in place of its old state.
 */
import { deviceIdFor, fromBase64Url, lengthPrefixed, splitLengthPrefixed } from '@doublelock/protocol';
import { decodeKeyPackage, encodeKeyPackage } from 'ts-mls/keyPackage.js';
import type { ClientState, KeyPackage, Proposal } from 'ts-mls';
import { b64, newMessageId, type MessengerContext } from '../core/context.ts';
import { MessageRejected } from '../core/types.ts';
import { groupMembers } from '../groupStore.ts';
import { parseDeviceCredential, type DeviceIdentity } from '../mls/credential.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';
import { mayManage } from './adminRule.ts';

const LABEL = 'doublelock/rejoin/v1';
const SIGNED_LABEL = 'doublelock/rejoin-request/v1';
const LABEL_BYTES = new TextEncoder().encode(LABEL);
/** Storage: the rejoin this device asked for, per group (the Welcome that answers it replaces the state). */
export const rejoinKey = (groupId: string) => `rejoin/${groupId}`;

export interface RejoinRequest {
  groupId: string;
  epoch: number;
  keyPackage: KeyPackage;
  keyPackageBytes: Uint8Array;
  signature: Uint8Array;
}

const signedBytes = (groupId: string, epoch: number, keyPackage: Uint8Array) => lengthPrefixed(SIGNED_LABEL, fromBase64Url(groupId), String(epoch), keyPackage);

/** Whether message bytes are a rejoin request (they start with its label), not a frame. */
export function isRejoinRequest(bytes: Uint8Array): boolean {
  if (bytes.length < 4 + LABEL_BYTES.length) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(0) === LABEL_BYTES.length && LABEL_BYTES.every((b, i) => bytes[4 + i] === b);
}

export function decodeRejoinRequest(bytes: Uint8Array): RejoinRequest {
  const [, groupIdBytes, epochText, keyPackageBytes, signature] = splitLengthPrefixed(bytes, 5) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const epoch = Number(new TextDecoder().decode(epochText));
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError('rejoin request: bad epoch');
  const keyPackage = decodeKeyPackage(keyPackageBytes, 0)?.[0];
  if (!keyPackage) throw new RangeError('rejoin request: the KeyPackage does not decode');
  return { groupId: b64(groupIdBytes), epoch, keyPackage, keyPackageBytes, signature };
}

export class Rejoin {
  /** Requests this device must act on (it is the chosen member), committed after the batch. */
  pending: Array<{ groupId: string; device: DeviceIdentity; keyPackage: KeyPackage }> = [];

  constructor(private readonly ctx: MessengerContext) {}

  /** The lost device: asks the group's members to re-add it, with a fresh KeyPackage. */
  async requestLocked(groupId: string): Promise<void> {
    const { ctx } = this;
    const { epoch } = await ctx.api.group(groupId);
    const own = await ctx.keyPackages.create(false);
    const keyPackageBytes = encodeKeyPackage(own.publicPackage);
    const signature = await ctx.cs.signature.sign(fromBase64Url(ctx.device.deviceSecret), signedBytes(groupId, epoch, keyPackageBytes));
    const request = lengthPrefixed(LABEL, fromBase64Url(groupId), String(epoch), keyPackageBytes, signature);
    // The private half is kept first: the Welcome that answers is for this KeyPackage.
    await ctx.storage.write([jsonWrite(`kp/${own.ref}`, own.stored), jsonWrite(rejoinKey(groupId), { epoch, at: Date.now() })]);
    await ctx.api.sendMessage(groupId, { clientMessageId: newMessageId(), epoch, ciphertext: b64(request) });
  }

  /** The rejoin this device asked for in a group, if any. */
  async asked(groupId: string): Promise<{ epoch: number } | undefined> {
    return getJson<{ epoch: number }>(this.ctx.storage, rejoinKey(groupId));
  }

  /**
   * A member receives a request: checked against the requesting device's leaf (see top); queued when this
   * device is the one to act. A request that fails a check is refused with the reason.
   */
  async received(item: { groupId: string; epoch: number; sender: DeviceIdentity }, bytes: Uint8Array, state: ClientState): Promise<void> {
    const { ctx } = this;
    let request: RejoinRequest;
    try {
      request = decodeRejoinRequest(bytes);
    } catch (error) {
      throw new Error(`malformed rejoin request: ${(error as Error).message}`);
    }
    const current = Number(state.groupContext.epoch);
    if (request.groupId !== item.groupId) throw new Error('the rejoin request is for another group');
    if (item.epoch > current) throw new MessageRejected('future_epoch', `rejoin request from epoch ${item.epoch}, but the group is at epoch ${current}`);
    // The server ordered it at `item.epoch`; a request for an earlier epoch (replayed later) is void.
    if (request.epoch !== item.epoch || request.epoch !== current) throw new Error(`rejoin request for epoch ${request.epoch}, but the group is at epoch ${current}`);
    const leaf = state.ratchetTree.flatMap((node) => (node?.nodeType === 'leaf' ? [node.leaf] : [])).find((l) => parseDeviceCredential(l.credential)?.deviceId === item.sender.deviceId);
    if (!leaf) throw new Error(`device ${item.sender.deviceId} asks to rejoin, but it has no leaf in this group`);
    const identity = parseDeviceCredential(request.keyPackage.leafNode.credential);
    if (identity?.deviceId !== item.sender.deviceId || identity.username !== item.sender.username || deviceIdFor(request.keyPackage.leafNode.signaturePublicKey) !== identity.deviceId) {
      throw new Error('the rejoin request’s KeyPackage is not for the device that sent it');
    }
    if (b64(request.keyPackage.leafNode.signaturePublicKey) !== b64(leaf.signaturePublicKey)) throw new Error('the rejoin request’s KeyPackage has another key than the device’s leaf');
    if (!(await ctx.cs.signature.verify(leaf.signaturePublicKey, signedBytes(request.groupId, request.epoch, request.keyPackageBytes), request.signature))) {
      throw new Error('the rejoin request is not signed by the device’s leaf key');
    }
    const members = groupMembers(state);
    const chosen = members.filter((m) => m.deviceId !== item.sender.deviceId && mayManage(state, m.username)).sort((a, b) => a.leafIndex - b.leafIndex)[0];
    if (chosen?.deviceId === ctx.deviceId) this.pending.push({ groupId: item.groupId, device: identity, keyPackage: request.keyPackage });
  }

  /** After the batch: the chosen member re-adds the devices that asked (the AS judges their KeyPackage now). */
  async actLocked(): Promise<void> {
    const { ctx } = this;
    const work = this.pending;
    this.pending = [];
    for (const { groupId, device, keyPackage } of work) {
      const reason = await ctx.auth.check(keyPackage.leafNode.credential, keyPackage.leafNode.signaturePublicKey);
      if (reason) {
        ctx.emit({ type: 'error', error: new Error(`not re-adding ${device.username}/${device.deviceId}: ${reason}`) });
        continue;
      }
      // This device's own external rejoin of the group is not confirmed yet: it commits nothing there (externalRejoin.ts).
      if ((await ctx.groupStore.meta(groupId))?.unconfirmedRejoin) continue;
      const ref = b64(keyPackage.leafNode.hpkePublicKey);
      await ctx.membership.commitLocked(groupId, (state) => {
        const old = groupMembers(state).find((m) => m.deviceId === device.deviceId);
        // Already answered (another commit re-added it with this KeyPackage), or gone from the group: nothing to do.
        const answered = state.ratchetTree.some((n) => n?.nodeType === 'leaf' && b64(n.leaf.hpkePublicKey) === ref);
        if (!old || answered) return { proposals: [], adds: [], removes: [] };
        return {
          proposals: [{ proposalType: 'remove', remove: { removed: old.leafIndex } } satisfies Proposal, { proposalType: 'add', add: { keyPackage } } satisfies Proposal],
          adds: [device.deviceId],
          removes: [device.deviceId],
        };
      });
    }
  }
}

/**
 * Devices re-added between two states: in both, but the leaf is new from a KeyPackage (an update or a
 * commit path never turns a leaf's source back into `key_package`, and the key differs).
 */
export function rejoinedDevices(before: ClientState, after: ClientState): DeviceIdentity[] {
  const leaves = (state: ClientState) => {
    const out = new Map<string, { identity: DeviceIdentity; source: string; key: string }>();
    for (const node of state.ratchetTree) {
      if (node?.nodeType !== 'leaf') continue;
      const identity = parseDeviceCredential(node.leaf.credential);
      if (identity) out.set(identity.deviceId, { identity, source: node.leaf.leafNodeSource, key: b64(node.leaf.hpkePublicKey) });
    }
    return out;
  };
  const was = leaves(before);
  return [...leaves(after).values()].filter((l) => l.source === 'key_package' && was.has(l.identity.deviceId) && was.get(l.identity.deviceId)!.key !== l.key).map((l) => l.identity);
}
