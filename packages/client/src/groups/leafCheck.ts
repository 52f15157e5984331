/**
 * Re-checking group leaves against the key directory as the transparency log shows it now (issue 10: "a
 * client re-checks group leaves when an account's logged state changes"). The AS checks a leaf when it
 * enters a group; later the account may revoke that device, or the directory may show another identity key
 * or stop listing the device. Every device therefore re-verifies all leaves of its groups — each account
 * fetched fresh and verified against the log, then every leaf judged by the AS as of now — at most once per
 * interval while syncing, and whenever the app asks (`recheckLeaves()`).
 *
 * What it does with a leaf that no longer passes:
 *  - a device revoked by its account (the revocation signed by the account, in the logged state): removed by
 *    a commit — every member may remove a validly revoked device, also in groups with admins;
 *  - a device the logged state no longer vouches for (not listed, another identity key than the one pinned,
 *    a broken certificate chain): removed when this device may manage the group, else flagged for a manager;
 *  - an account whose directory state the log does not confirm: flagged only — that is the server's lie, not
 *    the member's, and members must not be removable by a server that serves bad proofs.
 * Every finding is announced (event `leaf_flagged`), removed or not.
 */
import type { ClientState, Proposal } from 'ts-mls';
import { isTransient } from '../core/transient.ts';
import { inParallel, type MessengerContext } from '../core/context.ts';
import { groupMembers } from '../groupStore.ts';
import { parseDeviceCredential } from '../mls/credential.ts';
import { mayManage } from './adminRule.ts';

export type LeafProblem = 'revoked' | 'not_vouched' | 'unverifiable';

export interface LeafFinding {
  groupId: string;
  username: string;
  deviceId: string;
  problem: LeafProblem;
  /** The AS's or the log verifier's words. */
  reason: string;
  /** Whether this device committed the leaf's removal. */
  removed: boolean;
}

export const DEFAULT_LEAF_CHECK_INTERVAL_MS = 60_000;

export class LeafChecker {
  /** The first periodic check comes one interval after start (startup already judged what it loaded). */
  private lastRun = Date.now();

  constructor(private readonly ctx: MessengerContext) {}

  /** As part of syncing: at most once per interval; trouble is reported, never fatal to the sync. */
  async checkIfDueLocked(): Promise<void> {
    const interval = this.ctx.options.leafCheckIntervalMs ?? DEFAULT_LEAF_CHECK_INTERVAL_MS;
    if (interval <= 0 || Date.now() - this.lastRun < interval) return;
    await this.checkLocked().catch((error: unknown) => this.ctx.emit({ type: 'error', error: error instanceof Error ? error : new Error(String(error)) }));
  }

  /** Re-checks every leaf of the active groups (or of `groupIds`); removes or flags what fails (see top). */
  async checkLocked(groupIds?: string[]): Promise<LeafFinding[]> {
    const { ctx } = this;
    this.lastRun = Date.now();
    const groups: Array<{ groupId: string; state: ClientState }> = [];
    for (const groupId of groupIds ?? (await ctx.groupStore.ids())) {
      const group = await ctx.groupStore.load(groupId);
      // A group rejoined by external commit and not confirmed yet may be a fork: checked once confirmed.
      if (group?.meta.status === 'active' && !group.meta.unconfirmedRejoin) groups.push({ groupId, state: group.state });
    }
    // Fresh from the server, each verified against the log (the directory's verifier); a lookup that fails
    // for a passing reason ends the check (it runs again later), a log failure is a finding.
    const unverifiable = new Map<string, string>();
    const usernames = groups.flatMap(({ state }) => groupMembers(state).map((m) => m.username));
    await inParallel(usernames, async (username) => {
      try {
        await ctx.directory.account(username, { fresh: true });
      } catch (error) {
        if (isTransient(error)) throw error;
        unverifiable.set(username, error instanceof Error ? error.message : String(error));
      }
    });

    const findings: LeafFinding[] = [];
    for (const { groupId, state } of groups) {
      const found: Array<LeafFinding & { leafIndex: number }> = [];
      for (const [nodeIndex, node] of state.ratchetTree.entries()) {
        if (node?.nodeType !== 'leaf') continue;
        const identity = parseDeviceCredential(node.leaf.credential);
        if (!identity || identity.deviceId === ctx.deviceId) continue;
        const leaf = { groupId, username: identity.username, deviceId: identity.deviceId, leafIndex: nodeIndex / 2, removed: false };
        const lie = unverifiable.get(identity.username);
        if (lie) {
          found.push({ ...leaf, problem: 'unverifiable', reason: `the directory entry of ${identity.username} cannot be trusted: ${lie}` });
          continue;
        }
        ctx.auth.asOf = undefined; // judged as of now
        const reason = await ctx.auth.check(node.leaf.credential, node.leaf.signaturePublicKey);
        if (!reason) continue;
        const revoked = / has been revoked$/.test(reason);
        found.push({ ...leaf, problem: revoked ? 'revoked' : 'not_vouched', reason });
      }
      const manager = mayManage(state, ctx.username);
      const toRemove = found.filter((f) => f.problem === 'revoked' || (f.problem === 'not_vouched' && manager));
      if (toRemove.length > 0) {
        const ids = new Set(toRemove.map((f) => f.deviceId));
        await ctx.membership.commitLocked(groupId, (now) => {
          // Planned from the state the commit is made on (a 409 re-plans): only leaves still there.
          const gone = groupMembers(now).filter((m) => ids.has(m.deviceId));
          return { proposals: gone.map((m): Proposal => ({ proposalType: 'remove', remove: { removed: m.leafIndex } })), adds: [], removes: gone.map((m) => m.deviceId) };
        });
        for (const f of toRemove) f.removed = true;
      }
      for (const { leafIndex: _, ...finding } of found) {
        findings.push(finding);
        ctx.emit({ type: 'leaf_flagged', finding });
      }
    }
    return findings;
  }
}
