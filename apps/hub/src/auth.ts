/**
 * Every hub request is authenticated: a member's API key as a bearer token, checked in onRequest
 * (before a body is read), then the route's scope (`config.scope`, default `read`).
 */
import type { Caller, Hub } from '@doublelock/hub';
import { DomainError, ErrorCode, type HubScope } from '@doublelock/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    scope?: HubScope;
  }
}

export function installAuth(app: FastifyInstance, hub: Hub): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const key = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!key) throw new DomainError(ErrorCode.unauthenticated, 'Every hub request needs a member API key: Authorization: Bearer <key>.');
    const caller = await hub.members.authenticate(key);
    if (!caller) throw new DomainError(ErrorCode.unauthenticated, 'Unknown or revoked API key.');
    request.caller = caller;
    const scope = request.routeOptions.config?.scope ?? 'read';
    if (!caller.scopes.includes(scope) && !caller.scopes.includes('admin')) throw new DomainError(ErrorCode.forbidden, `This key lacks the "${scope}" scope.`);
  });
}

export function caller(request: FastifyRequest): Caller {
  if (!request.caller) throw new DomainError(ErrorCode.unauthenticated, 'not authenticated');
  return request.caller;
}
