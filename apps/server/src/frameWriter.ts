/**
 * Everything one WebSocket sends, in order: whole frames (answers, small pushes), and large items'
 * frames as one WebSocket message in fragments (RFC 6455 §5.4), each fragment encoded only once the
 * previous one has been handed to the network. A 1 MB item is never one string in memory, and a reader
 * that stops reading holds one fragment, not the item's whole encoding. While a message is being
 * fragmented no other message may start on the socket (its frames would read as continuations), so
 * frames sent meanwhile wait in order behind it; close() waits too, so an error frame still leaves
 * before the close.
 * A peer that stops reading in the middle of a fragmented message would hold it (the item, and all that
 * waits behind it) until TCP gives up, minutes or hours later: its unsent bytes stay under one fragment,
 * so the slow-reader limit on buffered bytes never sees it. A fragment the network has not taken within
 * `stallMs` ends the socket instead (terminate: its buffers are freed now).
 */
import type { PushSocket } from './push.ts';

/** What a `ws` WebSocket offers that the writer uses. */
export interface RawSocket {
  send(data: string, options: { fin: boolean }, cb?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly bufferedAmount: number;
}

type Outgoing = { frame: string } | { fragments: Iterator<string>; size: number } | { close: [number | undefined, string | undefined] };

export class FrameWriter implements PushSocket {
  readonly #queue: Outgoing[] = [];
  #queuedBytes = 0;
  #streaming = false;
  #ended = false;

  constructor(
    private readonly socket: RawSocket,
    /** How long one fragment may wait for the network before the peer counts as gone. */
    private readonly stallMs: number,
    /** Told when a stalled peer is dropped (before the socket is terminated). */
    private readonly onStall: () => void = () => undefined,
  ) {}

  /**
   * Bytes not yet on the network: the socket's buffer, and the frames and large items waiting behind a
   * fragmented message (so a reader that stopped reading, but acknowledges, is seen as slow).
   */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount + this.#queuedBytes;
  }

  send(data: string): void {
    if (this.#ended) return;
    if (!this.#streaming) return this.socket.send(data, { fin: true });
    this.#queue.push({ frame: data });
    this.#queuedBytes += data.length;
  }

  /** One message made of `pieces` (their concatenation is the frame; `size`: what it counts while it waits), sent as fragments. */
  stream(pieces: Iterable<string>, size: number): void {
    if (this.#ended) return;
    this.#queue.push({ fragments: pieces[Symbol.iterator](), size });
    this.#queuedBytes += size;
    if (!this.#streaming) void this.#pump();
  }

  close(code?: number, reason?: string): void {
    if (this.#ended) return;
    if (!this.#streaming) {
      this.#ended = true;
      return this.socket.close(code, reason);
    }
    this.#queue.push({ close: [code, reason] });
  }

  terminate(): void {
    this.#ended = true;
    this.#queue.length = 0; // frees what waited (the count no longer matters: nothing is sent again)
    this.socket.terminate();
  }

  async #pump(): Promise<void> {
    this.#streaming = true;
    try {
      while (this.#queue.length > 0 && !this.#ended) {
        const next = this.#queue.shift()!;
        if ('frame' in next) {
          this.#queuedBytes -= next.frame.length;
          this.socket.send(next.frame, { fin: true });
        } else if ('close' in next) {
          this.#ended = true;
          this.socket.close(...next.close);
        } else {
          this.#queuedBytes -= next.size;
          // One piece is held back so that the last fragment can carry FIN.
          let piece = next.fragments.next();
          while (!piece.done && !this.#ended) {
            const following = next.fragments.next();
            const fin = following.done === true;
            const fragment = piece.value as string;
            // The callback runs once the fragment is handed to the network (or failed: the socket is gone).
            const taken = await new Promise<boolean>((resolve) => {
              const stalled = setTimeout(() => resolve(false), this.stallMs);
              this.socket.send(fragment, { fin }, (error) => {
                clearTimeout(stalled);
                if (error) this.#ended = true;
                resolve(true);
              });
            });
            if (!taken) {
              this.onStall();
              this.terminate();
              return;
            }
            piece = following;
          }
        }
      }
    } finally {
      this.#streaming = false;
    }
  }
}
