/** Signals: submit, withdraw, relabel, look up; opinions and feedback. Provenance is always the key's member. */
import type { Hub } from '@doublelock/hub';
import { hubLabelsRequest, hubOpinionRequest, hubSignalRef, hubSubmitRequest, hubWithdrawRequest, hubWriteResponse, DomainError, ErrorCode } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { caller } from '../auth.ts';

export function signalRoutes(hub: Hub) {
  return async (app: FastifyInstance) => {
    const routes = app.withTypeProvider<ZodTypeProvider>();
    routes.post('/v1/signals', { config: { scope: 'submit' }, schema: { body: hubSubmitRequest, response: { 200: hubWriteResponse } } }, async (request) => hub.submit(caller(request), request.body.signals));
    routes.post('/v1/signals/withdraw', { config: { scope: 'submit' }, schema: { body: hubWithdrawRequest, response: { 200: hubWriteResponse } } }, async (request) => hub.withdraw(caller(request), request.body.signals));
    routes.post('/v1/signals/labels', { config: { scope: 'submit' }, schema: { body: hubLabelsRequest, response: { 200: hubWriteResponse } } }, async (request) => {
      const { labels, ...ref } = request.body;
      return hub.relabel(caller(request), ref, labels);
    });
    routes.get('/v1/signals', { schema: { querystring: hubSignalRef } }, async (request) => {
      const s = await hub.signal(request.query);
      if (!s) throw new DomainError(ErrorCode.notFound, `bank "${request.query.bank}" has no such ${request.query.type} signal`);
      return s;
    });
    routes.post('/v1/opinions', { schema: { body: hubOpinionRequest, response: { 200: hubWriteResponse } } }, async (request) => {
      const { opinion, feedback, ...ref } = request.body;
      return hub.opine(caller(request), ref, { opinion, feedback });
    });
  };
}
