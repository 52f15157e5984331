/** Every failure leaves as `{ code, message }` with a 4xx/5xx status; nothing else escapes. */
import { DomainError, ErrorCode, type ErrorBody } from '@doublelock/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unauthenticated: 401,
  token_expired: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  bad_signature: 401,
  challenge_invalid: 401,
  device_revoked: 403,
  stale_epoch: 409,
  not_member: 403,
  group_exists: 409,
  hash_mismatch: 422,
  no_key_package: 404,
  rate_limited: 429,
  conflict: 409,
  commit_rejected: 422,
  not_admin: 403,
  report_rejected: 422,
  content_blocked: 422,
  unsupported_media: 415,
  too_many_pixels: 422,
  corrupt_media: 422,
  quota_exceeded: 429,
  handle_taken: 409,
  range_not_satisfiable: 416,
  storage_full: 507,
  unavailable: 503,
  upgrade_required: 426,
  headers_too_large: 431,
  internal_error: 500,
};

export const fail = (code: ErrorCode, message: string, details?: unknown): never => {
  throw new DomainError(code, message, details);
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 400;
}

/** PostgreSQL SQLSTATEs (class 08: connection exception; 57P0x: the server is shutting down or starting). */
const PG_UNAVAILABLE = /^(08|57P0[1-4]|53300)/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * A store failure the client can do nothing about but wait: a full disk (507) or a store that is down or
 * busy (503). Everything else stays an internal error.
 */
export function storeFailure(error: unknown): ErrorBody & { code: ErrorCode } | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || /No space left on device|database or disk is full/i.test(message)) {
    return { code: ErrorCode.storageFull, message: 'The server is out of storage: this write was refused; acknowledgements still work. Retry later.' };
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_IOERR' || (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code))) || /Connection terminated|connection timeout|timeout exceeded when trying to connect|is not queryable|Client was closed/i.test(message)) {
    return { code: ErrorCode.unavailable, message: 'The store is unavailable right now: retry later.' };
  }
  return undefined;
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large, a malformed or
 * truncated request): answered as `{ code, message }` like everything else, then the connection closes.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body]: [number, ErrorBody] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, { code: ErrorCode.headersTooLarge, message: 'The request headers are too large.' }]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, { code: ErrorCode.badRequest, message: 'The request took too long to arrive.' }]
        : [400, { code: ErrorCode.badRequest, message: 'The request is malformed.' }];
  const json = JSON.stringify(body);
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${json}`);
  socket.destroy(error);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: ErrorCode.notFound, message: `No route ${request.method} ${request.url.split('?')[0]}.` } satisfies ErrorBody);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const send = (status: number, body: ErrorBody) => reply.code(status).send(body);
    if (error instanceof DomainError) return send(statusOf(error.code), { code: error.code, message: error.message, ...(error.details !== undefined && { details: error.details }) });
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({ path: v.instancePath || '/', message: v.message }));
      const where = error.validationContext ?? 'request';
      return send(400, { code: ErrorCode.validation, message: `Invalid ${where}: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, details: issues });
    }
    switch (error.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(400, { code: ErrorCode.invalidJson, message: 'The request body is not valid JSON.' });
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(413, { code: ErrorCode.payloadTooLarge, message: 'The request body is too large.' });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, { code: ErrorCode.badRequest, message: 'Unsupported content type.' });
    }
    if (error.statusCode === 429) return send(429, { code: ErrorCode.rateLimited, message: 'Too many requests: slow down and retry later.' });
    if (error instanceof SyntaxError || (error.statusCode && error.statusCode >= 400 && error.statusCode < 500)) {
      return send(error.statusCode ?? 400, { code: ErrorCode.badRequest, message: error.message });
    }
    const store = storeFailure(error);
    if (store) {
      request.log.warn({ err: error }, store.message);
      if (store.code === ErrorCode.unavailable) void reply.header('retry-after', '5');
      return send(statusOf(store.code), store);
    }
    request.log.error({ err: error }, 'unhandled error');
    return send(500, { code: ErrorCode.internal, message: 'Internal error.' });
  });
}
