/**
 * A fuzzer (fast-check) over every HTTP route of the OpenAPI document and over the WebSocket's frames, on
 * SQLite and PostgreSQL. Random requests (any route, any path parameter, query, content type and body) and
 * mutated valid ones (a field deleted, replaced by any JSON, a hostile string or number, an extra field)
 * must never get a 5xx or a non-{ code, message } error; a refused send must leave nothing behind; the
 * WebSocket never answers "internal"; and the server is healthy at the end.
 *
 * Bounded for `npm test` (FUZZ_RUNS runs per property, default 80); a longer run:
 *   FUZZ_RUNS=5000 npx vitest run apps/server/test/fuzz.test.ts
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { toBase64Url } from '@doublelock/protocol';
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { bytes, call, groupOf, messageId, Socket, TestAccount, type TestDevice } from './harness.ts';
import { serverCases } from './harness.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 80);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const params = { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }), endOnFailure: true };

type Route = { method: string; path: string };

/** Strings a store or a parser may choke on. */
const hostileString = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', 'a\u0000b', '\ud800', '\udfff', '\uffff', '%00', '../../etc/passwd', 'null', 'NaN', '-1', '1e309', "'; DROP TABLE mailbox; --", '\u202e', '𝕏'.repeat(200)),
  fc.constantFrom('AAAAAAAAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAAAA==', 'A', '_-_-', '+/+/'), // base64url: non-canonical, padded, short, wrong alphabet
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer({ min: 1, max: 70_000 }).map((n) => 'A'.repeat(n)),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, 1.5, -0, 2 ** 31, 2 ** 53, 2 ** 63, Number.MAX_VALUE, 1e-300),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const anyValue = fc.oneof(hostileString, hostileNumber, fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(null, true, [], {}));

/** A path parameter: a real one (so the request reaches the handler), or anything. */
const pathValue = (real: string[]) => fc.oneof(fc.constantFrom(...real), hostileString.map((s) => safeEncode(s)), fc.constantFrom('%FF', '%00', '%2e%2e', '..', '%'));
const safeEncode = (s: string) => {
  try {
    return encodeURIComponent(s.slice(0, 300)) || 'x';
  } catch {
    return 'x'; // a lone surrogate cannot be percent-encoded
  }
};

const contentType = fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/octet-stream', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', undefined);
const rawBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '{"a":', '[]', 'null', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}', '\u0000', '{"a":1,"a":2}'),
  fc.dictionary(fc.string({ maxLength: 12 }), anyValue, { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.constant(undefined),
);

/** Errors must be { code, message } with a 4xx (401/403/404/409/413/415/422/429…), never a 5xx. */
function checkAnswer(route: string, status: number, text: string): void {
  if (status >= 500) throw new Error(`${route} answered ${status}: ${text.slice(0, 300)}`);
  if (status >= 400) {
    let body: { code?: unknown; message?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`${route} answered ${status} without JSON: ${text.slice(0, 200)}`);
    }
    if (typeof body.code !== 'string' || typeof body.message !== 'string') throw new Error(`${route} answered ${status} without { code, message }: ${text.slice(0, 200)}`);
  }
}

/** Applies one mutation to a valid body: a field deleted, replaced, an extra one, or the whole body replaced. */
type Mutation = { kind: 'delete' | 'replace' | 'extra' | 'whole' | 'nested'; pick: number; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'replace', 'extra', 'whole', 'nested'),
  pick: fc.nat(),
  value: anyValue,
});
function mutate(body: Record<string, unknown>, m: Mutation): unknown {
  const keys = Object.keys(body);
  const key = keys[m.pick % Math.max(1, keys.length)];
  switch (m.kind) {
    case 'delete':
      if (key !== undefined) delete body[key];
      return body;
    case 'replace':
      if (key !== undefined) body[key] = m.value;
      return body;
    case 'extra':
      body[`x${m.pick % 5}`] = m.value;
      return body;
    case 'whole':
      return m.value;
    case 'nested': {
      // inside an array or object field, when there is one
      const inner = keys.map((k) => body[k]).find((v) => typeof v === 'object' && v !== null);
      if (Array.isArray(inner)) inner[m.pick % Math.max(1, inner.length)] = m.value;
      else if (inner) (inner as Record<string, unknown>)[Object.keys(inner)[0] ?? 'x'] = m.value;
      return body;
    }
  }
}

describe.each(serverCases())('fuzzing on $name', ({ name, start }) => {
  let server: RunningServer;
  let routes: Route[];
  let alice: TestDevice;
  let bob: TestDevice;
  let groupId: string;
  let postId: number;
  let epoch = 1;
  /** clientMessageIds of sends and commits that were refused, and of those accepted (a refused resend of an accepted one is fine). */
  const refused = new Set<string>();
  const accepted = new Set<string>();

  beforeAll(async () => {
    server = await start();
    const doc = await call<{ paths: Record<string, Record<string, unknown>> }>(server.url, 'GET', '/v1/openapi.json');
    routes = Object.entries(doc.body.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })));
    alice = await (await new TestAccount(server, 'alice').register()).login();
    bob = await (await new TestAccount(server, 'bob').register()).login();
    groupId = await groupOf([alice, bob]);
    expect((await alice.call('POST', '/v1/channels', { handle: 'alices', name: 'Alice' })).status).toBe(201);
    postId = (await alice.call<{ id: number }>('POST', '/v1/channels/alices/posts', { text: 'hello' })).body.id;
  });
  afterAll(async () => server.close());

  const request = async (method: string, path: string, body: string | undefined, type: string | undefined, token: string | undefined) => {
    const headers: Record<string, string> = {};
    if (type) headers['content-type'] = type;
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(server.url + path, { method, headers, ...(body !== undefined && method !== 'GET' && method !== 'HEAD' && { body }) });
    return { status: response.status, text: await response.text() };
  };

  it('answers random requests on every route with a 2xx or a 4xx { code, message }, never a 5xx', async () => {
    const real = () => ({
      username: ['alice', 'bob', 'nobody'],
      groupId: [groupId, 'AAAAAAAAAAAAAAAAAAAAAA'],
      handle: ['alices', 'nobody'],
      id: [String(postId), '1', '0', '-1', '99999999999999999999'],
      hash: ['0'.repeat(64)],
      deviceId: [alice.deviceId, bob.deviceId],
    });
    const fill = (path: string, values: Record<string, string>) => path.replace(/\{([^}]+)\}/g, (_m, p: string) => values[p] ?? 'x');
    const requestArb = fc.record({
      route: fc.constantFrom(...routes),
      values: fc.record(Object.fromEntries(Object.entries(real()).map(([k, v]) => [k, pathValue(v)]))),
      query: fc.option(fc.dictionary(fc.constantFrom('limit', 'before', 'after', 'cursor', 'q', 'since', 'status', 'x'), hostileString.map(safeEncode), { maxKeys: 3 }), { nil: undefined }),
      body: rawBody,
      type: contentType,
      authed: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ route, values, query, body, type, authed }) => {
        const q = query ? '?' + Object.entries(query).map(([k, v]) => `${k}=${v}`).join('&') : '';
        const path = fill(route.path, values as Record<string, string>) + q;
        const r = await request(route.method, path, body, type, authed ? alice.token : undefined);
        checkAnswer(`${route.method} ${path}`, r.status, r.text);
      }),
      { ...params, numRuns: RUNS * 4 },
    );
  });

  it('answers mutated valid requests without a 5xx', async () => {
    const templates: Array<{ route: string; method: string; path: () => string; body: () => Record<string, unknown>; token?: () => string | undefined }> = [
      { route: 'send', method: 'POST', path: () => `/v1/groups/${groupId}/messages`, body: () => ({ clientMessageId: messageId(), epoch, ciphertext: bytes(64) }) },
      {
        route: 'send franked',
        method: 'POST',
        path: () => `/v1/groups/${groupId}/messages`,
        body: () => ({ clientMessageId: messageId(), epoch, ciphertext: bytes(64), frankingCommitment: toBase64Url(hmac(sha256, randomBytes(32), randomBytes(10))) }),
      },
      { route: 'commit', method: 'POST', path: () => `/v1/groups/${groupId}/commits`, body: () => ({ clientMessageId: messageId(), epoch, commit: bytes(40) }) },
      { route: 'ack', method: 'POST', path: () => '/v1/mailbox/ack', body: () => ({ ids: [1, 2, 3] }) },
      { route: 'key packages', method: 'POST', path: () => '/v1/keypackages', body: () => ({ keyPackages: [bytes(100)], lastResort: bytes(100) }) },
      { route: 'claim', method: 'POST', path: () => '/v1/keypackages/claim', body: () => ({ username: 'bob' }) },
      { route: 'group', method: 'POST', path: () => '/v1/groups', body: () => ({ groupId: bytes(16) }) },
      { route: 'delivery', method: 'POST', path: () => `/v1/groups/${groupId}/delivery`, body: () => ({ seqs: [1, 2] }) },
      { route: 'challenge', method: 'POST', path: () => '/v1/auth/challenge', body: () => ({ username: 'alice', deviceId: alice.deviceId }), token: () => undefined },
      { route: 'register', method: 'POST', path: () => '/v1/accounts', body: () => ({ username: `u${messageId().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, 'a')}`, identityKey: bytes(32), device: { signatureKey: bytes(32), name: 'phone', createdAt: Date.now(), accountSignature: bytes(64) } }), token: () => undefined },
      { route: 'post', method: 'POST', path: () => '/v1/channels/alices/posts', body: () => ({ text: 'a post', links: ['https://example.org/'] }) },
      { route: 'edit post', method: 'PATCH', path: () => `/v1/posts/${postId}`, body: () => ({ text: 'edited' }) },
      { route: 'channel', method: 'PATCH', path: () => '/v1/channels/alices', body: () => ({ name: 'Alice', description: 'hers', adsEvery: 3 }) },
      { route: 'report', method: 'POST', path: () => '/v1/reports', body: () => ({ groupId, seq: 2, clientMessageId: messageId(), sender: { username: 'bob', deviceId: bob.deviceId }, serverTime: Date.now(), payload: bytes(10), frankingKey: bytes(32), commitment: bytes(32), tag: bytes(32), reason: 'spam' }) },
      { route: 'notice', method: 'POST', path: () => '/v1/notices', body: () => ({ url: `${server.url}/v1/posts/${postId}`, category: 'scope_of_platform_service', explanation: 'because', email: 'a@example.org', bonaFide: true }) },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...templates), mutation, contentType, async (t, m, type) => {
        const valid = t.body();
        const id = typeof valid.clientMessageId === 'string' ? valid.clientMessageId : undefined;
        const body = mutate(structuredClone(valid), m);
        const r = await request(t.method, t.path(), JSON.stringify(body), type ?? 'application/json', t.token ? t.token() : alice.token);
        checkAnswer(`${t.method} ${t.route} (${m.kind})`, r.status, r.text);
        const sentId = body && typeof body === 'object' && 'clientMessageId' in body && typeof body.clientMessageId === 'string' ? body.clientMessageId : id;
        if (sentId !== undefined) (r.status === 200 ? accepted : refused).add(sentId);
        if (t.route === 'commit' && r.status === 200) epoch = (JSON.parse(r.text) as { epoch: number }).epoch;
      }),
      { ...params, numRuns: RUNS * 4 },
    );

  });

  it('survives random and mutated WebSocket frames: refusals close with 4001 and an error frame, never "internal"', async () => {
    const frame = fc.oneof(
      fc.constant({ type: 'ping' }),
      fc.record({ type: fc.constant('ack'), ids: fc.array(fc.oneof(fc.integer(), anyValue), { maxLength: 5 }) }),
      fc.tuple(mutation, fc.boolean()).map(([m, ok]) => {
        const message = { clientMessageId: messageId(), epoch, ciphertext: bytes(40) };
        return { type: 'send', groupId, message: ok ? message : mutate(message, m) };
      }),
      fc.tuple(mutation).map(([m]) => mutate({ type: 'send', groupId, message: { clientMessageId: messageId(), epoch, ciphertext: bytes(40) } }, m)),
      fc.record({ type: fc.constantFrom('auth', 'items', 'sent', 'send', 'ack', 'x'), token: anyValue }),
      anyValue,
    );
    const wire = fc.oneof(
      { weight: 5, arbitrary: frame.map((f) => ({ text: JSON.stringify(f) ?? 'null', binary: false })) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 50 }).map((s) => ({ text: s, binary: false })) },
      { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 50 }), fc.boolean()).map(([b, binary]) => ({ text: Buffer.from(b), binary })) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(wire, { minLength: 1, maxLength: 6 }), fc.boolean(), async (frames, authFirst) => {
        const socket = await Socket.open(server.url, authFirst ? alice.token : undefined);
        for (const f of frames) if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(f.text, { binary: f.binary });
        if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ type: 'ping' }));
        // answered to the end (a pong after our last ping) or closed by the server
        await socket.until(() => socket.closeCode !== undefined || socket.frames.filter((f) => f.type === 'pong').length > 0 && socket.frames.at(-1)?.type === 'pong').catch(() => undefined);
        const errors = socket.frames.filter((f) => f.type === 'error') as Array<{ code: string }>;
        socket.close();
        if (errors.some((e) => e.code === 'internal')) throw new Error(`internal error on frames ${JSON.stringify(frames)}`);
        if (socket.closeCode !== undefined && ![4001, 1000, 1005, 1007, 1009].includes(socket.closeCode)) throw new Error(`closed with ${socket.closeCode}`);
        for (const f of socket.frames) {
          if (f.type === 'sent') accepted.add(f.clientMessageId);
          if (f.type === 'error' && f.clientMessageId) refused.add(f.clientMessageId);
        }
      }),
      { ...params, numRuns: RUNS },
    );
    // still serving: a fresh socket authenticates and the store is healthy
    const after = await Socket.open(server.url, bob.token);
    expect(after.frames[0]?.type).toBe('ready');
    after.close();
    expect((await call<{ status: string }>(server.url, 'GET', '/healthz')).body.status).toBe('ok');
  });

  it('leaves nothing half-written: no refused send or commit left a message, a send record or a mailbox entry', async () => {
    const leftBehind = [...refused].filter((id) => !accepted.has(id));
    expect(leftBehind.length).toBeGreaterThan(0);
    const stored = new Set(
      (await server.db.all<{ id: string }>('SELECT client_message_id AS id FROM messages UNION ALL SELECT client_message_id AS id FROM sent_messages')).map((r) => r.id),
    );
    expect(leftBehind.filter((id) => stored.has(id))).toEqual([]);
    // and the group still orders messages: its next seq follows the last one taken
    const group = await server.db.get<{ next_seq: number }>('SELECT next_seq FROM chat_groups WHERE group_id = ?', [groupId]);
    const last = await server.db.get<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM sent_messages WHERE group_id = ?', [groupId]);
    expect(Number(group!.next_seq)).toBeGreaterThan(Number(last!.seq ?? 0));
    if (name === 'sqlite') {
      expect(await server.db.all('PRAGMA foreign_key_check')).toEqual([]);
      expect(await server.db.get<{ integrity_check: string }>('PRAGMA integrity_check')).toEqual({ integrity_check: 'ok' });
    }
  });
});
