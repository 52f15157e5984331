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
 * Direct pushes of one tick leave a connection as one frame. On PostgreSQL the acknowledgements of two
 * transactions that the group row serialised can reach this process in either order (the row lock is
 * released before the second transaction's client hears its commit), so each group's pushes pass through
 * a sequencer that releases them in seq order.
 * At most WINDOW items and BYTE_WINDOW bytes are in flight per connection, and every read is bounded by
 * bytes as well as by count (one member's 1 MB messages cannot make a read or a frame unbounded); what a
 * connection misses while full, or while a read is running, is read again once it acknowledges.
 * A socket whose unsent buffer passes MAX_BUFFERED (a reader that acknowledges without reading, or a
 * dead peer) is terminated at once, which frees its buffers; a device holds at most `maxSockets`
 * sockets (the oldest is closed for a new one). An item larger than STREAM_ITEM_BYTES leaves as its
 * own frame, streamed in fragments (frameWriter.ts), never encoded whole.
 */
import type { ServerFrame } from '@doublelock/protocol';
import type { DeliveryStore, StoredMessage } from '@doublelock/store';
import { itemFrameChunks, STREAM_ITEM_BYTES } from './mailboxStream.ts';
import type { Metrics } from './metrics.ts';
import { toMailboxItem } from './wire.ts';

const WINDOW = 500;
const MAX_BATCH_DEVICES = 500;
const BATCH_BYTES = 16 * 1024 * 1024;
/** A frame carries at most about this much payload; a larger read leaves as several frames. */
const FRAME_BYTES = 1024 * 1024;

export interface PushLimits {
  /** Sockets one device may hold open at once (the oldest closes for a new one). */
  maxSockets: number;
  /** Bytes of mail in flight (pushed, not yet acknowledged) per connection; also bounds each read. */
  windowBytes: number;
  /** Unsent bytes queued on one socket beyond which its reader is too slow and is dropped. */
  maxBuffered: number;
  /** Milliseconds one fragment of a streamed large item may wait for the network before the socket is dropped (frameWriter.ts). */
  stallMs: number;
}
export const DEFAULT_PUSH_LIMITS: PushLimits = { maxSockets: 8, windowBytes: 4 * 1024 * 1024, maxBuffered: 16 * 1024 * 1024, stallMs: 30_000 };
/** The store's per-item overhead estimate (see DeliveryStore.readMail). */
const ITEM_OVERHEAD = 256;

const sizeOf = (m: StoredMessage) => m.payload.length + (m.ratchetTree?.length ?? 0) + ITEM_OVERHEAD;
const isLarge = (m: Omit<StoredMessage, 'id'>) => m.payload.length > STREAM_ITEM_BYTES;

export const CloseCode = {
  /** Session ended: expired, or the device was revoked. */
  sessionEnded: 4001,
  /** The device opened more sockets than allowed: this, its oldest, was closed. */
  tooManySockets: 4008,
  /** Pushed frames were not read fast enough (or a streamed item stalled). */
  slowReader: 4009,
} as const;

export interface PushSocket {
  send(data: string): void;
  /** One frame whose text is the concatenation of `pieces`, produced as the network takes them. */
  stream(pieces: Iterable<string>, size: number): void;
  close(code?: number, reason?: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
  /** Drops the connection without a closing handshake (frees its buffers now). */
  terminate(): void;
}

class Connection {
  /** Pushed, unacknowledged mailbox ids and their sizes. */
  readonly sent = new Map<number, number>();
  sentBytes = 0;
  /** Acknowledged ids that a read started before the acknowledgement may still return. */
  readonly acked = new Set<number>();
  closed = false;
  /** A mailbox read for this device is running: direct pushes wait for it. */
  reading = false;
  /** Something was not sent directly (window full, or a read was running): read the mailbox again. */
  behind = false;

  constructor(
    readonly deviceId: string,
    readonly socket: PushSocket,
    private readonly metrics: Metrics,
    private readonly limits: PushLimits,
  ) {}

  get full(): boolean {
    return this.sent.size >= WINDOW || this.sentBytes >= this.limits.windowBytes;
  }

  markSent(id: number, size: number): void {
    if (this.sent.has(id)) return;
    this.sent.set(id, size);
    this.sentBytes += size;
  }

  forget(id: number): boolean {
    const size = this.sent.get(id);
    if (size === undefined) return false;
    this.sent.delete(id);
    this.sentBytes -= size;
    return true;
  }

  /** The reader is too slow (its unsent bytes passed the limit): the socket is dropped. */
  #dropIfSlow(): boolean {
    if (this.closed) return true;
    if (this.socket.bufferedAmount <= this.limits.maxBuffered) return false;
    this.closed = true;
    this.metrics.slowReaders.inc();
    this.socket.terminate();
    return true;
  }

  /** Sends a frame, unless the reader is too slow: then the socket is dropped. */
  write(data: string): void {
    if (!this.#dropIfSlow()) this.socket.send(data);
  }

  /** A large item: its own frame, in fragments. */
  writeLarge(m: StoredMessage): void {
    if (this.#dropIfSlow()) return;
    this.socket.stream(itemFrameChunks(m), sizeOf(m)); // counted as the window counts it
    this.metrics.itemsPushed.inc();
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
      this.sentBytes = 0;
      for (const m of mail) if (!this.acked.has(m.id)) this.markSent(m.id, sizeOf(m));
      for (const id of this.acked) if (!present.has(id)) this.acked.delete(id);
    } else {
      for (const m of fresh) this.markSent(m.id, sizeOf(m));
      this.behind = true;
    }
    // Large reads leave as several frames, each encoded just before it is sent; a large item alone, streamed.
    for (let start = 0; start < fresh.length && !this.closed; ) {
      if (isLarge(fresh[start]!)) {
        this.writeLarge(fresh[start++]!);
        continue;
      }
      let end = start;
      for (let bytes = 0; end < fresh.length && !isLarge(fresh[end]!) && (end === start || bytes + sizeOf(fresh[end]!) <= FRAME_BYTES); end++) bytes += sizeOf(fresh[end]!);
      const frame: ServerFrame = { type: 'items', items: fresh.slice(start, end).map(toMailboxItem) };
      this.write(JSON.stringify(frame));
      this.metrics.itemsPushed.inc(end - start);
      start = end;
    }
  }

  /** Direct pushes queued for this tick: they leave together in one frame (a large one alone, streamed). */
  #outbox: Array<string | StoredMessage> = [];

  /**
   * `item` is the item's JSON minus its leading `{"id":N,` (shared by all recipients), or for a large
   * item the message itself (shared too; each connection streams it). Returns true if queued first.
   */
  deliverDirect(id: number, item: string | Omit<StoredMessage, 'id'>, size: number): boolean {
    if (this.closed) return false;
    // Behind a pending or running read (e.g. a commit just notified), a direct push could overtake older
    // mail: leave it to the read, which delivers everything in mailbox order.
    if (this.reading || this.behind || this.full) {
      this.behind = true;
      return false;
    }
    this.markSent(id, size);
    this.#outbox.push(typeof item === 'string' ? `{"id":${id},${item}` : { ...item, id });
    return this.#outbox.length === 1;
  }

  flushOutbox(): void {
    if (this.#outbox.length === 0 || this.closed) return;
    const outbox = this.#outbox;
    this.#outbox = [];
    for (let start = 0; start < outbox.length; ) {
      const first = outbox[start]!;
      if (typeof first !== 'string') {
        this.writeLarge(first);
        start++;
        continue;
      }
      let end = start;
      while (end < outbox.length && typeof outbox[end] === 'string') end++;
      this.write(`{"type":"items","items":[${outbox.slice(start, end).join(',')}]}`);
      this.metrics.itemsPushed.inc(end - start);
      start = end;
    }
  }
}

/** Waits this long for a missing seq before releasing what came after it (a gap should never last). */
const GAP_WAIT_MS = 250;
/** Groups whose next seq is remembered; beyond this the idle ones are forgotten (their next push just goes). */
const MAX_TRACKED_GROUPS = 100_000;

/** Releases each group's accepted messages and commits in seq order. */
export class GroupOrder {
  readonly #next = new Map<string, number>();
  readonly #held = new Map<string, Map<number, { count: number; release: () => void }>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly gapWaitMs = GAP_WAIT_MS) {}

  /** `seq` .. `seq + count - 1` were accepted in `groupId`: runs `release` once every earlier seq was released. */
  accepted(groupId: string, seq: number, count: number, release: () => void): void {
    const next = this.#next.get(groupId);
    if (next === undefined || seq <= next) {
      // First seen here (since start, or forgotten), in order, or later than a gap we gave up on.
      if (next === undefined && this.#next.size >= MAX_TRACKED_GROUPS) this.#forgetIdle();
      this.#next.set(groupId, Math.max(next ?? 0, seq + count));
      release();
      this.#drain(groupId);
      return;
    }
    let held = this.#held.get(groupId);
    if (!held) this.#held.set(groupId, (held = new Map()));
    held.set(seq, { count, release });
    if (!this.#timers.has(groupId)) this.#timers.set(groupId, setTimeout(() => this.#giveUp(groupId), this.gapWaitMs).unref());
  }

  #drain(groupId: string): void {
    const held = this.#held.get(groupId);
    if (!held) return;
    for (let next = this.#next.get(groupId)!, item = held.get(next); item; item = held.get(next)) {
      held.delete(next);
      next += item.count;
      this.#next.set(groupId, next);
      item.release();
    }
    if (held.size === 0) {
      this.#held.delete(groupId);
      clearTimeout(this.#timers.get(groupId));
      this.#timers.delete(groupId);
    }
  }

  /** The missing seq never came (e.g. accepted by another process): release what waited, in order. */
  #giveUp(groupId: string): void {
    this.#timers.delete(groupId);
    const held = this.#held.get(groupId);
    if (!held) return;
    this.#held.delete(groupId);
    for (const seq of [...held.keys()].sort((a, b) => a - b)) {
      const item = held.get(seq)!;
      this.#next.set(groupId, seq + item.count);
      item.release();
    }
  }

  #forgetIdle(): void {
    for (const groupId of this.#next.keys()) if (!this.#held.has(groupId)) this.#next.delete(groupId);
  }
}

export class Push {
  readonly #connections = new Map<string, Set<Connection>>();
  #pending = new Set<string>();
  #flushing = false;
  /** Connections with direct pushes queued this tick. */
  #outboxes: Connection[] = [];
  #outboxScheduled = false;

  /** Set when scaled out: tells the other nodes which devices got mail, and which were revoked. */
  remote: { publish(deviceIds: string[]): void; publishRevoked(deviceIds: string[]): void } | undefined;

  constructor(
    private readonly delivery: DeliveryStore,
    private readonly metrics: Metrics,
    private readonly onError: (error: unknown) => void,
    /** Push published messages without a read (single node only; see above). */
    private readonly direct = true,
    readonly limits: PushLimits = DEFAULT_PUSH_LIMITS,
  ) {}

  readonly #order = new GroupOrder();

  /** New mail committed on this node (seqs `seq` .. `seq + count - 1` of the group): push it here and tell the other nodes. */
  delivered(
    at: { groupId: string; seq: number; count: number },
    deviceIds: string[],
    message?: Omit<StoredMessage, 'id'>,
    deliveries?: Array<{ deviceId: string; id: number }>,
  ): void {
    this.#order.accepted(at.groupId, at.seq, at.count, () => {
      if (message && deliveries) this.publish(message, deliveries);
      else this.notify(deviceIds);
    });
    this.remote?.publish(deviceIds);
  }

  attach(deviceId: string, socket: PushSocket): { detach(): void; acked(ids: number[]): void } {
    const connection = new Connection(deviceId, socket, this.metrics, this.limits);
    let set = this.#connections.get(deviceId);
    if (!set) this.#connections.set(deviceId, (set = new Set()));
    // Over the cap, the oldest socket goes: a reconnecting client is never locked out by its own dead sockets.
    for (const oldest of set) {
      if (set.size < this.limits.maxSockets) break;
      this.#drop(set, oldest, CloseCode.tooManySockets, 'too_many_sockets');
    }
    set.add(connection);
    this.metrics.sockets.inc();
    connection.behind = true;
    this.notify([deviceId]); // the backlog
    return {
      detach: () => {
        connection.closed = true;
        if (set.delete(connection)) this.metrics.sockets.dec();
        if (set.size === 0 && this.#connections.get(deviceId) === set) this.#connections.delete(deviceId);
      },
      acked: (ids) => {
        for (const id of ids) if (connection.forget(id)) connection.acked.add(id);
        if (connection.behind || !this.direct) this.notify([deviceId]);
      },
    };
  }

  /** These devices were revoked: their sockets close here and on every other node. */
  revoked(deviceIds: string[]): void {
    this.disconnect(deviceIds);
    this.remote?.publishRevoked(deviceIds);
  }

  /** Closes every socket of these devices (session ended: device revoked). */
  disconnect(deviceIds: Iterable<string>, code: number = CloseCode.sessionEnded, reason = 'device_revoked'): void {
    for (const deviceId of deviceIds) {
      const set = this.#connections.get(deviceId);
      if (set) for (const connection of [...set]) this.#drop(set, connection, code, reason);
    }
  }

  #drop(set: Set<Connection>, connection: Connection, code: number, reason: string): void {
    connection.closed = true;
    if (set.delete(connection)) this.metrics.sockets.dec();
    if (set.size === 0) this.#connections.delete(connection.deviceId);
    this.metrics.socketsClosed.inc({ reason });
    connection.socket.close(code, reason);
  }

  /** A message just committed, with each recipient's mailbox id. */
  publish(message: Omit<StoredMessage, 'id'>, deliveries: Array<{ deviceId: string; id: number }>): void {
    if (!this.direct) {
      this.notify(deliveries.map((d) => d.deviceId));
      return;
    }
    let tail: string | Omit<StoredMessage, 'id'> | undefined;
    const size = sizeOf({ ...message, id: 0 });
    for (const { deviceId, id } of deliveries) {
      const connections = this.#connections.get(deviceId);
      if (!connections) continue;
      // One serialisation for every recipient: only the mailbox id differs.
      tail ??= isLarge(message) ? message : JSON.stringify(toMailboxItem({ ...message, id: 0 })).slice('{"id":0,'.length);
      for (const connection of connections) if (connection.deliverDirect(id, tail, size)) this.#outboxes.push(connection);
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
          const { byDevice, complete } = await this.#read(batch, () => this.delivery.readMail(batch, limit, BATCH_BYTES));
          for (const [deviceId, mail] of byDevice) {
            // If the row or byte limit cut the read short, a device's list may be incomplete: read it again alone.
            if (!complete || mail.length >= WINDOW || mail.reduce((n, m) => n + sizeOf(m), 0) >= this.limits.windowBytes) alone.push(deviceId);
            else this.#deliverRead(deviceId, mail, true);
          }
        }
        for (const deviceId of alone) {
          const { byDevice, complete } = await this.#read([deviceId], () => this.delivery.readMail([deviceId], WINDOW, this.limits.windowBytes));
          this.#deliverRead(deviceId, byDevice.get(deviceId)!, complete);
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
