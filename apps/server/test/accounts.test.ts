import { ed25519 } from '@noble/curves/ed25519.js';
import { authResponseBytes, deviceRevocationBytes, fromBase64Url, toBase64Url } from '@doublelock/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { call, newDeviceKeys, TestAccount } from './harness.ts';

let clock = Date.now();
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ sessionTtlMs: 60_000 }, { now: () => clock });
});
afterAll(async () => server.close());

describe('accounts and devices', () => {
  it('registers an account whose first device is certified by the account key', async () => {
    const alice = new TestAccount(server, 'alice');
    const device = await alice.register();
    await device.login();
    const r = await device.call<{ devices: Array<{ deviceId: string; revokedAt: null }> }>('GET', '/v1/accounts/alice');
    expect(r.status).toBe(200);
    expect(r.body.devices.map((d) => d.deviceId)).toEqual([device.deviceId]);
  });

  it('refuses a taken username, a bad certificate signature, and malformed input with clear codes', async () => {
    const again = new TestAccount(server, 'alice');
    const keys = newDeviceKeys();
    const taken = await call(server.url, 'POST', '/v1/accounts', { username: 'alice', identityKey: toBase64Url(again.identityKey), device: again.certificate(keys) });
    expect(taken).toMatchObject({ status: 409, body: { code: 'username_taken' } });

    const mallory = new TestAccount(server, 'mallory');
    const forged = { ...mallory.certificate(keys), name: 'changed after signing' };
    const bad = await call(server.url, 'POST', '/v1/accounts', { username: 'mallory', identityKey: toBase64Url(mallory.identityKey), device: forged });
    expect(bad).toMatchObject({ status: 401, body: { code: 'bad_signature' } });

    const json = await call(server.url, 'POST', '/v1/accounts', '{"username": ');
    expect(json).toMatchObject({ status: 400, body: { code: 'invalid_json' } });
    const types = await call(server.url, 'POST', '/v1/accounts', { username: 42, identityKey: 'x', device: {} });
    expect(types.status).toBe(400);
    expect(types.body).toMatchObject({ code: 'validation_failed' });
    expect(String(types.body.message)).toContain('/username');
    const big = await call(server.url, 'POST', '/v1/accounts', { username: 'big', pad: 'x'.repeat(5 * 1024 * 1024) });
    expect(big).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
  });

  it('refuses a keyless account: a small-order identity key with a signature (R = identity, S = 0) that fits any message', async () => {
    // Under ZIP-215 rules (noble's default) this "signature" verifies for every message: the account would be
    // one anybody can sign for, and members' clients (RFC 8032 strict) would refuse what the server accepted.
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral point, encoded
    const forged = toBase64Url(Uint8Array.from([...identity, ...new Uint8Array(32)]));
    const keys = newDeviceKeys();
    const device = { signatureKey: toBase64Url(keys.publicKey), name: 'phone', createdAt: Date.now(), accountSignature: forged };
    const r = await call(server.url, 'POST', '/v1/accounts', { username: 'keyless', identityKey: toBase64Url(identity), device });
    expect(r).toMatchObject({ status: 401, body: { code: 'bad_signature' } });
  });

  it('authenticates by a signed one-time challenge and refuses replays, other origins and wrong keys', async () => {
    const bob = new TestAccount(server, 'bob');
    const device = await bob.register();
    const challenge = await call<{ challenge: string }>(server.url, 'POST', '/v1/auth/challenge', { username: 'bob', deviceId: device.deviceId });
    const sign = (origin: string, key = device.keys.secretKey) =>
      toBase64Url(ed25519.sign(authResponseBytes({ challenge: fromBase64Url(challenge.body.challenge), username: 'bob', deviceId: device.deviceId, origin }), key));
    const body = (signature: string) => ({ username: 'bob', deviceId: device.deviceId, challenge: challenge.body.challenge, signature });

    // A signature meant for another server is refused (and burns the challenge).
    expect(await call(server.url, 'POST', '/v1/auth/session', body(sign('https://evil.example')))).toMatchObject({ status: 401, body: { code: 'bad_signature' } });
    const replay = await call(server.url, 'POST', '/v1/auth/session', body(sign(new URL(server.url).origin)));
    expect(replay).toMatchObject({ status: 401, body: { code: 'challenge_invalid' } });

    const fresh = await call<{ challenge: string }>(server.url, 'POST', '/v1/auth/challenge', { username: 'bob', deviceId: device.deviceId });
    const other = newDeviceKeys();
    const wrongKey = toBase64Url(ed25519.sign(authResponseBytes({ challenge: fromBase64Url(fresh.body.challenge), username: 'bob', deviceId: device.deviceId, origin: new URL(server.url).origin }), other.secretKey));
    expect(await call(server.url, 'POST', '/v1/auth/session', { username: 'bob', deviceId: device.deviceId, challenge: fresh.body.challenge, signature: wrongKey })).toMatchObject({
      status: 401,
      body: { code: 'bad_signature' },
    });
    await device.login();
    expect((await device.call('GET', '/v1/devices/me')).body).toEqual({ username: 'bob', deviceId: device.deviceId });
  });

  it('refuses missing, malformed and expired session tokens', async () => {
    const carol = new TestAccount(server, 'carol');
    const device = await (await carol.register()).login();
    expect((await call(server.url, 'GET', '/v1/devices/me')).body).toMatchObject({ code: 'unauthenticated' });
    expect((await call(server.url, 'GET', '/v1/devices/me', undefined, 'not*base64')).body).toMatchObject({ code: 'unauthenticated' });
    expect((await call(server.url, 'GET', '/v1/devices/me', undefined, toBase64Url(new Uint8Array(32)))).body).toMatchObject({ code: 'unauthenticated' });
    clock += 61_000;
    expect(await device.call('GET', '/v1/devices/me')).toMatchObject({ status: 401, body: { code: 'token_expired' } });
    await device.login();
    expect((await device.call('GET', '/v1/devices/me')).status).toBe(200);
  });

  it('adds devices certified by the account key and revokes them with an account signature', async () => {
    const dave = new TestAccount(server, 'dave');
    const phone = await (await dave.register()).login();
    const laptop = await (await dave.addDevice()).login();
    const listed = await phone.call<{ devices: Array<{ deviceId: string }> }>('GET', '/v1/accounts/dave');
    expect(listed.body.devices.map((d) => d.deviceId).sort()).toEqual([phone.deviceId, laptop.deviceId].sort());

    // Someone without the account key cannot add a device.
    const stranger = new TestAccount(server, 'dave');
    const r = await call(server.url, 'POST', '/v1/accounts/dave/devices', { device: stranger.certificate(newDeviceKeys()) });
    expect(r).toMatchObject({ status: 401, body: { code: 'bad_signature' } });

    const revokedAt = clock;
    const badRevocation = toBase64Url(ed25519.sign(deviceRevocationBytes({ username: 'dave', deviceId: laptop.deviceId, revokedAt }), stranger.identitySecret));
    expect(await call(server.url, 'POST', `/v1/accounts/dave/devices/${laptop.deviceId}/revoke`, { revokedAt, accountSignature: badRevocation })).toMatchObject({
      status: 401,
      body: { code: 'bad_signature' },
    });
    const good = toBase64Url(ed25519.sign(deviceRevocationBytes({ username: 'dave', deviceId: laptop.deviceId, revokedAt }), dave.identitySecret));
    expect((await call(server.url, 'POST', `/v1/accounts/dave/devices/${laptop.deviceId}/revoke`, { revokedAt, accountSignature: good })).status).toBe(200);

    expect(await laptop.call('GET', '/v1/devices/me')).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    await expect(laptop.login()).rejects.toThrow(/device_revoked/);
    const after = await phone.call<{ devices: Array<{ deviceId: string; revokedAt: number | null }> }>('GET', '/v1/accounts/dave');
    expect(after.body.devices.find((d) => d.deviceId === laptop.deviceId)?.revokedAt).toBe(revokedAt);
  });
});

describe('rate limits', () => {
  it('limits registrations per client address', async () => {
    const limited = await startTestServer({ rateLimit: { register: 3, auth: 100 } });
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) {
        const account = new TestAccount(limited, `user${i}x`);
        const keys = newDeviceKeys();
        const r = await call(limited.url, 'POST', '/v1/accounts', { username: account.username, identityKey: toBase64Url(account.identityKey), device: account.certificate(keys) });
        statuses.push(r.status);
        if (r.status === 429) expect(r.body).toMatchObject({ code: 'rate_limited' });
      }
      expect(statuses).toEqual([201, 201, 201, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('API description', () => {
  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const r = await call<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> }>(server.url, 'GET', '/v1/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(['/v1/accounts', '/v1/groups/{groupId}/commits', '/v1/mailbox/ack', '/v1/reports']));
    expect(JSON.stringify(r.body.paths['/v1/accounts']!.post!.requestBody)).toContain('identityKey');
  });
});
