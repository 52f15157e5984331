/**
 * Push delivery over WebSocket. The mailbox in the store is the source of truth; push only decides when
 * to send what is in it, so nothing is lost between a commit and a push.
 *
 * Two ways in:
 * - publish(): a just-committed message goes straight to the connected recipients, without a read. On
 *   one node, messages of a group are published in the order they committed (the group row serialises
 *   their transactions, and each publishes as soon as its commit returns), so group order holds. With
 *   several nodes another node's message may be notified late, so `direct` is off and every push reads.
 * - notify(): a connection re-reads its device's unacknowledged mail and sends what it has not sent
 *   (the backlog at connect, commits, mail from other nodes, and catching up after a full window).
 *   Notifications arriving in the same tick share one batched read.
 * Direct pushes of one tick leave a connection as one frame.
 * At most WINDOW items are in flight per connection: a slow reader is not flooded; what it misses while
 * full, or while a read is running, is read again once it acknowledges.
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
  /** A mailbox read for this device is running: direct pushes wait for it. */
  reading = false;
  /** Something was not sent directly (window full, or a read was running): read the mailbox again. */
  behind = false;

  constructor(
    readonly deviceId: string,
    private readonly socket: PushSocket,
    private readonly metrics: Metrics,
  ) {}

  get full(): boolean {
    return this.sent.size >= WINDOW;
  }

  /** Sends what of `mail` (all of this device's unacknowledged mail, or its first WINDOW) is new. */
  deliverRead(mail: StoredMessage[], complete: boolean): void {
    if (this.closed) return;
    this.flushOutbox(); // queued direct pushes are older than anything this read adds

    const fresh = mail.filter((m) => !this.sent.has(m.id) && !this.acked.has(m.id));
    if (complete) {
      // Everything unacknowledged is in `mail`: forget ids acknowledged by other means or since deleted.
      const present = new Set(mail.map((m) => m.id));
      this.sent.clear();
      for (const id of present) if (!this.acked.has(id)) this.sent.add(id);
      for (const id of this.acked) if (!present.has(id)) this.acked.delete(id);
    } else {
      for (const m of fresh) this.sent.add(m.id);
      this.behind = true;
    }
    if (fresh.length === 0) return;
    const frame: ServerFrame = { type: 'items', items: fresh.map(toMailboxItem) };
    this.socket.send(JSON.stringify(frame));
    this.metrics.itemsPushed.inc(fresh.length);
  }

  /** Direct pushes queued for this tick: they leave together in one frame. */
  #outbox: string[] = [];

  /** `itemTail` is the item's JSON minus its leading `{"id":N,` (shared by all recipients). Returns true if queued. */
  deliverDirect(id: number, itemTail: string): boolean {
    if (this.closed) return false;
    // Behind a pending or running read (e.g. a commit just notified), a direct push could overtake older
    // mail: leave it to the read, which delivers everything in mailbox order.
    if (this.reading || this.behind || this.full) {
      this.behind = true;
      return false;
    }
    this.sent.add(id);
    this.#outbox.push(`{"id":${id},${itemTail}`);
    return this.#outbox.length === 1;
  }

  flushOutbox(): void {
    if (this.#outbox.length === 0 || this.closed) return;
    this.socket.send(`{"type":"items","items":[${this.#outbox.join(',')}]}`);
    this.metrics.itemsPushed.inc(this.#outbox.length);
    this.#outbox = [];
  }
}

export class Push {
  readonly #connections = new Map<string, Set<Connection>>();
  #pending = new Set<string>();
  #flushing = false;
  /** Connections with direct pushes queued this tick. */
  #outboxes: Connection[] = [];
  #outboxScheduled = false;

  /** Set when scaled out: tells the other nodes which devices got mail. */
  remote: { publish(deviceIds: string[]): void } | undefined;

  constructor(
    private readonly delivery: DeliveryStore,
    private readonly metrics: Metrics,
    private readonly onError: (error: unknown) => void,
    /** Push published messages without a read (single node only; see above). */
    private readonly direct = true,
  ) {}

  /** New mail committed on this node: push it here and tell the other nodes. */
  delivered(deviceIds: string[], message?: Omit<StoredMessage, 'id'>, deliveries?: Array<{ deviceId: string; id: number }>): void {
    if (message && deliveries) this.publish(message, deliveries);
    else this.notify(deviceIds);
    this.remote?.publish(deviceIds);
  }

  attach(deviceId: string, socket: PushSocket): { detach(): void; acked(ids: number[]): void } {
    const connection = new Connection(deviceId, socket, this.metrics);
    let set = this.#connections.get(deviceId);
    if (!set) this.#connections.set(deviceId, (set = new Set()));
    set.add(connection);
    this.metrics.sockets.inc();
    connection.behind = true;
    this.notify([deviceId]); // the backlog
    return {
      detach: () => {
        connection.closed = true;
        if (set.delete(connection)) this.metrics.sockets.dec();
        if (set.size === 0) this.#connections.delete(deviceId);
      },
      acked: (ids) => {
        for (const id of ids) if (connection.sent.delete(id)) connection.acked.add(id);
        if (connection.behind || !this.direct) this.notify([deviceId]);
      },
    };
  }

  /** A message just committed, with each recipient's mailbox id. */
  publish(message: Omit<StoredMessage, 'id'>, deliveries: Array<{ deviceId: string; id: number }>): void {
    if (!this.direct) {
      this.notify(deliveries.map((d) => d.deviceId));
      return;
    }
    let tail: string | undefined;
    for (const { deviceId, id } of deliveries) {
      const connections = this.#connections.get(deviceId);
      if (!connections) continue;
      // One serialisation for every recipient: only the mailbox id differs.
      tail ??= JSON.stringify(toMailboxItem({ ...message, id: 0 })).slice('{"id":0,'.length);
      for (const connection of connections) if (connection.deliverDirect(id, tail)) this.#outboxes.push(connection);
    }
    if (this.#outboxes.length > 0 && !this.#outboxScheduled) {
      this.#outboxScheduled = true;
      setImmediate(() => {
        this.#outboxScheduled = false;
        for (const connection of this.#outboxes.splice(0)) connection.flushOutbox();
      });
    }
  }

  /** New mail for these devices that must be read from the store. */
  notify(deviceIds: Iterable<string>): void {
    for (const deviceId of deviceIds) {
      const connections = this.#connections.get(deviceId);
      if (!connections) continue;
      for (const connection of connections) connection.behind = true;
      this.#pending.add(deviceId);
    }
    if (this.#pending.size > 0 && !this.#flushing) {
      this.#flushing = true;
      setImmediate(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.size > 0) {
        // A device whose every connection is full is read again when it acknowledges.
        const devices = [...this.#pending].filter((d) => [...(this.#connections.get(d) ?? [])].some((c) => !c.full));
        this.#pending.clear();
        const alone: string[] = devices.length === 1 ? devices : [];
        for (let i = 0; devices.length > 1 && i < devices.length; i += MAX_BATCH_DEVICES) {
          const batch = devices.slice(i, i + MAX_BATCH_DEVICES);
          const limit = batch.length * WINDOW;
          const byDevice = await this.#read(batch, () => this.delivery.mailboxes(batch, limit));
          const total = [...byDevice.values()].reduce((n, m) => n + m.length, 0);
          for (const [deviceId, mail] of byDevice) {
            // If the row limit cut the read short, a device's list may be incomplete: read it again alone.
            if (total >= limit || mail.length >= WINDOW) alone.push(deviceId);
            else this.#deliverRead(deviceId, mail, true);
          }
        }
        for (const deviceId of alone) {
          const mail = await this.#read([deviceId], () => this.delivery.mailbox(deviceId, WINDOW));
          this.#deliverRead(deviceId, mail, mail.length < WINDOW);
        }
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.#flushing = false;
      if (this.#pending.size > 0) this.notify([]);
    }
  }

  /** Marks the devices' connections as reading (so direct pushes defer to the read) while `read` runs. */
  async #read<T>(deviceIds: string[], read: () => Promise<T>): Promise<T> {
    const connections = deviceIds.flatMap((d) => [...(this.#connections.get(d) ?? [])]);
    for (const c of connections) {
      c.reading = true;
      c.behind = false;
    }
    try {
      return await read();
    } finally {
      for (const c of connections) c.reading = false;
    }
  }

  #deliverRead(deviceId: string, mail: StoredMessage[], complete: boolean): void {
    for (const connection of this.#connections.get(deviceId) ?? []) {
      connection.deliverRead(mail, complete);
      // A direct push skipped during the read is in the store now: read again.
      if (connection.behind) this.#pending.add(deviceId);
    }
  }

  get connectedDevices(): number {
    return this.#connections.size;
  }
}
