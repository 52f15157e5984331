/**
 * Every endpoint is either deliberately public or refuses a request without a valid session — checked
 * over the whole API as the OpenAPI document lists it, so a new route cannot forget authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call } from './harness.ts';
import { isPublic, PUBLIC } from './routeTable.ts';


let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => server.close());

describe('authentication on every endpoint', () => {
  it('refuses every non-public route without a session, and with a made-up one', async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/v1/openapi.json');
    const routes = Object.entries(doc.body.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })));
    const guarded = routes.filter((r) => !isPublic(r.method, r.path));
    expect(guarded.length).toBeGreaterThan(12);
    for (const { method, path } of guarded) {
      const concrete = path.replace('{username}', 'alice').replace('{handle}', 'somebody').replace('{id}', '1').replace('{groupId}', 'AAAAAAAAAAAAAAAAAAAAAA').replace('{hash}', '0'.repeat(64)).replace(/\{[^}]+\}/g, 'x');
      const body = method === 'GET' ? undefined : {};
      for (const token of [undefined, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
        const r = await call(server.url, method, concrete, body, token);
        expect({ route: `${method} ${path}`, status: r.status, code: r.body?.code }).toEqual({ route: `${method} ${path}`, status: 401, code: 'unauthenticated' });
      }
    }
  });

  it('refuses a made-up, expired or revoked session on the public routes too, instead of reading as anonymous', async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/v1/openapi.json');
    const publicChannelRoutes = Object.keys(doc.body.paths).filter((p) => /^\/v1\/(channels|posts|hashtags|media)/.test(p) && doc.body.paths[p]!.get && PUBLIC.has(`GET ${p}`));
    expect(publicChannelRoutes.length).toBe(7);
    for (const path of publicChannelRoutes) {
      const concrete = path.replace('{handle}', 'somebody').replace('{tag}', 'news').replace(/\{[^}]+\}/g, '1');
      const r = await call(server.url, 'GET', concrete, undefined, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      expect({ path, status: r.status }).toEqual({ path, status: 401 });
    }
  });
});
