/**
 * Noticing a member cut out of delivery. The Delivery Service's member list of a group follows the commits
 * it reads (apps/server/src/commitCheck.ts), so it must name exactly the devices of the group's MLS tree.
 * A server that drops a device from delivery without a commit (or adds one) shows another list: each device
 * compares the two for its groups — after every sync at most every `DELIVERY_CHECK_MS`, and on demand
 * (`Messenger.checkDelivery()`) — and says what differs (event `delivery_mismatch`). A device the server
 * no longer counts as a member at all (`cutOut`) learns it the same way.
 */
import { ApiError } from '../api/serverApi.ts';
import type { MessengerContext } from '../core/context.ts';
import type { DeviceIdentity } from '../mls/credential.ts';
import { groupMembers } from '../groupStore.ts';

export const DELIVERY_CHECK_MS = 10 * 60_000;

export interface DeliveryMismatch {
  groupId: string;
  /** Devices of the group (MLS) the server does not deliver to. */
  notDelivered: DeviceIdentity[];
  /** Device ids the server delivers to that are not in the group. */
  unknown: string[];
  /** This device itself is not delivered to. */
  cutOut: boolean;
}

/** Compares the server's member list with the MLS tree of each active group (or of `groupIds`). */
export async function checkDelivery(ctx: MessengerContext, groupIds?: string[]): Promise<DeliveryMismatch[]> {
  const out: DeliveryMismatch[] = [];
  for (const groupId of groupIds ?? (await ctx.groupStore.ids())) {
    const group = await ctx.groupStore.load(groupId);
    if (!group || group.meta.status !== 'active') continue;
    const members = groupMembers(group.state);
    let listed: Set<string>;
    try {
      const server = await ctx.api.group(groupId);
      // A commit accepted since this device last synced: the lists are compared on the next check.
      if (server.epoch !== Number(group.state.groupContext.epoch)) continue;
      listed = new Set(server.members);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 'not_member')) throw error;
      listed = new Set();
    }
    const notDelivered = members.filter((m) => !listed.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId }));
    const inTree = new Set(members.map((m) => m.deviceId));
    const unknown = [...listed].filter((d) => !inTree.has(d));
    if (notDelivered.length === 0 && unknown.length === 0) continue;
    const mismatch = { groupId, notDelivered, unknown, cutOut: !listed.has(ctx.deviceId) };
    out.push(mismatch);
    ctx.emit({ type: 'delivery_mismatch', ...mismatch });
  }
  return out;
}
