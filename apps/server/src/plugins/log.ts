/**
 * Transparency log endpoints: the latest signed checkpoint (a C2SP signed note, text/plain, with the
 * witness cosignatures collected for it), inclusion and consistency proofs (RFC 9162), entries in
 * bounded pages, and witnesses posting cosignatures (accepted only from the log's configured witnesses).
 */
import { LogError, type TransparencyLog } from '@doublelock/log';
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
import { statusOf } from '../errors.ts';

const NOTE_TYPE = 'text/plain; charset=utf-8';

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

  routes.get('/v1/log/checkpoint', async (_request, reply) => reply.type(NOTE_TYPE).send((await log.checkpoint()).note));

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

  routes.post(
    '/v1/log/cosignatures',
    { bodyLimit: 64 * 1024, schema: { body: logCosignatureRequest, response: { 200: logCosignatureResponse } } },
    async (request) => {
      const accepted = await log.addCosignature(request.body);
      const size = Number(request.body.split('\n')[1]);
      return { size, accepted };
    },
  );
}
