/**
 * Getting mailbox items to this device and through IncomingItems, in order: offline catch-up over HTTP
 * (fetch, process, acknowledge), the WebSocket push channel, and the follow-up work after each batch.
 *
 * Delivery rules: items are processed one at a time in mailbox order (per-group server order); duplicates
 * (at-least-once delivery) are dropped by (group, seq); a refused item is reported (event 'rejected').
 * A transient failure (core/transient.ts) stops the batch at that item: it and everything after it stay in
 * the mailbox, unacknowledged, and are processed again by the next sync (scheduled with backoff when the
 * push channel is connected; `sync()` itself rejects with the TransientFailure after acknowledging what it did).
 */
import type { MailboxItem } from '@doublelock/protocol';
import { MailboxSocket } from '../api/mailboxSocket.ts';
import type { MessengerContext } from '../core/context.ts';
import { isTransient, TransientFailure } from '../core/transient.ts';
import { MessageRejected } from '../core/types.ts';
import { getJson } from '../storage/storage.ts';
import { IncomingItems, reportedCommitKey, VOID_GRACE_MS } from './incoming.ts';
import { mayManage } from '../groups/adminRule.ts';
import { checkDelivery, DELIVERY_CHECK_MS } from '../groups/deliveryCheck.ts';
import { REJOIN_CONFIRM_MS, rejoinLocked, unconfirmedKey } from '../groups/externalRejoin.ts';

export class SyncEngine {
  private socket: MailboxSocket | undefined;
  private readonly incoming: IncomingItems;

  constructor(private readonly ctx: MessengerContext) {
    this.incoming = new IncomingItems(ctx);
  }

  /** Fetches and processes everything waiting in this device's mailbox (offline catch-up). */
  sync(): Promise<number> {
    return this.ctx.exclusive(() => this.syncLocked());
  }

  /**
   * `behind`: groups where the server just answered 409 stale_epoch — if the drained mailbox did not bring
   * them to the server's epoch, their state is lost and they rejoin (as groups keeping future items do).
   */
  async syncLocked(behind: string[] = []): Promise<number> {
    let total = 0;
    for (;;) {
      const { items } = await this.ctx.api.mailbox(200);
      if (items.length === 0) break;
      const { done, stopped } = await this.processBatch(items);
      if (done.length > 0) await this.ctx.api.ack(done);
      total += done.length;
      if (stopped) {
        this.retryLater();
        throw stopped;
      }
    }
    this.retryDelayMs = 0;
    await this.rejoinLostGroups(behind);
    await this.afterProcessing();
    return total;
  }

  private retryDelayMs = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** With the push channel up, a stopped sync is tried again after 1 s, 2 s, 4 s … (at most 60 s). */
  private retryLater(): void {
    if (!this.socket || this.retryTimer) return;
    this.retryDelayMs = Math.min(60_000, Math.max(1000, this.retryDelayMs * 2));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync().catch((error: unknown) => this.ctx.emit({ type: 'error', error: error instanceof Error ? error : new Error(String(error)) }));
    }, this.retryDelayMs);
  }

  /** Connects the push channel: catches up over HTTP, then processes pushed items as they come. */
  async connect(): Promise<void> {
    const { ctx } = this;
    if (!ctx.options.webSocket) throw new Error('Pass a WebSocket implementation in the options to receive pushes.');
    if (this.socket) return;
    this.socket = new MailboxSocket(MailboxSocket.urlFor(ctx.options.serverUrl), ctx.options.webSocket, {
      token: () => ctx.token(),
      onReady: async () => {
        await this.sync();
      },
      onItems: async (items) => {
        const { done, stopped } = await ctx.exclusive(async () => {
          const result = await this.processBatch(items);
          if (!result.stopped) await this.afterProcessing();
          return result;
        });
        if (done.length > 0) this.socket?.ack(done);
        if (stopped) {
          ctx.emit({ type: 'error', error: stopped });
          this.retryLater();
        }
      },
      onError: (error) => ctx.emit({ type: 'error', error }),
    });
    await this.socket.start();
    await ctx.keyPackages.topUp();
  }

  disconnect(): void {
    this.socket?.close();
    this.socket = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /**
   * Processes items in order; a refused item is reported (event 'rejected') and dropped. Stops at the first
   * transient failure; returns the mailbox ids that are done with (applied or refused) and, if it stopped, why.
   */
  async processBatch(items: MailboxItem[]): Promise<{ done: number[]; stopped?: TransientFailure }> {
    const done: number[] = [];
    for (const item of items) {
      try {
        await this.incoming.process(item);
      } catch (error) {
        if (isTransient(error)) return { done, stopped: error instanceof TransientFailure ? error : new TransientFailure(error) };
        const rejected = error instanceof MessageRejected ? error : new MessageRejected('malformed', error instanceof Error ? error.message : String(error));
        this.ctx.emit({ type: 'rejected', item, error: rejected });
      }
      done.push(item.id);
    }
    return { done };
  }

  /** Processes items in order (see processBatch); rejects with the TransientFailure if one stopped it. */
  async processItems(items: MailboxItem[]): Promise<number[]> {
    const { done, stopped } = await this.ctx.exclusive(() => this.processBatch(items));
    if (stopped) throw stopped;
    return done;
  }

  /**
   * After a full drain: a group that still keeps items for epochs it has not reached will not get the commits
   * it misses (they would have come in order before them): its state is lost for good. This device rejoins by
   * external commit from the GroupInfo the server keeps (groups/externalRejoin.ts: nobody else needs to be
   * online); where there is none, it asks to be re-added (groups/rejoin.ts) — once per server epoch.
   */
  private async rejoinLostGroups(behind: string[]): Promise<void> {
    const { ctx } = this;
    const unconfirmed = await this.unconfirmedRejoins();
    // Buffer keys are `buffer/<group>/<seq>`: one listing finds the groups that keep any.
    const waiting = new Set([...(await ctx.storage.keys('buffer/')).map((key) => key.split('/')[1]!), ...behind]);
    for (const groupId of waiting) {
      const group = await ctx.groupStore.load(groupId);
      if (group?.meta.status !== 'active' || unconfirmed.has(groupId)) continue;
      const server = await ctx.api.group(groupId);
      if (server.epoch <= Number(group.state.groupContext.epoch) || (await ctx.rejoin.asked(groupId))?.epoch === server.epoch) continue;
      // Not lost, but waiting: this device reported the commit that moved the server on as invalid, and the
      // server voids it once enough members have (sync/incoming.ts); a rejoin request now would count as
      // building on that commit. After a grace period, or once the group has moved further, it asks.
      const reported = await getJson<{ epoch: number; at: number }>(ctx.storage, reportedCommitKey(groupId));
      if (reported && server.epoch === reported.epoch + 1 && Date.now() - reported.at < VOID_GRACE_MS) continue;
      await this.rejoinGroup(groupId);
    }
    // Groups where a commit this device had applied was voided (on the other members' signed rejections) and
    // the state before it is not kept: out of step for good, they rejoin at the group's epoch.
    const voided = this.incoming.lostByVoid;
    this.incoming.lostByVoid = [];
    for (const groupId of new Set(voided)) if ((await ctx.groupStore.load(groupId))?.meta.status === 'active') await this.rejoinGroup(groupId);
  }

  /** By external commit; where that is not possible, by asking to be re-added. */
  private async rejoinGroup(groupId: string): Promise<void> {
    const { ctx } = this;
    // An external commit that fails for good (say, the AS refuses a leaf of the GroupInfo's tree) leaves the re-add.
    const rejoined = await rejoinLocked(ctx, groupId).catch((error: unknown) => {
      if (isTransient(error)) throw error;
      ctx.emit({ type: 'error', error: new Error(`rejoining ${groupId} by external commit failed: ${error instanceof Error ? error.message : String(error)}`) });
      return false;
    });
    if (rejoined) return;
    await ctx.rejoin.requestLocked(groupId);
    ctx.emit({ type: 'rejoin_requested', groupId });
  }

  /**
   * Groups this device rejoined by external commit that no member has confirmed yet (groups/externalRejoin.ts).
   * Past `rejoinConfirmMs` it asks to be re-added instead (once per server epoch) and says so.
   */
  private async unconfirmedRejoins(): Promise<Set<string>> {
    const { ctx } = this;
    const out = new Set<string>();
    for (const key of await ctx.storage.keys(unconfirmedKey(''))) {
      const groupId = key.slice(unconfirmedKey('').length);
      const group = await ctx.groupStore.load(groupId);
      const pending = group?.meta.status === 'active' ? group.meta.unconfirmedRejoin : undefined;
      if (!pending) {
        await ctx.storage.write([{ key, value: undefined }]);
        continue;
      }
      out.add(groupId);
      if (Date.now() - pending.at < (ctx.options.rejoinConfirmMs ?? REJOIN_CONFIRM_MS)) continue;
      const server = await ctx.api.group(groupId);
      if ((await ctx.rejoin.asked(groupId))?.epoch === server.epoch) continue;
      ctx.emit({ type: 'rejoin_unconfirmed', groupId });
      await ctx.rejoin.requestLocked(groupId);
      ctx.emit({ type: 'rejoin_requested', groupId });
    }
    return out;
  }

  /** Work that follows processing: commit the removal of people who left; keep KeyPackages topped up. */
  private async afterProcessing(): Promise<void> {
    const { ctx } = this;
    const leaves = this.incoming.pendingLeaves;
    this.incoming.pendingLeaves = [];
    for (const { groupId, username } of leaves) {
      const group = await ctx.groupStore.load(groupId);
      // In a group with admins only an admin's devices commit a leaver's removal (the rule every member checks).
      if (group?.meta.status === 'active' && !group.meta.unconfirmedRejoin && mayManage(group.state, ctx.username)) await ctx.membership.removeUsersLocked(groupId, [username]);
    }
    // Confirm to devices that rejoined by external commit that they are in the group we are in.
    const acks = this.incoming.pendingAcks;
    this.incoming.pendingAcks = [];
    for (const { groupId, deviceId } of acks) {
      await ctx.messages.sendLocked(groupId, { type: 'rejoin_ack', deviceId }).catch((error: unknown) => {
        if (isTransient(error)) throw error;
        ctx.emit({ type: 'error', error: new Error(`confirming ${deviceId}'s rejoin of ${groupId} failed: ${error instanceof Error ? error.message : String(error)}`) });
      });
    }
    if (ctx.keyPackages.joinedSinceTopUp) {
      ctx.keyPackages.joinedSinceTopUp = false;
      await ctx.keyPackages.topUp();
    }
    await ctx.rejoin.actLocked();
    await ctx.monitorIfDue();
    if (Date.now() - this.lastDeliveryCheck >= (ctx.options.deliveryCheckMs ?? DELIVERY_CHECK_MS)) {
      this.lastDeliveryCheck = Date.now();
      await checkDelivery(ctx).catch((error: unknown) => {
        if (isTransient(error)) this.lastDeliveryCheck = 0; // try again on the next sync
        else ctx.emit({ type: 'error', error: error instanceof Error ? error : new Error(String(error)) });
      });
    }
    await ctx.leafCheck.checkIfDueLocked();
  }

  private lastDeliveryCheck = 0;
}
