/**
 * Every endpoint is either deliberately public or refuses a request without a valid session — checked
 * over the whole API as the OpenAPI document lists it, so a new route cannot forget authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call } from './harness.ts';

/** Public on purpose, and why: each authenticates its caller some other way, or is meant for everyone. */
const PUBLIC = new Set([
  'GET /healthz', // liveness
  'GET /metrics', // operators' scraper (bind the server to a private address in production)
  'GET /v1/openapi.json', // the API description
  'GET /v1/ws', // the WebSocket authenticates with its first frame (authorisation.test.ts mounts each refusal)
  'POST /v1/accounts', // registration: proven by the account key's signature on the device certificate
  'POST /v1/accounts/{username}/devices', // proven by the account key's signature
  'POST /v1/accounts/{username}/devices/{deviceId}/revoke', // proven by the account key's signature
  'POST /v1/auth/challenge', // the way to authenticate
  'POST /v1/auth/session', // proven by the device key's signature on a one-time challenge
  'GET /v1/lawful-access', // the public trust configuration
  'POST /v1/lawful-access/warrants', // signed by an agency key from the trust configuration
  'POST /v1/lawful-access/intercepts', // signed by an agency key
  'POST /v1/lawful-access/cancellations', // signed by a Secretary of State key
  'POST /v1/lawful-access/decisions', // signed by a Judicial Commissioner key
  'POST /v1/lawful-access/releases', // signed by a custodian key
  // public channels are readable without an account (a session, when offered, must be valid: below)
  'GET /v1/channels',
  'GET /v1/channels/{handle}',
  'GET /v1/channels/{handle}/posts',
  'GET /v1/posts/{id}',
  'GET /v1/posts/{id}/replies',
  'GET /v1/hashtags/{tag}',
  'GET /v1/media/{id}',
  // notice and action (cases.test.ts, casesSecurity.test.ts check each of these)
  'POST /v1/notices', // DSA Art. 16: anyone may notify (rate-limited); a session, when offered, must be valid
  'POST /v1/notices/status', // proven by the notice's receipt token
  'POST /v1/notices/complaint', // proven by the notice's receipt token
  'POST /v1/moderation/removal-orders', // signed by a registered authority's key, fresh, used once
  'POST /v1/moderation/removal-orders/status', // signed by the order's authority
  'POST /v1/moderation/preservation', // signed by the order's authority
]);
const isPublic = (method: string, path: string) => PUBLIC.has(`${method} ${path}`) || path.startsWith('/v1/log/'); // the transparency log is public by design

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
