/** Delivery to devices: HTTP fetch and acknowledgement, and WebSocket push. */
import { ackRequest, ackResponse, clientFrame, ErrorCode, fetchMailboxQuery, fetchMailboxResponse, type ServerFrame } from '@doublelock/protocol';
import { DomainError } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { deviceOf, type AuthenticatedDevice, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { toMailboxItem } from '../wire.ts';
import { acceptMessage } from './groups.ts';

const AUTH_TIMEOUT_MS = 10_000;

export function mailboxRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/v1/mailbox', { onRequest: auth.require, schema: { querystring: fetchMailboxQuery, response: { 200: fetchMailboxResponse } } }, async (request) => {
      const mail = await ctx.stores.delivery.mailbox(deviceOf(request).deviceId, request.query.limit);
      return { items: mail.map(toMailboxItem) };
    });

    app.post('/v1/mailbox/ack', { onRequest: auth.require, schema: { body: ackRequest, response: { 200: ackResponse } } }, async (request) => {
      const deleted = await ctx.acks.ack(deviceOf(request).deviceId, request.body.ids);
      ctx.metrics.deliveriesAcked.inc(deleted);
      return { deleted };
    });

    // The socket authenticates with its first frame (tokens stay out of URLs and access logs).
    app.get('/v1/ws', { websocket: true }, (socket) => {
      const send = (frame: ServerFrame) => socket.send(JSON.stringify(frame));
      const refuse = (code: string, message: string) => {
        send({ type: 'error', code, message });
        socket.close(4001, code);
      };
      let attached: ReturnType<ServerContext['push']['attach']> | undefined;
      let session: AuthenticatedDevice | undefined;
      let pending = Promise.resolve();
      const timer = setTimeout(() => refuse(ErrorCode.unauthenticated, 'No auth frame received in time.'), AUTH_TIMEOUT_MS);

      socket.on('message', (data: Buffer, isBinary: boolean) => {
        // Frames are handled one at a time, in order.
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
            try {
              session = await auth.sessionFor(frame.token);
            } catch (error) {
              return refuse(error instanceof DomainError ? error.code : ErrorCode.unauthenticated, error instanceof Error ? error.message : 'Authentication failed.');
            }
            clearTimeout(timer);
            send({ type: 'ready' });
            attached = ctx.push.attach(session.deviceId, socket);
            return;
          }
          if (!attached || !session) return refuse(ErrorCode.unauthenticated, 'Authenticate first.');
          if (frame.type === 'send') {
            const { clientMessageId } = frame.message;
            try {
              send({ type: 'sent', clientMessageId, result: await acceptMessage(ctx, session, frame.groupId, frame.message) });
            } catch (error) {
              if (!(error instanceof DomainError)) throw error;
              send({ type: 'error', code: error.code, message: error.message, clientMessageId });
            }
            return;
          }
          const deviceId = session.deviceId;
          const deleted = await ctx.acks.ack(deviceId, frame.ids);
          ctx.metrics.deliveriesAcked.inc(deleted);
          attached.acked(frame.ids);
        }).catch((error: unknown) => {
          app.log.error({ err: error }, 'websocket frame failed');
          refuse(ErrorCode.internal, 'Internal error.');
        });
      });
      socket.on('close', () => {
        clearTimeout(timer);
        attached?.detach();
      });
    });
  };
}
