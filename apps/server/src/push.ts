/**
 * Push delivery over WebSocket. The mailbox in the store is the single source of truth: a notification
 * only makes a connection re-read its device's unacknowledged mail and send what it has not sent yet.
 * So nothing is lost between a commit and a push, order per group is the mailbox order, and at most
 * WINDOW items are in flight per connection (a slow reader is not flooded).
 *
 * Notifications arriving in the same tick are served by one batched read for all their devices, so a
 * message to a group of 50 costs one query, not 49.
 */
import type { ServerFrame } from '@doublelock/protocol';
import type { DeliveryStore, StoredMessage } from '@doublelock/store';
import type { Metrics } from './metrics.ts';
import { toMailboxItem } from './wire.ts';

const WINDOW = 500;
const MAX_BATCH_DEVICES = 500;

export interface PushSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

class Connection {
  readonly sent = new Set<number>();
  /** Acknowledged ids that a read started before the acknowledgement may still return. */
  readonly acked = new Set<number>();
  closed = false;
  constructor(
    readonly deviceId: string,
    private readonly socket: PushSocket,
    private readonly metrics: Metrics,
  ) {}

  get full(): boolean {
    return this.sent.size >= WINDOW;
  }

  /** Sends what of `mail` (all of this device's unacknowledged mail, or its first WINDOW) is new. */
  deliver(mail: StoredMessage[], complete: boolean): void {
    if (this.closed) return;
    const fresh = mail.filter((m) => !this.sent.has(m.id) && !this.acked.has(m.id));
    if (complete) {
      // Everything unacknowledged is in `mail`: forget ids acknowledged by other means or since deleted.
      const present = new Set(mail.map((m) => m.id));
      this.sent.clear();
      for (const id of present) if (!this.acked.has(id)) this.sent.add(id);
      for (const id of this.acked) if (!present.has(id)) this.acked.delete(id);
    } else {
      for (const m of fresh) this.sent.add(m.id);
    }
    if (fresh.length === 0) return;
    const frame: ServerFrame = { type: 'items', items: fresh.map(toMailboxItem) };
    this.socket.send(JSON.stringify(frame));
    this.metrics.itemsPushed.inc(fresh.length);
  }
}

export class Push {
  readonly #connections = new Map<string, Set<Connection>>();
  #pending = new Set<string>();
  #flushing = false;

  constructor(
    private readonly delivery: DeliveryStore,
    private readonly metrics: Metrics,
    private readonly onError: (error: unknown) => void,
  ) {}

  attach(deviceId: string, socket: PushSocket): { detach(): void; acked(ids: number[]): void } {
    const connection = new Connection(deviceId, socket, this.metrics);
    let set = this.#connections.get(deviceId);
    if (!set) this.#connections.set(deviceId, (set = new Set()));
    set.add(connection);
    this.metrics.sockets.inc();
    this.notify([deviceId]); // the backlog
    return {
      detach: () => {
        connection.closed = true;
        if (set.delete(connection)) this.metrics.sockets.dec();
        if (set.size === 0) this.#connections.delete(deviceId);
      },
      acked: (ids) => {
        for (const id of ids) if (connection.sent.delete(id)) connection.acked.add(id);
        this.notify([deviceId]);
      },
    };
  }

  /** New mail for these devices (from this node or, when scaled out, another). */
  notify(deviceIds: Iterable<string>): void {
    for (const deviceId of deviceIds) if (this.#connections.has(deviceId)) this.#pending.add(deviceId);
    if (this.#pending.size > 0 && !this.#flushing) {
      this.#flushing = true;
      setImmediate(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        const devices = [...this.#pending].filter((d) => [...(this.#connections.get(d) ?? [])].some((c) => !c.full));
        this.#pending.clear();
        const alone: string[] = devices.length === 1 ? devices : [];
        for (let i = 0; devices.length > 1 && i < devices.length; i += MAX_BATCH_DEVICES) {
          const batch = devices.slice(i, i + MAX_BATCH_DEVICES);
          const limit = batch.length * WINDOW;
          const byDevice = await this.delivery.mailboxes(batch, limit);
          const total = [...byDevice.values()].reduce((n, m) => n + m.length, 0);
          for (const [deviceId, mail] of byDevice) {
            // If the row limit cut the read short, a device's list may be incomplete: read it again alone.
            if (total >= limit || mail.length >= WINDOW) alone.push(deviceId);
            else this.#deliver(deviceId, mail, true);
          }
        }
        for (const deviceId of alone) {
          const mail = await this.delivery.mailbox(deviceId, WINDOW);
          this.#deliver(deviceId, mail, mail.length < WINDOW);
        }
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.#flushing = false;
      if (this.#pending.size > 0) this.notify([]);
    }
  }

  #deliver(deviceId: string, mail: StoredMessage[], complete: boolean): void {
    for (const connection of this.#connections.get(deviceId) ?? []) connection.deliver(mail, complete);
  }

  get connectedDevices(): number {
    return this.#connections.size;
  }
}
