/** Delivery to devices: HTTP fetch and acknowledgement, and WebSocket push. */
import { ackRequest, ackResponse, clientFrame, ErrorCode, errorBody, fetchMailboxQuery, fetchMailboxResponse, type ServerFrame } from '@doublelock/protocol';
import { DomainError } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceOf, type AuthenticatedDevice, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { storeFailure } from '../errors.ts';
import { FrameWriter } from '../frameWriter.ts';
import { CloseCode } from '../push.ts';
import { mailboxPageStream, pageBytes, STREAM_PAGE_BYTES } from '../mailboxStream.ts';
import { toMailboxItem } from '../wire.ts';
import { acceptMessage } from './groups.ts';

const AUTH_TIMEOUT_MS = 10_000;
const MAX_QUEUED_FRAMES = 256;

export function mailboxRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/mailbox', { onRequest: auth.require, schema: { querystring: fetchMailboxQuery, response: { 200: fetchMailboxResponse } } }, async (request, reply) => {
      // Bounded by bytes as well as count: a few 1 MB messages cannot make one read unbounded.
      const mail = await ctx.stores.delivery.mailbox(deviceOf(request).deviceId, request.query.limit, ctx.config.mailboxReadBytes);
      // Large items are streamed out, not encoded into one string (mailboxStream.ts).
      if (pageBytes(mail) > STREAM_PAGE_BYTES) {
        // A peer that stops reading mid-page would hold it until TCP gives up: a socket idle (nothing
        // written) for push.stallMs is destroyed instead, which frees the page. Once the page is out,
        // Node sets the socket's keep-alive timeout again; only this listener goes.
        const socket = request.raw.socket;
        const stalled = () => socket.destroy();
        socket.setTimeout(ctx.config.push.stallMs, stalled);
        reply.raw.once('finish', () => socket.off('timeout', stalled));
        return reply.type('application/json; charset=utf-8').send(mailboxPageStream(mail) as never); // a stream: the route's serializer is bypassed on purpose
      }
      return { items: mail.map(toMailboxItem) };
    });

    app.post('/v1/mailbox/ack', { onRequest: auth.require, schema: { body: ackRequest, response: { 200: ackResponse } } }, async (request) => {
      const deleted = await ctx.acks.ack(deviceOf(request).deviceId, request.body.ids);
      ctx.metrics.deliveriesAcked.inc(deleted);
      return { deleted };
    });

    // The socket authenticates with its first frame (tokens stay out of URLs and access logs). It closes
    // when its session expires or its device is revoked; every send re-checks the session.
    app.route({
      method: 'GET',
      url: '/v1/ws',
      schema: {
        summary: 'WebSocket: push delivery, acknowledgements and sends',
        description:
          'Upgrade to a WebSocket. Client frames (JSON text): {type:"auth",token} first (within 10 s), then {type:"ack",ids}, {type:"send",groupId,message}, {type:"ping"}. ' +
          'Server frames: {type:"ready"}, {type:"items",items}, {type:"sent",clientMessageId,result}, {type:"pong"}, {type:"error",code,message,clientMessageId?}. ' +
          'Close codes: 4001 session ended (expired, revoked, or refused), 4008 too many sockets for this device (the oldest closes), 4009 reader too slow. ' +
          'A plain GET without Upgrade gets 426 upgrade_required.',
        response: { 426: errorBody },
      },
      handler: async (_request, reply) => reply.code(426).header('upgrade', 'websocket').send({ code: ErrorCode.upgradeRequired, message: 'GET /v1/ws needs a WebSocket upgrade.' }),
      wsHandler: (socket) => {
        // Every frame leaves through one writer: a large push is a message in fragments, and nothing may
        // start on the socket until its last fragment is out (frameWriter.ts).
        // A peer that stops reading in the middle of a large item is dropped after push.stallMs.
        const out = new FrameWriter(socket, ctx.config.push.stallMs, () => {
          ctx.metrics.slowReaders.inc();
          ctx.metrics.socketsClosed.inc({ reason: 'stalled' });
        });
        const send = (frame: ServerFrame) => {
          // A peer that keeps asking (pings, sends) without reading the answers is dropped, not buffered for.
          if (out.bufferedAmount > ctx.config.push.maxBuffered) {
            ctx.metrics.slowReaders.inc();
            return out.terminate();
          }
          out.send(JSON.stringify(frame));
        };
        const refuse = (code: string, message: string) => {
          send({ type: 'error', code, message });
          out.close(CloseCode.sessionEnded, code);
        };
        let attached: ReturnType<ServerContext['push']['attach']> | undefined;
        let session: AuthenticatedDevice | undefined;
        let token = '';
        let expiry: NodeJS.Timeout | undefined;
        let pending = Promise.resolve();
        const timer = setTimeout(() => refuse(ErrorCode.unauthenticated, 'No auth frame received in time.'), AUTH_TIMEOUT_MS);

        let queued = 0;
        socket.on('message', (data: Buffer, isBinary: boolean) => {
          // Frames are handled one at a time, in order; a client may have only so many waiting.
          if (++queued > MAX_QUEUED_FRAMES) return refuse(ErrorCode.rateLimited, `More than ${MAX_QUEUED_FRAMES} frames waiting: wait for answers before sending more.`);
          pending = pending.then(async () => {
            if (isBinary) return refuse(ErrorCode.badRequest, 'Frames are JSON text.');
            let parsed;
            try {
              parsed = clientFrame.safeParse(JSON.parse(data.toString('utf8')));
            } catch {
              return refuse(ErrorCode.invalidJson, 'The frame is not valid JSON.');
            }
            if (!parsed.success) return refuse(ErrorCode.validation, `Invalid frame: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
            const frame = parsed.data;
            if (frame.type === 'ping') return send({ type: 'pong' });
            if (frame.type === 'auth') {
              if (attached) return refuse(ErrorCode.badRequest, 'Already authenticated.');
              let expiresAt: number;
              try {
                ({ device: session, expiresAt } = await auth.session(frame.token));
              } catch (error) {
                return refuse(error instanceof DomainError ? error.code : ErrorCode.unauthenticated, error instanceof Error ? error.message : 'Authentication failed.');
              }
              clearTimeout(timer);
              if (socket.readyState !== socket.OPEN) return;
              token = frame.token;
              // setTimeout holds at most 2^31-1 ms; a longer session is re-checked then.
              expiry = setTimeout(() => refuse(ErrorCode.tokenExpired, 'The session has expired: authenticate again.'), Math.min(Math.max(0, expiresAt - ctx.now()), 2 ** 31 - 1));
              send({ type: 'ready' });
              attached = ctx.push.attach(session.deviceId, out);
              return;
            }
            if (!attached || !session) return refuse(ErrorCode.unauthenticated, 'Authenticate first.');
            if (frame.type === 'send') {
              const { clientMessageId } = frame.message;
              try {
                await auth.sessionFor(token); // expired or revoked since the socket authenticated: no more sends
              } catch (error) {
                return refuse(error instanceof DomainError ? error.code : ErrorCode.unauthenticated, error instanceof Error ? error.message : 'Authentication failed.');
              }
              try {
                send({ type: 'sent', clientMessageId, result: await acceptMessage(ctx, session, frame.groupId, frame.message) });
              } catch (error) {
                // A refused send (or a full / unavailable store) fails that send only; the socket stays.
                ctx.storage.noticed(error);
                const known = error instanceof DomainError ? { code: error.code, message: error.message } : storeFailure(error);
                if (!known) throw error;
                send({ type: 'error', code: known.code, message: known.message, clientMessageId });
              }
              return;
            }
            const deviceId = session.deviceId;
            const deleted = await ctx.acks.ack(deviceId, frame.ids);
            ctx.metrics.deliveriesAcked.inc(deleted);
            attached.acked(frame.ids);
          }).catch((error: unknown) => {
            ctx.storage.noticed(error);
            const store = storeFailure(error);
            if (store) return refuse(store.code, store.message);
            app.log.error({ err: error }, 'websocket frame failed');
            refuse(ErrorCode.internal, 'Internal error.');
          }).finally(() => queued--);
        });
        socket.on('close', () => {
          clearTimeout(timer);
          clearTimeout(expiry);
          attached?.detach();
        });
      },
    });
  };
}
