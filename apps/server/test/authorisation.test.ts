/**
 * The authorisation matrix, generated from the route table (the OpenAPI document, /v1/ws included):
 * every route × {anonymous, a made-up token, a revoked device, an expired session, the wrong role,
 * another account's device}. A new route fails this test until it is classified below, so none can
 * forget its checks. Each refusal is mounted with real keys, sessions and requests.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { deviceRevocationBytes, toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { bytes, call, frankedReport, groupOf, messageId, sendFranked, Socket, TestAccount, type TestDevice } from './harness.ts';
import { isPublic } from './routeTable.ts';

type Route = { method: string; path: string };

/**
 * Routes whose target belongs to someone: a device of another account, with a valid session, is refused
 * on each (mounted below on real targets: "another account's device").
 */
const OWNED = new Set([
  'GET /v1/groups/{groupId}',
  'GET /v1/groups/{groupId}/group-info',
  'POST /v1/groups/{groupId}/commits',
  'POST /v1/groups/{groupId}/commits/{seq}/rejections',
  'POST /v1/groups/{groupId}/messages',
  'PUT /v1/groups/{groupId}/blobs/{hash}',
  'GET /v1/groups/{groupId}/blobs/{hash}',
  'POST /v1/mailbox/ack',
  'POST /v1/reports',
  'PATCH /v1/channels/{handle}',
  'POST /v1/channels/{handle}/posts',
  'POST /v1/channels/{handle}/media',
  'PATCH /v1/posts/{id}',
  'DELETE /v1/posts/{id}',
]);

/** Routes that act only on the caller's own data (or create it), or read what every account may read. */
const OWN_OR_SHARED: Record<string, string> = {
  'GET /v1/accounts/{username}': 'the device directory: every account may look up anyone (key transparency)',
  'GET /v1/devices/me': "the caller's own device",
  'GET /v1/devices/me/link': "the caller's own link confirmation",
  'POST /v1/groups/{groupId}/delivery': "delivery state of the caller's own sends only (sent_messages filtered by the caller's device)",
  'POST /v1/keypackages': "the caller's own KeyPackages",
  'GET /v1/keypackages/count': "the caller's own count",
  'POST /v1/keypackages/claim': 'any account may claim (rate limited per claimer and account: reliability.test.ts)',
  'POST /v1/groups': 'creates a group the caller owns (a taken id is refused: group_exists)',
  'GET /v1/mailbox': "the caller's own mailbox",
  'POST /v1/channels': 'creates a channel the caller owns',
  'POST /v1/posts/{id}/replies': 'anyone with an account may reply to a public post',
  'POST /v1/channels/{handle}/follow': "the caller's own follow",
  'DELETE /v1/channels/{handle}/follow': "the caller's own follow",
  'GET /v1/following': "the caller's own follows",
  'GET /v1/feed': "the caller's own feed",
  'GET /v1/me/posts': "the caller's own posts",
  'POST /v1/ads/campaigns': "the caller's own campaign",
  'GET /v1/ads/campaigns': "the caller's own campaigns",
  'GET /v1/ads/notices': "the caller's own ad notices",
  'GET /v1/ads/report': "the caller's own report",
  'GET /v1/statements': "the caller's own statements of reasons",
  'GET /v1/statements/{id}': "another account's statement is refused: casesSecurity.test.ts",
  'POST /v1/statements/{id}/appeal': "another account's statement cannot be appealed: casesSecurity.test.ts",
  'GET /v1/notifications': "the caller's own notifications",
};

/** Routes needing a role (moderator, admin, trusted flagger): an account without one gets 403. */
const needsRole = ({ method, path }: Route) => path.startsWith('/v1/moderation/') && !isPublic(method, path);

const concrete = (path: string) =>
  path
    .replace('{username}', 'alice')
    .replace('{handle}', 'somebody')
    .replace('{id}', '1')
    .replace('{groupId}', 'AAAAAAAAAAAAAAAAAAAAAA')
    .replace('{hash}', '0'.repeat(64))
    .replace(/\{[^}]+\}/g, 'x');

/** The server's clock runs with real time, plus a jump to expire sessions. */
let offset = 0;
const clock = () => Date.now() + offset;
let server: RunningServer;
let routes: Route[];
beforeAll(async () => {
  server = await startTestServer({ sessionTtlMs: 60 * 60 * 1000 }, { now: clock });
  const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/v1/openapi.json');
  routes = Object.entries(doc.body.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })));
});
afterAll(async () => server.close());

const person = async (name: string) => (await new TestAccount(server, name).register()).login();

async function revoke(device: TestDevice): Promise<void> {
  const { account } = device;
  const revokedAt = clock();
  const accountSignature = toBase64Url(ed25519.sign(deviceRevocationBytes({ username: account.username, deviceId: device.deviceId, revokedAt }), account.identitySecret));
  expect((await call(server.url, 'POST', `/v1/accounts/${account.username}/devices/${device.deviceId}/revoke`, { revokedAt, accountSignature })).status).toBe(200);
}

/** A socket whose auth frame carries this token: refused with an error frame and close code 4001. */
async function socketRefused(token: string | undefined): Promise<{ code: number | undefined; error: string | undefined }> {
  const socket = await Socket.open(server.url);
  if (token !== undefined) socket.ws.send(JSON.stringify({ type: 'auth', token }));
  else socket.ws.send(JSON.stringify({ type: 'ack', ids: [1] })); // anything but auth first
  await socket.until(() => socket.closeCode !== undefined).catch(() => undefined);
  const error = socket.frames.find((f) => f.type === 'error');
  return { code: socket.closeCode, error: error?.type === 'error' ? error.code : undefined };
}

describe('authorisation matrix over the route table', () => {
  it('has every guarded route classified: owned (attacked below), own-or-shared, or role-guarded', () => {
    const guarded = routes.filter((r) => !isPublic(r.method, r.path));
    expect(guarded.length).toBeGreaterThan(40);
    const unclassified = guarded.map((r) => `${r.method} ${r.path}`).filter((k) => !OWNED.has(k) && !(k in OWN_OR_SHARED) && !needsRole({ method: k.split(' ')[0]!, path: k.split(' ')[1]! }));
    expect(unclassified).toEqual([]);
    // and nothing classified that no longer exists
    const existing = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect([...OWNED, ...Object.keys(OWN_OR_SHARED)].filter((k) => !existing.has(k))).toEqual([]);
  });

  it('refuses every guarded route, and the WebSocket, to anonymous callers, made-up tokens, revoked devices and expired sessions', async () => {
    const account = new TestAccount(server, 'revokee');
    await (await account.register()).login();
    const revoked = await (await account.addDevice()).login();
    await revoke(revoked);
    const expiring = await person('expiring');
    const principals: Array<[string, string | undefined, string]> = [
      ['anonymous', undefined, 'unauthenticated'],
      ['made-up token', toBase64Url(randomBytes(32)), 'unauthenticated'],
      ['revoked device', revoked.token, 'unauthenticated'],
    ];
    const check = async (who: string, token: string | undefined, code: string) => {
      for (const { method, path } of routes) {
        if (isPublic(method, path)) continue;
        const r = await call(server.url, method, concrete(path), method === 'GET' || method === 'DELETE' ? undefined : {}, token);
        expect({ who, route: `${method} ${path}`, status: r.status, code: (r.body as { code?: string } | undefined)?.code }).toEqual({ who, route: `${method} ${path}`, status: 401, code });
      }
      expect({ who, ...(await socketRefused(token)) }).toEqual({ who, code: 4001, error: token === undefined ? 'unauthenticated' : code });
    };
    for (const [who, token, code] of principals) await check(who, token, code);
    // The session expires: the same token is now refused everywhere with token_expired.
    offset = 2 * 60 * 60 * 1000;
    await check('expired session', expiring.token, 'token_expired');
    offset = 0;
  });

  it('refuses every role-guarded route to an account without the role (403 forbidden, before the body is read)', async () => {
    const plain = await person('no-role');
    const roleRoutes = routes.filter(needsRole);
    expect(roleRoutes.length).toBeGreaterThan(20);
    for (const { method, path } of roleRoutes) {
      const r = await plain.call(method, concrete(path), method === 'GET' ? undefined : {});
      expect({ route: `${method} ${path}`, status: r.status, code: (r.body as { code?: string }).code }).toEqual({ route: `${method} ${path}`, status: 403, code: 'forbidden' });
    }
  });
});

/** What another account's device tries on a target it does not own: the request, and the refusal expected. */
type Attack = { request: () => Promise<{ status: number; code: string | undefined }>; status: number; code: string };

describe("authorisation matrix: another account's device", () => {
  it('refuses every owned route to a valid session of a device of another account, and leaves the target untouched', async () => {
    const alice = await person('owner-alice');
    const bob = await person('owner-bob');
    const mallory = await person('mallory');
    const groupId = await groupOf([alice, bob]);
    const sent = await sendFranked(alice, groupId, 'for bob only');
    const bobMail = await bob.mailbox();
    const item = bobMail.find((m) => m.clientMessageId === sent.clientMessageId)!;
    const blob = randomBytes(500);
    const blobHash = bytesToHex(sha256(blob));
    const put = (d: TestDevice, group: string, data: Uint8Array) =>
      fetch(`${server.url}/v1/groups/${group}/blobs/${blobHash}`, { method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream' }, body: data as unknown as BodyInit });
    expect((await put(alice, groupId, blob)).status).toBe(201);
    const handle = 'alices-channel';
    expect((await alice.call('POST', '/v1/channels', { handle, name: 'Alice', description: 'hers' })).status).toBe(201);
    const post = await alice.call<{ id: number }>('POST', `/v1/channels/${handle}/posts`, { text: 'an ordinary morning post' });
    expect(post.status).toBe(201);

    const json = async (r: Promise<{ status: number; body: unknown }>) => {
      const { status, body } = await r;
      return { status, code: (body as { code?: string } | undefined)?.code };
    };
    const raw = async (r: Promise<globalThis.Response>) => {
      const response = await r;
      return { status: response.status, code: ((await response.json()) as { code?: string }).code };
    };
    const as = (method: string, path: string, body?: unknown) => json(mallory.call(method, path, body));
    const attacks: Record<string, Attack> = {
      'GET /v1/groups/{groupId}': { request: () => as('GET', `/v1/groups/${groupId}`), status: 403, code: 'not_member' },
      'GET /v1/groups/{groupId}/group-info': { request: () => as('GET', `/v1/groups/${groupId}/group-info`), status: 403, code: 'not_member' },
      'POST /v1/groups/{groupId}/commits': {
        // a commit that would add the attacker to the victims' group
        request: () => as('POST', `/v1/groups/${groupId}/commits`, { clientMessageId: messageId(), epoch: 1, commit: bytes(40), adds: [mallory.deviceId], welcome: bytes(40) }),
        status: 403,
        code: 'not_member',
      },
      // a stranger's report that the victims' first commit is invalid (towards voiding it)
      'POST /v1/groups/{groupId}/commits/{seq}/rejections': {
        request: () => as('POST', `/v1/groups/${groupId}/commits/1/rejections`, { reason: 'mallory says so', signature: bytes(64) }),
        status: 403,
        code: 'not_member',
      },
      'POST /v1/groups/{groupId}/messages': { request: () => as('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: messageId(), epoch: 1, ciphertext: bytes(40) }), status: 403, code: 'not_member' },
      'PUT /v1/groups/{groupId}/blobs/{hash}': { request: () => raw(put(mallory, groupId, blob)), status: 403, code: 'not_member' },
      'GET /v1/groups/{groupId}/blobs/{hash}': {
        request: () => raw(fetch(`${server.url}/v1/groups/${groupId}/blobs/${blobHash}`, { headers: { authorization: `Bearer ${mallory.token}` } })),
        status: 403,
        code: 'not_member',
      },
      // the victim's mailbox ids: nothing of another device's mail is deleted (checked below), the answer says 0
      'POST /v1/mailbox/ack': {
        request: async () => {
          const r = await mallory.call<{ deleted: number }>('POST', '/v1/mailbox/ack', { ids: bobMail.map((m) => m.id) });
          return { status: r.status, code: `deleted ${r.body.deleted}` };
        },
        status: 200,
        code: 'deleted 0',
      },
      // a report of a message in a group the attacker never belonged to, with the genuine franking opening
      'POST /v1/reports': { request: () => as('POST', '/v1/reports', frankedReport(groupId, item, sent.payload, sent.frankingKey)), status: 403, code: 'not_member' },
      'PATCH /v1/channels/{handle}': { request: () => as('PATCH', `/v1/channels/${handle}`, { name: 'Mallory was here' }), status: 403, code: 'forbidden' },
      'POST /v1/channels/{handle}/posts': { request: () => as('POST', `/v1/channels/${handle}/posts`, { text: 'posted in her name' }), status: 403, code: 'forbidden' },
      'POST /v1/channels/{handle}/media': {
        request: () => raw(fetch(`${server.url}/v1/channels/${handle}/media`, { method: 'POST', headers: { authorization: `Bearer ${mallory.token}`, 'content-type': 'image/jpeg' }, body: randomBytes(2000) as unknown as BodyInit })),
        status: 403,
        code: 'forbidden',
      },
      'PATCH /v1/posts/{id}': { request: () => as('PATCH', `/v1/posts/${post.body.id}`, { text: 'edited by mallory' }), status: 403, code: 'forbidden' },
      'DELETE /v1/posts/{id}': { request: () => as('DELETE', `/v1/posts/${post.body.id}`), status: 403, code: 'forbidden' },
    };
    // every owned route has its attack, so a new owned route cannot go unchecked
    expect(Object.keys(attacks).sort()).toEqual([...OWNED].sort());
    for (const [route, attack] of Object.entries(attacks)) {
      expect({ route, ...(await attack.request()) }).toEqual({ route, status: attack.status, code: attack.code });
    }

    // Nothing changed: the group, bob's mail, the channel and the post are as they were.
    const group = await alice.call<{ epoch: number; members: string[] }>('GET', `/v1/groups/${groupId}`);
    expect(group.body.epoch).toBe(1);
    expect(group.body.members).not.toContain(mallory.deviceId);
    expect((await bob.mailbox()).map((m) => m.id)).toEqual(bobMail.map((m) => m.id));
    expect((await call<{ name: string }>(server.url, 'GET', `/v1/channels/${handle}`)).body.name).toBe('Alice');
    expect((await call<{ text: string }>(server.url, 'GET', `/v1/posts/${post.body.id}`)).body.text).toBe('an ordinary morning post');
    const posts = await call<{ items: Array<{ type: string; post?: { text: string } }> }>(server.url, 'GET', `/v1/channels/${handle}/posts`);
    expect(posts.body.items.filter((i) => i.type === 'post').map((i) => i.post!.text)).toEqual(['an ordinary morning post']);

    // The own-data routes answer the attacker about the attacker only.
    expect(await mallory.mailbox()).toEqual([]);
    const delivery = await mallory.call<{ delivery: unknown[] }>('POST', `/v1/groups/${groupId}/delivery`, { seqs: [sent.seq] });
    expect(delivery).toEqual({ status: 200, body: { delivery: [] } });
    expect((await alice.call<{ delivery: unknown[] }>('POST', `/v1/groups/${groupId}/delivery`, { seqs: [sent.seq] })).body.delivery).toEqual([{ seq: sent.seq, pending: 1 }]);
    expect((await alice.call('POST', '/v1/keypackages', { keyPackages: [bytes(100), bytes(100)] })).status).toBe(200);
    expect((await mallory.call('GET', '/v1/keypackages/count')).body).toEqual({ oneTime: 0, lastResort: false });
    expect((await alice.call('GET', '/v1/keypackages/count')).body).toEqual({ oneTime: 2, lastResort: false });

    // The WebSocket of another account's device gets nothing of the victims' group.
    const socket = await Socket.open(server.url, mallory.token);
    const bobSocket = await Socket.open(server.url, bob.token);
    const later = await sendFranked(alice, groupId, 'still for bob only');
    await bobSocket.until(() => bobSocket.items.some((i) => i.clientMessageId === later.clientMessageId));
    expect(socket.items).toEqual([]);
    socket.ws.send(JSON.stringify({ type: 'ack', ids: bobSocket.items.map((i) => i.id) }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await bob.mailbox()).map((m) => m.clientMessageId)).toContain(later.clientMessageId);
    socket.close();
    bobSocket.close();
  });
});
