/** Encrypted attachments, addressed by SHA-256, scoped to a group: only members may upload or download. */
import { ErrorCode, groupId as groupIdSchema, sha256Hex } from '@doublelock/protocol';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';

const params = z.object({ groupId: groupIdSchema, hash: sha256Hex });

export function blobRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  return async (app) => {
    // Hand the raw request stream to the route: blobs are streamed, never buffered whole.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    app.addHook('onRequest', auth.require);

    const requireMember = async (groupId: string, deviceId: string) => {
      if (!(await ctx.stores.delivery.isMember(groupId, deviceId))) fail(ErrorCode.notMember, 'Only members of the group may use its attachments.');
    };

    app.put('/v1/groups/:groupId/blobs/:hash', { schema: { params } }, async (request, reply) => {
      const { groupId, hash } = request.params;
      const device = deviceOf(request);
      await requireMember(groupId, device.deviceId);
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > ctx.config.maxBlobBytes) fail(ErrorCode.payloadTooLarge, `Attachments are limited to ${ctx.config.maxBlobBytes} bytes.`);
      if (!request.body || typeof (request.body as Readable).pipe !== 'function') fail(ErrorCode.badRequest, 'Send the blob as application/octet-stream.');
      const { size } = await ctx.blobs.put(hash, request.body as Readable, ctx.config.maxBlobBytes);
      await ctx.stores.blobs.add(groupId, hash, size, device.deviceId, ctx.now());
      return reply.code(201).send({ hash, size });
    });

    app.get('/v1/groups/:groupId/blobs/:hash', { schema: { params } }, async (request, reply) => {
      const { groupId, hash } = request.params;
      await requireMember(groupId, deviceOf(request).deviceId);
      const indexed = await ctx.stores.blobs.get(groupId, hash);
      const blob = indexed && (await ctx.blobs.open(hash));
      if (!blob) return fail(ErrorCode.notFound, 'No such attachment in this group.');
      return reply.header('content-type', 'application/octet-stream').header('content-length', blob.size).send(blob.stream);
    });
  };
}
