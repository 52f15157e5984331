/**
 * Input no store can hold is refused before any route sees it: a string with U+0000 (PostgreSQL text
 * refuses it, so it used to be a 500 there and stored on SQLite) or a lone surrogate (not UTF-8), in any
 * body, query or path parameter. Both stores answer alike: 400 validation_failed.
 */
import { ErrorCode, findUnstorableText } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import { fail } from './errors.ts';

export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [where, value] of [['body', request.body], ['querystring', request.query], ['params', request.params]] as const) {
      const found = findUnstorableText(value);
      if (found) fail(ErrorCode.validation, `Invalid ${where}: ${found.path} ${found.reason}.`, [{ path: found.path, message: found.reason }]);
    }
  });
}
