/**
 * Public channels: channels, media, posts (through the upload check), replies, hashtags, follows and
 * feeds. Reading is public: an anonymous reader sees published posts; a signed-in one also
 * age-restricted posts and their own posts in any state. A request that carries a session must carry a
 * valid one. Every body and parameter is validated by the protocol's zod schemas.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Viewer } from '@doublelock/channels';
import {
  channelHandle,
  channelListResponse,
  channelResponse,
  createChannelRequest,
  createPostRequest,
  editPostRequest,
  ErrorCode,
  feedResponse,
  followingResponse,
  followResponse,
  hashtagParam,
  idParam,
  mediaResponse,
  pageQuery,
  postListResponse,
  postResponse,
  updateChannelRequest,
} from '@doublelock/protocol';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';

const handleParams = z.object({ handle: channelHandle });
const idParams = z.object({ id: idParam });

export function channelRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  const channels = ctx.channels;

  /** Public routes: anonymous, or authenticated when a session is offered (a bad one is refused). */
  const optional = async (request: FastifyRequest) => {
    if (request.headers.authorization !== undefined) await auth.require(request);
  };

  const viewer = (request: FastifyRequest): Viewer => {
    const country = request.headers[ctx.config.countryHeader];
    const code = typeof country === 'string' && /^[A-Za-z]{2}$/.test(country) ? country.toUpperCase() : null;
    return { username: request.device?.username ?? null, country: code };
  };

  return async (app) => {
    app.post('/v1/channels', { onRequest: auth.require, schema: { body: createChannelRequest, response: { 201: channelResponse } } }, async (request, reply) => {
      const c = await channels.createChannel(deviceOf(request).username, request.body);
      return reply.code(201).send(await channels.describeChannel(c));
    });

    app.get('/v1/channels', { onRequest: optional, schema: { querystring: pageQuery, response: { 200: channelListResponse } } }, async (request) =>
      channels.listChannels(request.query.before, request.query.limit),
    );

    app.get('/v1/channels/:handle', { onRequest: optional, schema: { params: handleParams, response: { 200: channelResponse } } }, async (request) =>
      channels.describeChannel(await channels.channel(request.params.handle)),
    );

    app.patch('/v1/channels/:handle', { onRequest: auth.require, schema: { params: handleParams, body: updateChannelRequest, response: { 200: channelResponse } } }, async (request) =>
      channels.describeChannel(await channels.updateChannel(deviceOf(request).username, request.params.handle, request.body)),
    );

    // Media: the raw body streams into the blob store (any content type: the bytes decide what it is).
    await app.register(async (scope) => {
      const media = scope.withTypeProvider<ZodTypeProvider>();
      media.removeAllContentTypeParsers();
      media.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
      media.post('/v1/channels/:handle/media', { onRequest: auth.require, schema: { params: handleParams, response: { 201: mediaResponse } } }, async (request, reply) => {
        const body = request.body as Readable | undefined;
        if (!body || typeof body.pipe !== 'function') return fail(ErrorCode.badRequest, 'Send the image or video as the request body.');
        const declared = request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);
        const m = await channels.uploadMedia(deviceOf(request).username, request.params.handle, body, Number.isFinite(declared) ? declared : undefined);
        return reply.code(201).send(m);
      });
    });

    app.post('/v1/channels/:handle/posts', { onRequest: auth.require, schema: { params: handleParams, body: createPostRequest, response: { 201: postResponse, 202: postResponse } } }, async (request, reply) => {
      const { post } = await channels.createPost(deviceOf(request).username, request.params.handle, request.body);
      return reply.code(post.visibility === 'published' ? 201 : 202).send(post);
    });

    app.get('/v1/channels/:handle/posts', { onRequest: optional, schema: { params: handleParams, querystring: pageQuery, response: { 200: feedResponse } } }, async (request) =>
      channels.channelFeed(request.params.handle, viewer(request), request.query.before, request.query.limit),
    );

    app.get('/v1/posts/:id', { onRequest: optional, schema: { params: idParams, response: { 200: postResponse } } }, async (request) => channels.getPost(request.params.id, viewer(request)));

    app.patch('/v1/posts/:id', { onRequest: auth.require, schema: { params: idParams, body: editPostRequest, response: { 200: postResponse } } }, async (request) =>
      (await channels.editPost(deviceOf(request).username, request.params.id, request.body)).post,
    );

    app.delete('/v1/posts/:id', { onRequest: auth.require, schema: { params: idParams } }, async (request, reply) => {
      await channels.deletePost(deviceOf(request).username, request.params.id);
      return reply.code(204).send();
    });

    app.get('/v1/posts/:id/replies', { onRequest: optional, schema: { params: idParams, querystring: pageQuery, response: { 200: postListResponse } } }, async (request) =>
      channels.replies(request.params.id, viewer(request), request.query.before, request.query.limit),
    );

    app.post('/v1/posts/:id/replies', { onRequest: auth.require, schema: { params: idParams, body: createPostRequest, response: { 201: postResponse, 202: postResponse } } }, async (request, reply) => {
      const { post } = await channels.reply(deviceOf(request).username, request.params.id, request.body);
      return reply.code(post.visibility === 'published' ? 201 : 202).send(post);
    });

    app.get('/v1/hashtags/:tag', { onRequest: optional, schema: { params: hashtagParam, querystring: pageQuery, response: { 200: postListResponse } } }, async (request) =>
      channels.hashtag(request.params.tag, viewer(request), request.query.before, request.query.limit),
    );

    app.post('/v1/channels/:handle/follow', { onRequest: auth.require, schema: { params: handleParams, response: { 200: followResponse } } }, async (request) =>
      channels.follow(deviceOf(request).username, request.params.handle, true),
    );

    app.delete('/v1/channels/:handle/follow', { onRequest: auth.require, schema: { params: handleParams, response: { 200: followResponse } } }, async (request) =>
      channels.follow(deviceOf(request).username, request.params.handle, false),
    );

    app.get('/v1/following', { onRequest: auth.require, schema: { response: { 200: followingResponse } } }, async (request) => channels.following(deviceOf(request).username));

    app.get('/v1/feed', { onRequest: auth.require, schema: { querystring: pageQuery, response: { 200: postListResponse } } }, async (request) =>
      channels.homeFeed(deviceOf(request).username, viewer(request), request.query.before, request.query.limit),
    );

    app.get('/v1/me/posts', { onRequest: auth.require, schema: { querystring: pageQuery, response: { 200: postListResponse } } }, async (request) =>
      channels.myPosts(deviceOf(request).username, request.query.before, request.query.limit),
    );

    app.get('/v1/media/:id', { onRequest: optional, schema: { params: idParams } }, async (request, reply) => {
      const { media, path } = await channels.openMedia(request.params.id, viewer(request));
      return sendRange(request, reply, path, media.bytes, media.contentType);
    });
  };
}

/** Serves a file with its content type and single-range support (206, 416), as video players need. */
function sendRange(request: FastifyRequest, reply: FastifyReply, path: string, size: number, contentType: string) {
  void reply
    .header('accept-ranges', 'bytes')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cache-control', 'private, no-cache');
  const range = request.headers.range;
  if (range === undefined) return reply.header('content-type', contentType).header('content-length', size).send(createReadStream(path));
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) {
    // several ranges, or another unit: the whole file is an allowed answer (RFC 9110 §14.2)
    return reply.header('content-type', contentType).header('content-length', size).send(createReadStream(path));
  }
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= size || end < start || size === 0) {
    return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8').send({ code: ErrorCode.rangeNotSatisfiable, message: `The file is ${size} bytes; range ${range} is outside it.` });
  }
  return reply
    .code(206)
    .header('content-type', contentType)
    .header('content-range', `bytes ${start}-${end}/${size}`)
    .header('content-length', end - start + 1)
    .send(createReadStream(path, { start, end }));
}
