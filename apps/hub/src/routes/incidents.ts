/** The crisis protocol: the operator (an admin key) declares and closes incidents; members read them. */
import type { Hub } from '@doublelock/hub';
import { hubIncidentRequest } from '@doublelock/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { caller } from '../auth.ts';

export function incidentRoutes(hub: Hub) {
  return async (app: FastifyInstance) => {
    const routes = app.withTypeProvider<ZodTypeProvider>();
    routes.get('/v1/incidents', async () => ({ incidents: await hub.incidents() }));
    routes.post('/v1/incidents', { config: { scope: 'admin' }, schema: { body: hubIncidentRequest } }, async (request, reply) => {
      const result = await hub.declareIncident(caller(request).member, request.body.name, request.body.label);
      return reply.code(201).send(result);
    });
    routes.post('/v1/incidents/:id/close', { config: { scope: 'admin' }, schema: { params: z.object({ id: z.coerce.number().int().positive() }) } }, async (request) => hub.closeIncident(caller(request).member, request.params.id));
  };
}
