/**
 * Push delivery over WebSocket. The mailbox in the store is the single source of truth: a notification
 * only makes a connection re-read its device's unacknowledged mail and send what it has not sent yet.
 * So nothing is lost between a commit and a push, order per group is the mailbox order, and at most
 * WINDOW items are in flight per connection (a slow reader is not flooded).
 */
import type { ServerFrame } from '@doublelock/protocol';
import type { DeliveryStore } from '@doublelock/store';
import type { Metrics } from './metrics.ts';
import { toMailboxItem } from './wire.ts';

const WINDOW = 500;

export interface PushSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

class Connection {
  readonly sent = new Set<number>();
  #draining = false;
  #dirty = false;
  #closed = false;

  constructor(
    readonly deviceId: string,
    private readonly socket: PushSocket,
    private readonly delivery: DeliveryStore,
    private readonly metrics: Metrics,
    private readonly onError: (error: unknown) => void,
  ) {}

  schedule(): void {
    if (this.#closed) return;
    if (this.#draining) {
      this.#dirty = true;
      return;
    }
    this.#draining = true;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      do {
        this.#dirty = false;
        const mail = await this.delivery.mailbox(this.deviceId, WINDOW);
        if (this.#closed) return;
        const fresh = mail.filter((m) => !this.sent.has(m.id));
        if (mail.length < WINDOW) {
          // Everything unacknowledged is in `mail`: forget ids acknowledged by other means.
          this.sent.clear();
          for (const m of mail) this.sent.add(m.id);
        } else {
          for (const m of fresh) this.sent.add(m.id);
        }
        if (fresh.length > 0) {
          const frame: ServerFrame = { type: 'items', items: fresh.map(toMailboxItem) };
          this.socket.send(JSON.stringify(frame));
          this.metrics.itemsPushed.inc(fresh.length);
        }
      } while (this.#dirty && !this.#closed);
    } catch (error) {
      this.onError(error);
    } finally {
      this.#draining = false;
    }
  }

  close(): void {
    this.#closed = true;
  }
}

export class Push {
  readonly #connections = new Map<string, Set<Connection>>();

  constructor(
    private readonly delivery: DeliveryStore,
    private readonly metrics: Metrics,
    private readonly onError: (error: unknown) => void,
  ) {}

  attach(deviceId: string, socket: PushSocket): { detach(): void; acked(ids: number[]): void } {
    const connection = new Connection(deviceId, socket, this.delivery, this.metrics, this.onError);
    let set = this.#connections.get(deviceId);
    if (!set) this.#connections.set(deviceId, (set = new Set()));
    set.add(connection);
    this.metrics.sockets.inc();
    connection.schedule(); // the backlog
    return {
      detach: () => {
        connection.close();
        if (set.delete(connection)) this.metrics.sockets.dec();
        if (set.size === 0) this.#connections.delete(deviceId);
      },
      acked: (ids) => {
        for (const id of ids) connection.sent.delete(id);
        connection.schedule();
      },
    };
  }

  /** New mail for these devices (from this node or, when scaled out, another). */
  notify(deviceIds: Iterable<string>): void {
    for (const deviceId of deviceIds) {
      const set = this.#connections.get(deviceId);
      if (set) for (const connection of set) connection.schedule();
    }
  }

  get connectedDevices(): number {
    return this.#connections.size;
  }
}
