/**
 * Notice and action, attacked. Every moderation route in the OpenAPI document is tried with every role
 * that must not pass (403, before the body is even read), with an expired session, a tampered token and
 * a role revoked a moment ago; authorities' signed requests are tampered with, replayed, sent stale or
 * from the future, signed by another authority, addressed to another provider, or sent after the key was
 * revoked. A route missing from the table below fails the test: a new route must say who may call it.
 */
import { signAuthorityRequest } from '@doublelock/cases';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call, TestAccount, type TestDevice } from './harness.ts';

type Role = 'moderator' | 'admin' | 'trusted_flagger' | 'legal';
const ROLES: Role[] = ['moderator', 'admin', 'trusted_flagger', 'legal'];

/** Who may call each role-guarded route. */
const ALLOWED: Record<string, Role[]> = {
  'POST /v1/moderation/flags': ['trusted_flagger'],
  'GET /v1/moderation/cases': ['moderator', 'admin'],
  'GET /v1/moderation/cases/{id}': ['moderator', 'admin'],
  'GET /v1/moderation/cases/{id}/media/{mediaId}': ['moderator', 'admin'],
  'POST /v1/moderation/cases/{id}/claim': ['moderator'],
  'POST /v1/moderation/cases/{id}/release': ['moderator'],
  'POST /v1/moderation/cases/{id}/assign': ['admin'],
  'POST /v1/moderation/cases/{id}/decision': ['moderator'],
  'POST /v1/moderation/cases/{id}/basis': ['moderator'],
  'POST /v1/moderation/cases/{id}/cannot-comply': ['moderator'],
  'GET /v1/moderation/appeals': ['moderator', 'admin'],
  'GET /v1/moderation/appeals/{id}': ['moderator', 'admin'],
  'POST /v1/moderation/appeals/{id}/claim': ['moderator'],
  'POST /v1/moderation/appeals/{id}/decision': ['moderator'],
  'GET /v1/moderation/events': ['moderator', 'admin'],
  'GET /v1/moderation/roles': ['admin'],
  'POST /v1/moderation/roles': ['admin'],
  'POST /v1/moderation/roles/revoke': ['admin'],
  'GET /v1/moderation/authorities': ['admin'],
  'POST /v1/moderation/authorities': ['admin'],
  'POST /v1/moderation/authorities/{authority}/revoke': ['admin'],
  'GET /v1/moderation/targets': ['admin', 'moderator'],
  'PUT /v1/moderation/targets': ['admin'],
  'GET /v1/moderation/incidents': ['admin', 'moderator'],
  'GET /v1/moderation/incidents/{id}': ['admin', 'moderator'],
  'POST /v1/moderation/incidents': ['admin'],
  'POST /v1/moderation/incidents/{id}/signals': ['admin'],
  'POST /v1/moderation/incidents/{id}/close': ['admin'],
  'GET /v1/moderation/statements/export': ['admin'],
  'GET /v1/moderation/reports': ['admin'],
  'GET /v1/moderation/evidence': ['legal'],
  'GET /v1/moderation/evidence/{id}': ['legal'],
  'GET /v1/moderation/banks': ['admin', 'moderator'],
  'POST /v1/moderation/banks': ['admin'],
  'POST /v1/moderation/banks/{name}/import': ['admin'],
  'POST /v1/moderation/rules/test': ['admin', 'moderator'],
};
/** Signed by an authority instead (tested below). */
const SIGNED = new Set(['POST /v1/moderation/removal-orders', 'POST /v1/moderation/removal-orders/status', 'POST /v1/moderation/preservation']);

const HOUR = 3_600_000;
let time = Date.UTC(2025, 6, 1, 9);
let server: RunningServer;
const people: Partial<Record<Role | 'nobody', TestDevice>> = {};
const key = ed25519.utils.randomSecretKey();
const otherKey = ed25519.utils.randomSecretKey();

beforeAll(async () => {
  server = await startTestServer({ casesProvider: 'social.test', sessionTtlMs: HOUR, casesSweepMs: 24 * HOUR }, { now: () => time });
  for (const who of [...ROLES, 'nobody'] as const) people[who] = await (await new TestAccount(server, who.replace('_', '')).register()).login();
  for (const role of ROLES) await server.ctx.cases.roles.grant(people[role]!.account.username, role, 'operator', time, role === 'trusted_flagger' ? 'An NGO' : '');
  for (const [id, k] of [['de-bka', key], ['fr-pharos', otherKey]] as const) {
    await server.ctx.cases.authorities.register({ id, name: id, memberState: id === 'de-bka' ? 'DE' : 'FR', publicKey: ed25519.getPublicKey(k), contact: 'x' }, 'operator', time);
  }
});
afterAll(async () => server?.close());

describe('moderation routes: authorisation by role on every route', () => {
  it('lists every guarded route, and refuses every role that is not allowed before reading the body', async () => {
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/v1/openapi.json');
    const routes = Object.entries(doc.body.paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .filter((r) => r.includes(' /v1/moderation/'));
    expect(routes.filter((r) => !ALLOWED[r] && !SIGNED.has(r))).toEqual([]);
    expect(Object.keys(ALLOWED).filter((r) => !routes.includes(r))).toEqual([]);
    for (const route of Object.keys(ALLOWED)) {
      const [method, path] = route.split(' ') as [string, string];
      const concrete = path.replace(/\{[^}]+\}/g, '1');
      for (const who of [...ROLES, 'nobody'] as const) {
        if (who !== 'nobody' && ALLOWED[route]!.includes(who)) continue;
        // an empty body: a 400 here would mean the body was read before the role was checked
        const r = await people[who]!.call(method, concrete, method === 'GET' ? undefined : {});
        expect({ route, who, status: r.status, code: (r.body as { code?: string })?.code }).toEqual({ route, who, status: 403, code: 'forbidden' });
      }
    }
  });

  it('lets each allowed role through', async () => {
    for (const [route, roles] of Object.entries(ALLOWED)) {
      if (!route.startsWith('GET') || route.includes('{')) continue;
      for (const role of roles) {
        const r = await people[role]!.call('GET', route.split(' ')[1]!.replace('/reports', '/reports?from=2025-07-01&to=2025-07-01'));
        expect({ route, role, status: r.status }).toEqual({ route, role, status: 200 });
      }
    }
  });

  it('refuses a tampered token, and a role revoked a moment ago', async () => {
    const mod = people.moderator!;
    const tampered = mod.token.slice(0, -2) + (mod.token.endsWith('AA') ? 'BB' : 'AA');
    expect(await call(server.url, 'GET', '/v1/moderation/cases', undefined, tampered)).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    const temp = await (await new TestAccount(server, 'tempmod').register()).login();
    await server.ctx.cases.roles.grant('tempmod', 'moderator', 'admin', time);
    expect((await temp.call('GET', '/v1/moderation/cases')).status).toBe(200);
    expect((await people.admin!.call('POST', '/v1/moderation/roles/revoke', { username: 'tempmod', role: 'moderator' })).status).toBe(200);
    expect(await temp.call('GET', '/v1/moderation/cases')).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    // An administrator cannot lock the workflow by revoking their own admin role.
    expect((await people.admin!.call('POST', '/v1/moderation/roles/revoke', { username: people.admin!.account.username, role: 'admin' })).status).toBe(403);
  });

  it('refuses an expired session on every kind of route', async () => {
    const late = await (await new TestAccount(server, 'latemod').register()).login();
    await server.ctx.cases.roles.grant('latemod', 'moderator', 'admin', time);
    time += HOUR + 1;
    for (const [method, path] of [['GET', '/v1/moderation/cases'], ['POST', '/v1/moderation/cases/1/claim'], ['GET', '/v1/statements']] as const) {
      expect(await late.call(method, path)).toMatchObject({ status: 401, body: { code: 'token_expired' } });
    }
    for (const d of Object.values(people)) await d!.login();
  });
});

describe('authorities: signed requests only', () => {
  const order = (reference: string) => ({
    reference,
    memberState: 'DE',
    issuingAuthority: 'BKA',
    content: [{ url: `${server.url}/v1/posts/999` }],
    grounds: ['threat'],
    reasons: 'r',
    feedbackContact: 'c',
    redress: 'r',
  });
  const sign = (body: unknown, options: { as?: string; with?: Uint8Array; at?: number; provider?: string; type?: 'removal_order' | 'order_status' } = {}) =>
    signAuthorityRequest(options.as ?? 'de-bka', options.with ?? key, { type: options.type ?? 'removal_order', provider: options.provider ?? 'social.test', body }, options.at ?? time);
  const submit = (signed: unknown) => call(server.url, 'POST', '/v1/moderation/removal-orders', signed);

  it('accepts a genuine order once; refuses its replay', async () => {
    const signed = sign(order('R-1'));
    expect((await submit(signed)).status).toBe(201);
    expect(await submit(signed)).toMatchObject({ status: 409, body: { code: 'conflict', message: expect.stringMatching(/replay/) } });
  });

  it('refuses tampered, stale, future, misaddressed, misdirected and impersonated requests', async () => {
    const good = sign(order('R-2'));
    const payload = JSON.parse(Buffer.from(good.payload, 'base64url').toString());
    const forged = { ...good, payload: Buffer.from(JSON.stringify({ ...payload, body: { ...payload.body, content: [{ url: `${server.url}/v1/posts/1` }] } })).toString('base64url') };
    const flipped = { ...good, signature: good.signature.slice(0, -2) + (good.signature.endsWith('AA') ? 'BB' : 'AA') };
    const cases: Array<[string, unknown, number, string]> = [
      ['a payload changed after signing', forged, 401, 'bad_signature'],
      ['a tampered signature', flipped, 401, 'bad_signature'],
      ['signed by another registered authority in this one’s name', sign(order('R-3'), { with: otherKey }), 401, 'bad_signature'],
      ['from an authority that is not registered', sign(order('R-4'), { as: 'xx-unknown' }), 401, 'bad_signature'],
      ['issued ten minutes ago', sign(order('R-5'), { at: time - 10 * 60_000 }), 401, 'token_expired'],
      ['issued ten minutes in the future', sign(order('R-6'), { at: time + 10 * 60_000 }), 401, 'token_expired'],
      ['addressed to another provider', sign(order('R-7'), { provider: 'other.example' }), 403, 'forbidden'],
      ['a status query presented as an order', sign({ reference: 'R-1' }, { type: 'order_status' }), 400, 'validation_failed'],
      ['a malformed order, validly signed', sign({ reference: 'R-8' }), 400, 'validation_failed'],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await submit(body);
      expect({ what, status: r.status, code: (r.body as { code: string }).code }).toEqual({ what, status, code });
    }
    // none of them made a case
    const orders = await server.db.all<{ reference: string }>('SELECT reference FROM removal_orders ORDER BY id');
    expect(orders.map((o) => o.reference)).toEqual(['R-1']);
  });

  it('answers an authority about its own orders only, and nothing after its key is revoked', async () => {
    const status = (as: string, k: Uint8Array) => call<{ code?: string }>(server.url, 'POST', '/v1/moderation/removal-orders/status', sign({ reference: 'R-1' }, { as, with: k, type: 'order_status' }));
    expect((await status('de-bka', key)).status).toBe(200);
    expect((await status('fr-pharos', otherKey)).status).toBe(404);
    expect((await people.admin!.call('POST', '/v1/moderation/authorities/de-bka/revoke')).body).toEqual({ revoked: true });
    expect(await status('de-bka', key)).toMatchObject({ status: 401, body: { code: 'bad_signature' } });
    expect((await submit(sign(order('R-9')))).status).toBe(401);
  });
});
