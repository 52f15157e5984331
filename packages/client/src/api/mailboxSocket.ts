/**
 * The push channel (GET /v1/ws): authenticate with the first frame, then receive `items` frames and
 * acknowledge them. Reconnects with backoff; the caller re-syncs over HTTP after each (re)connect, since
 * delivery is at-least-once and the mailbox is the source of truth. Takes the WebSocket class as a
 * parameter: browsers pass their own, Node 20 passes the `ws` package's.
 */
import { serverFrame, type ClientFrame, type MailboxItem } from '@doublelock/protocol';

/** The subset of the WHATWG WebSocket that we use (the `ws` package implements it too). */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface MailboxSocketHandlers {
  token(): Promise<string>;
  /** Called after authentication; resolve once any HTTP catch-up is done. */
  onReady(): void | Promise<void>;
  onItems(items: MailboxItem[]): void | Promise<void>;
  onError(error: Error): void;
}

export class MailboxSocket {
  private socket: WebSocketLike | undefined;
  private closed = false;
  private backoffMs = 250;

  constructor(
    private readonly url: string,
    private readonly WebSocketImpl: WebSocketConstructor,
    private readonly handlers: MailboxSocketHandlers,
  ) {}

  static urlFor(baseUrl: string): string {
    const url = new URL('/v1/ws', baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  /** Resolves when the first connection is authenticated. */
  start(): Promise<void> {
    return new Promise((resolve) => this.connect(resolve));
  }

  private connect(onFirstReady?: () => void): void {
    if (this.closed) return;
    const socket = new this.WebSocketImpl(this.url);
    this.socket = socket;
    let queue = Promise.resolve();
    socket.onopen = () => {
      this.handlers.token().then(
        (token) => this.send({ type: 'auth', token }),
        (error: unknown) => this.handlers.onError(error as Error),
      );
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = serverFrame.parse(JSON.parse(String(event.data)));
      } catch (error) {
        this.handlers.onError(new Error(`unexpected frame from the server: ${(error as Error).message}`));
        return;
      }
      // Frames are handled one after another, in arrival order.
      queue = queue.then(async () => {
        if (frame.type === 'ready') {
          this.backoffMs = 250;
          await this.handlers.onReady();
          onFirstReady?.();
          onFirstReady = undefined;
        } else if (frame.type === 'items') {
          await this.handlers.onItems(frame.items);
        } else if (frame.type === 'error') {
          this.handlers.onError(new Error(`server closed the push channel: ${frame.code}: ${frame.message}`));
        }
      }).catch((error: unknown) => this.handlers.onError(error as Error));
    };
    socket.onerror = () => {};
    socket.onclose = () => {
      if (this.closed) return;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 10_000);
      setTimeout(() => this.connect(onFirstReady), delay);
    };
  }

  ack(ids: number[]): void {
    for (let i = 0; i < ids.length; i += 1000) this.send({ type: 'ack', ids: ids.slice(i, i + 1000) });
  }

  private send(frame: ClientFrame): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(frame));
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}
