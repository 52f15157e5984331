/** Import and export: ThreatExchange / HMA CSV and JSON, Tech Against Terrorism's hash-list fields. */
import { parseImport, writeExport, type Hub } from '@doublelock/hub';
import { DomainError, ErrorCode, hubExportQuery, hubImportQuery } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { caller } from '../auth.ts';

/** Most rows in one import (one transaction, one log append). */
export const MAX_IMPORT_ROWS = 100_000;

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', json: 'application/json; charset=utf-8', tat: 'application/json; charset=utf-8' } as const;

export function exchangeRoutes(hub: Hub) {
  return async (app: FastifyInstance) => {
    app.addContentTypeParser(['text/csv', 'application/x-ndjson'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
    const routes = app.withTypeProvider<ZodTypeProvider>();
    routes.post('/v1/import', { config: { scope: 'submit' }, schema: { querystring: hubImportQuery, body: z.union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())]) } }, async (request) => {
      const { format, bank } = request.query;
      const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      let parsed;
      try {
        parsed = await parseImport(text, format, bank);
      } catch (error) {
        throw new DomainError(ErrorCode.validation, `cannot read the ${format} file: ${(error as Error).message}`);
      }
      if (parsed.errors.length) {
        const first = parsed.errors.slice(0, 20).map((e) => `line ${e.line}: ${e.error}`);
        throw new DomainError(ErrorCode.validation, `${parsed.errors.length} row(s) cannot be imported: ${first.join('; ')}`, { errors: parsed.errors.slice(0, 100) });
      }
      const rows = parsed.submit.length + parsed.withdraw.length;
      if (rows === 0) throw new DomainError(ErrorCode.validation, 'the file holds no signals');
      if (rows > MAX_IMPORT_ROWS) throw new DomainError(ErrorCode.payloadTooLarge, `${rows} rows: at most ${MAX_IMPORT_ROWS} per import; split the file`);
      const c = caller(request);
      const submitted = parsed.submit.length ? await hub.submit(c, parsed.submit) : undefined;
      const withdrawn = parsed.withdraw.length ? await hub.withdraw(c, parsed.withdraw) : undefined;
      const count = (r: typeof submitted, s: string) => r?.results.filter((x) => x.status === s).length ?? 0;
      return { added: count(submitted, 'added'), updated: count(submitted, 'updated'), endorsed: count(submitted, 'recorded'), unchanged: count(submitted, 'unchanged'), withdrawn: count(withdrawn, 'withdrawn'), size: hub.log.size };
    });
    routes.get('/v1/export', { schema: { querystring: hubExportQuery } }, async (request, reply) => {
      const { format, bank, withdrawn } = request.query;
      const stream = Readable.from(writeExport(hub.signals({ bank, withdrawn }), format, bank ?? 'hub'));
      return reply.type(CONTENT_TYPES[format]).send(stream);
    });
  };
}
