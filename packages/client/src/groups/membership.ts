/**
 * Who is in a group: creating groups, adding and removing people (all their devices), leaving, renaming,
 * keeping every group in line with the key directory (new and revoked devices of members), and the commit
 * loop behind all of them — a commit that loses the race for an epoch (409 stale_epoch) catches up and
 * is planned again from the new state.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { createGroup, encodeMlsMessage, type ClientState, type Proposal } from 'ts-mls';
import { encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { EXTERNAL_REJOIN_OFF_EXTENSION_TYPE, type CommitRequest } from '@doublelock/protocol';
import { commit } from '../mls/handshake.ts';
import { adminsProposal } from './adminRule.ts';
import { rejoinedDevices } from './rejoin.ts';
import { groupInfoFor } from './externalRejoin.ts';
import { ApiError } from '../api/serverApi.ts';
import { resendWhileTransient } from '../core/transient.ts';
import { b64, MAX_RETRIES, newMessageId, type MessengerContext } from '../core/context.ts';
import type { GroupSummary } from '../core/types.ts';
import { RejoinUnconfirmed } from '../core/types.ts';
import { groupMembers, markSeen, newGroupMeta } from '../groupStore.ts';

export interface CommitPlan {
  proposals: Proposal[];
  adds: string[];
  removes: string[];
}

export class Membership {
  constructor(private readonly ctx: MessengerContext) {}

  async groups(): Promise<GroupSummary[]> {
    const out: GroupSummary[] = [];
    for (const groupId of await this.ctx.groupStore.ids()) {
      const group = await this.ctx.groupStore.load(groupId);
      if (group) out.push({ groupId, name: group.meta.name, epoch: Number(group.state.groupContext.epoch), status: group.meta.status, members: groupMembers(group.state).map(({ username, deviceId }) => ({ username, deviceId })) });
    }
    return out;
  }

  async group(groupId: string): Promise<GroupSummary> {
    const { state, meta } = await this.ctx.groupStore.require(groupId);
    return { groupId, name: meta.name, epoch: Number(state.groupContext.epoch), status: meta.status, members: groupMembers(state).map(({ username, deviceId }) => ({ username, deviceId })) };
  }

  /**
   * A new group with these people (all their devices, and this account's other devices). `externalRejoin:
   * false` sets the rejoin policy (protocol groupPolicy.ts): lost devices then rejoin only by re-add.
   */
  createGroup(name: string, usernames: string[], options: { externalRejoin?: boolean } = {}): Promise<string> {
    if (name.length < 1 || name.length > 128) return Promise.reject(new RangeError('a group name has 1–128 characters'));
    const { ctx } = this;
    return ctx.exclusive(async () => {
      const groupIdBytes = randomBytes(32);
      const groupId = b64(groupIdBytes);
      const own = await ctx.keyPackages.create(false);
      const policy = options.externalRejoin === false ? [{ extensionType: EXTERNAL_REJOIN_OFF_EXTENSION_TYPE, extensionData: new Uint8Array() }] : [];
      const state = await createGroup(groupIdBytes, own.publicPackage, own.privatePackage, policy, ctx.cs, ctx.config);
      await ctx.api.createGroup(groupId);
      await ctx.groupStore.save(groupId, state, newGroupMeta(name));
      const people = [...new Set([ctx.username, ...usernames])];
      await this.addLocked(groupId, people);
      return groupId;
    });
  }

  async addLocked(groupId: string, usernames: string[]): Promise<void> {
    const { ctx } = this;
    // The directory entries (for our AS) and the KeyPackages are independent: fetch them together.
    const [, claimed] = await Promise.all([ctx.prefetchAccounts(usernames), ctx.keyPackages.claim(usernames)]);
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
    const { meta } = await this.ctx.groupStore.require(groupId);
    await this.ctx.messages.sendLocked(groupId, { type: 'rename', name: meta.name });
  }

  async removeUsersLocked(groupId: string, usernames: string[]): Promise<void> {
    if (usernames.includes(this.ctx.username)) throw new Error('Use leave() to leave a group.');
    await this.commitLocked(groupId, (state) => {
      const gone = groupMembers(state).filter((m) => usernames.includes(m.username));
      return { proposals: gone.map((m) => ({ proposalType: 'remove', remove: { removed: m.leafIndex } })), adds: [], removes: gone.map((m) => m.deviceId) };
    });
  }

  /** Leaves: tells the group (its members commit our removal) and forgets the group on this device. */
  leave(groupId: string): Promise<void> {
    const { ctx } = this;
    return ctx.exclusive(async () => {
      await ctx.messages.sendLocked(groupId, { type: 'leave' });
      const { meta } = await ctx.groupStore.require(groupId);
      await ctx.groupStore.forget(groupId, { ...meta, status: 'left' });
    });
  }

  /** Makes `usernames` the group's admins: a commit of the admin-list extension (adminRule.ts). */
  async setAdminsLocked(groupId: string, usernames: string[]): Promise<void> {
    await this.commitLocked(groupId, (state) => ({ proposals: [adminsProposal(state, usernames)], adds: [], removes: [] }));
  }

  rename(groupId: string, name: string): Promise<void> {
    const { ctx } = this;
    return ctx.exclusive(async () => {
      await ctx.messages.sendLocked(groupId, { type: 'rename', name });
      const { meta } = await ctx.groupStore.require(groupId);
      await ctx.groupStore.saveMeta(groupId, { ...meta, name });
    });
  }

  /**
   * Brings every group in line with the key directory: adds this account's devices that are missing
   * (a new device joins through commits made here) and removes the leaves of revoked devices.
   */
  reconcileDevices(): Promise<void> {
    const { ctx } = this;
    return ctx.exclusive(async () => {
      const mine = new Set(await ctx.directory.activeDevices(ctx.username, true));
      for (const summary of await this.groups()) {
        if (summary.status !== 'active') continue;
        const usernames = [...new Set(summary.members.map((m) => m.username))];
        const active = new Map<string, Set<string>>();
        for (const u of usernames) active.set(u, u === ctx.username ? mine : new Set(await ctx.directory.activeDevices(u, true)));
        const present = new Set(summary.members.map((m) => m.deviceId));
        const missingOwn = [...mine].filter((d) => !present.has(d));
        const claimed = missingOwn.length > 0 ? (await ctx.keyPackages.claim([ctx.username])).filter((c) => missingOwn.includes(c.device.deviceId)) : [];
        const added = await this.commitLocked(summary.groupId, (state) => {
          const members = groupMembers(state);
          const here = new Set(members.map((m) => m.deviceId));
          const adds = claimed.filter((c) => !here.has(c.device.deviceId));
          const gone = members.filter((m) => m.deviceId !== ctx.deviceId && !(active.get(m.username)?.has(m.deviceId) ?? true));
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
   * `plan` again (it may now find nothing left to do). True if the commit added devices.
   */
  async commitLocked(groupId: string, plan: (state: ClientState) => CommitPlan): Promise<boolean> {
    const { ctx } = this;
    const clientMessageId = newMessageId();
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const { state, meta } = await ctx.groupStore.require(groupId);
      if (meta.unconfirmedRejoin) throw new RejoinUnconfirmed(groupId); // see groups/externalRejoin.ts
      const { proposals, adds, removes } = plan(state);
      if (proposals.length === 0) return false;
      const result = await ctx.withCredentialReasons(() => commit(state, ctx.cs, ctx.options.mls, { extraProposals: proposals }));
      const epoch = Number(state.groupContext.epoch);
      // What a member that loses its state can rejoin from, by external commit (groups/externalRejoin.ts).
      const groupInfo = await groupInfoFor(ctx, result.newState);
      try {
        // If the answer is lost, the very same request is sent again (same client message id, same bytes): the
        // server accepts it now or answers with its earlier acceptance, so the committer learns its commit
        // holds the epoch and never stays behind on a fork of its own making.
        const commitBytes = encodeMlsMessage(result.commit);
        const request: CommitRequest = {
          clientMessageId,
          epoch,
          commit: b64(commitBytes),
          adds,
          removes,
          ...(result.welcome && {
            welcome: b64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome })),
            ratchetTree: b64(encodeRatchetTree(result.newState.ratchetTree)),
          }),
          ...groupInfo,
        };
        const accepted = await resendWhileTransient(() => ctx.api.commit(groupId, request));
        meta.epochEnds[String(epoch)] = accepted.seq;
        markSeen(meta, accepted.seq, ...(result.welcome ? [accepted.seq + 1] : []));
        // The state before the commit is kept: if every other member finds the commit invalid and the server
        // voids it, this device goes back to it (after checking their signed rejections: sync/incoming.ts).
        await ctx.groupStore.save(groupId, result.newState, meta, await ctx.groupStore.undoPoint(groupId, accepted.seq, sha256(commitBytes)));
        const before = new Set(groupMembers(state).map((m) => m.deviceId));
        const after = groupMembers(result.newState);
        const afterIds = new Set(after.map((m) => m.deviceId));
        ctx.emit({
          type: 'membership',
          groupId,
          added: after.filter((m) => !before.has(m.deviceId)).map(({ username, deviceId }) => ({ username, deviceId })),
          removed: groupMembers(state)
            .filter((m) => !afterIds.has(m.deviceId))
            .map(({ username, deviceId }) => ({ username, deviceId })),
        });
        for (const device of rejoinedDevices(state, result.newState)) ctx.emit({ type: 'rejoined', groupId, ...device });
        return adds.length > 0;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'stale_epoch')) throw error;
        await ctx.sync.syncLocked([groupId]);
      }
    }
    throw new Error(`Could not commit to group ${groupId}: it kept moving on (${MAX_RETRIES} attempts).`);
  }
}

