/**
 * Group admins on the client: the list is the group's `admins` GroupContext extension (the protocol's
 * groupAdmins.ts; RFC 9420 §12.1.7), so every member holds the same list, bound into the key schedule, and
 * it changes only by a commit. Every member checks each commit it processes against the list as it was
 * before the commit — the Delivery Service checks the same rule (apps/server), but members do not rely on
 * it: a commit a malicious server let through is refused here with `not_admin`.
 */
import { ADMINS_EXTENSION_TYPE, adminRuleViolation, decodeAdmins, encodeAdmins, externalRejoinAllowed } from '@doublelock/protocol';
import type { ClientState, Proposal } from 'ts-mls';
import type { MessengerContext } from '../core/context.ts';
import { MessageRejected } from '../core/types.ts';
import { groupMembers } from '../groupStore.ts';
import type { DeviceIdentity } from '../mls/credential.ts';

/** The group's admins (empty: no admins, everyone manages). */
export function adminsOf(state: Pick<ClientState, 'groupContext'>): string[] {
  const ext = state.groupContext.extensions.find((e) => e.extensionType === ADMINS_EXTENSION_TYPE);
  return (ext && decodeAdmins(ext.extensionData)) ?? [];
}

export function mayManage(state: Pick<ClientState, 'groupContext'>, username: string): boolean {
  const admins = adminsOf(state);
  return admins.length === 0 || admins.includes(username);
}

/**
 * The GroupContextExtensions proposal that makes `usernames` the admins (none: no admins). The proposal replaces
 * the whole extension list: the group's other extensions (its rejoin policy) are carried over unchanged.
 */
export function adminsProposal(state: Pick<ClientState, 'groupContext'>, usernames: string[]): Proposal {
  const others = state.groupContext.extensions.filter((e) => e.extensionType !== ADMINS_EXTENSION_TYPE);
  return {
    proposalType: 'group_context_extensions',
    groupContextExtensions: { extensions: [...others, ...(usernames.length > 0 ? [{ extensionType: ADMINS_EXTENSION_TYPE, extensionData: encodeAdmins(usernames) }] : [])] },
  };
}

/**
 * Refuses (MessageRejected 'not_admin') a commit that changed membership or admins against the rule: judged
 * from the states before and after it, so it holds however the commit was framed. A removed device counts
 * as revoked only with a revocation signed by its account (a revocation the server made up does not).
 */
export async function checkCommitAgainstAdmins(ctx: MessengerContext, before: ClientState, after: ClientState, committer: DeviceIdentity): Promise<void> {
  // The rejoin policy is set when the group is made (protocol groupPolicy.ts): nobody changes it, admins neither.
  if (externalRejoinAllowed(before.groupContext.extensions) !== externalRejoinAllowed(after.groupContext.extensions)) {
    throw new MessageRejected('malformed', 'the commit changes the group’s rejoin policy, which is set when the group is made');
  }
  const admins = adminsOf(before);
  if (admins.length === 0 || admins.includes(committer.username)) return;
  const beforeIds = new Set(groupMembers(before).map((m) => m.deviceId));
  const afterMembers = groupMembers(after);
  const afterIds = new Set(afterMembers.map((m) => m.deviceId));
  const added = afterMembers.filter((m) => !beforeIds.has(m.deviceId));
  const removed = await Promise.all(
    groupMembers(before)
      .filter((m) => !afterIds.has(m.deviceId))
      .map(async (m) => ({ username: m.username, deviceId: m.deviceId, revoked: m.username !== committer.username && (await validlyRevoked(ctx, m)) })),
  );
  const newAdmins = adminsOf(after);
  const adminsChanged = newAdmins.length !== admins.length || newAdmins.some((a) => !admins.includes(a));
  const violation = adminRuleViolation({ admins, committer: committer.username, added, removed, adminsChanged });
  if (violation) throw new MessageRejected('not_admin', violation);
}

async function validlyRevoked(ctx: MessengerContext, device: DeviceIdentity): Promise<boolean> {
  const account = await ctx.directory.account(device.username, { fresh: true });
  if (!account?.devices.some((d) => d.deviceId === device.deviceId)) return false;
  return (await ctx.auth.standing(account, device.deviceId)).revokedAt !== null;
}
