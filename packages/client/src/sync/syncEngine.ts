/**
 * Getting mailbox items to this device and through IncomingItems, in order: offline catch-up over HTTP
 * (fetch, process, acknowledge), the WebSocket push channel, and the follow-up work after each batch.
 *
 * Delivery rules: items are processed one at a time in mailbox order (per-group server order); duplicates
 * (at-least-once delivery) are dropped by (group, seq); a refused item is reported (event 'rejected').
 */
import type { MailboxItem } from '@doublelock/protocol';
import { MailboxSocket } from '../api/mailboxSocket.ts';
import type { MessengerContext } from '../core/context.ts';
import { MessageRejected } from '../core/types.ts';
import { IncomingItems } from './incoming.ts';

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

  async syncLocked(): Promise<number> {
    let total = 0;
    for (;;) {
      const { items } = await this.ctx.api.mailbox(200);
      if (items.length === 0) break;
      await this.processItems(items);
      await this.ctx.api.ack(items.map((i) => i.id));
      total += items.length;
    }
    await this.afterProcessing();
    return total;
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
        await ctx.exclusive(async () => {
          await this.processItems(items);
          await this.afterProcessing();
        });
        this.socket?.ack(items.map((i) => i.id));
      },
      onError: (error) => ctx.emit({ type: 'error', error }),
    });
    await this.socket.start();
    await ctx.keyPackages.topUp();
  }

  disconnect(): void {
    this.socket?.close();
    this.socket = undefined;
  }

  /** Processes items in order; a refused item is reported (event 'rejected') and dropped. */
  async processItems(items: MailboxItem[]): Promise<void> {
    for (const item of items) {
      try {
        await this.incoming.process(item);
      } catch (error) {
        const rejected = error instanceof MessageRejected ? error : new MessageRejected('malformed', error instanceof Error ? error.message : String(error));
        this.ctx.emit({ type: 'rejected', item, error: rejected });
      }
    }
  }

  /** Work that follows processing: commit the removal of people who left; keep KeyPackages topped up. */
  private async afterProcessing(): Promise<void> {
    const { ctx } = this;
    const leaves = this.incoming.pendingLeaves;
    this.incoming.pendingLeaves = [];
    for (const { groupId, username } of leaves) {
      const group = await ctx.groupStore.load(groupId);
      if (group?.meta.status === 'active') await ctx.membership.removeUsersLocked(groupId, [username]);
    }
    if (ctx.keyPackages.joinedSinceTopUp) {
      ctx.keyPackages.joinedSinceTopUp = false;
      await ctx.keyPackages.topUp();
    }
  }
}
