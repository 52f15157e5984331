/**
 * Transparency log endpoints: the latest signed checkpoint (a C2SP signed note, text/plain, with the
 * witness cosignatures collected for it), inclusion and consistency proofs (RFC 9162), entries in
 * bounded pages, the same tree as C2SP tlog-tiles (tiles and entry bundles under /v1/log/tile/), and
 * witnesses posting cosignatures (accepted only from the log's configured witnesses).
 */
import { LogError, parseTileIndex, type TransparencyLog } from '@doublelock/log';
import { ErrorCode, toBase64Url, type ErrorBody } from '@doublelock/protocol';
import {
  logConsistencyProofResponse,
  logConsistencyQuery,
  logCosignatureRequest,
  logCosignatureResponse,
  logEntriesQuery,
  logEntriesResponse,
  logInclusionProofResponse,
  logInclusionQuery,
  MAX_LOG_ENTRIES_PER_REQUEST,
} from '@doublelock/protocol/log';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { statusOf } from './errors.ts';

const NOTE_TYPE = 'text/plain; charset=utf-8';
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** `<N>[.p/<W>]` of a tlog-tiles path; only the canonical encoding names a tile. */
const tileIndex = z.string().transform((path, ctx) => {
  const parsed = parseTileIndex(path);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be a tile index like x001/234 with an optional .p/<width>' });
    return z.NEVER;
  }
  return parsed;
});
const tileParams = z.object({ level: z.string().regex(/^(0|[1-9][0-9]?)$/, { message: 'must be a tile level 0–63' }).transform(Number).refine((l) => l <= 63, { message: 'must be a tile level 0–63' }), '*': tileIndex });
const bundleParams = z.object({ '*': tileIndex });

export async function logRoutes(app: FastifyInstance, opts: { log: TransparencyLog }): Promise<void> {
  const { log } = opts;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Log failures leave as { code, message } wherever this plugin is mounted; anything else goes up.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof LogError) return reply.code(statusOf(error.code)).send({ code: error.code, message: error.message } satisfies ErrorBody);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => `${v.instancePath || '/'} ${v.message}`).join('; ');
      return reply.code(400).send({ code: ErrorCode.validation, message: `Invalid ${error.validationContext ?? 'request'}: ${issues}` } satisfies ErrorBody);
    }
    throw error;
  });
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get('/v1/log/checkpoint', async (_request, reply) => reply.type(NOTE_TYPE).header('cache-control', 'no-store').send((await log.checkpoint()).note));

  routes.get('/v1/log/checkpoint/witnessed', { schema: { querystring: z.object({ k: z.coerce.number().int().min(1).max(100).default(1) }) } }, async (request, reply) => {
    const checkpoint = await log.witnessedCheckpoint(request.query.k);
    if (!checkpoint) throw new LogError('not_found', `no checkpoint has ${request.query.k} witness cosignature(s) yet`);
    return reply.type(NOTE_TYPE).send(checkpoint.note);
  });

  routes.get('/v1/log/proof/inclusion', { schema: { querystring: logInclusionQuery, response: { 200: logInclusionProofResponse } } }, async (request) => {
    const { index, treeSize } = request.query;
    const proof = await log.inclusionProof(index, treeSize);
    return { index, treeSize, proof: proof.map(toBase64Url) };
  });

  routes.get('/v1/log/proof/consistency', { schema: { querystring: logConsistencyQuery, response: { 200: logConsistencyProofResponse } } }, async (request) => {
    const { from, to } = request.query;
    const proof = await log.consistencyProof(from, to);
    return { from, to, proof: proof.map(toBase64Url) };
  });

  routes.get('/v1/log/entries', { schema: { querystring: logEntriesQuery, response: { 200: logEntriesResponse } } }, async (request) => {
    const { start } = request.query;
    const end = Math.min(request.query.end, start + MAX_LOG_ENTRIES_PER_REQUEST);
    const entries = await log.entries(start, end);
    return { start, entries: entries.map(toBase64Url) };
  });

  // C2SP tlog-tiles with prefix /v1/log (its checkpoint is the route above).
  routes.get('/v1/log/tile/entries/*', { schema: { params: bundleParams } }, async (request, reply) => {
    const { index, width } = request.params['*'];
    return reply.type('application/octet-stream').header('cache-control', IMMUTABLE).send(Buffer.from(await log.entryBundle(index, width)));
  });

  routes.get('/v1/log/tile/:level/*', { schema: { params: tileParams } }, async (request, reply) => {
    const { index, width } = request.params['*'];
    return reply.type('application/octet-stream').header('cache-control', IMMUTABLE).send(Buffer.from(await log.tile(request.params.level, index, width)));
  });

  routes.post(
    '/v1/log/cosignatures',
    {
      bodyLimit: 64 * 1024,
      // A witness posts its cosignature as a C2SP signed note: text/plain, not JSON.
      schema: { consumes: ['text/plain'], description: 'A witness cosignature of a checkpoint, as a C2SP signed note (text/plain).', body: logCosignatureRequest, response: { 200: logCosignatureResponse } },
    },
    async (request) => {
      const accepted = await log.addCosignature(request.body);
      const size = Number(request.body.split('\n')[1]);
      return { size, accepted };
    },
  );
}
