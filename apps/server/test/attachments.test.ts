import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { randomFillSync } from 'node:crypto';

const bigRandom = (n: number) => randomFillSync(new Uint8Array(n));
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { startTestServer } from '../src/testing.ts';
import { groupOf, type TestDevice, devicesOf } from './harness.ts';

let server: RunningServer;
let a: TestDevice, b: TestDevice, outsider: TestDevice;
let groupId: string;
beforeAll(async () => {
  server = await startTestServer({ maxBlobBytes: 3 * 1024 * 1024 });
  [a, b, outsider] = await devicesOf(server, ['ann', 'ben', 'oli'] as const);
  groupId = await groupOf([a, b]);
});
afterAll(async () => server.close());

const put = (d: TestDevice, hash: string, body: BodyInit) =>
  fetch(`${server.url}/v1/groups/${groupId}/blobs/${hash}`, { method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream' }, body, duplex: 'half' } as RequestInit);
const get = (d: TestDevice, hash: string) => fetch(`${server.url}/v1/groups/${groupId}/blobs/${hash}`, { headers: { authorization: `Bearer ${d.token}` } });

describe('attachments', () => {
  it('streams an upload in, checks its hash, and streams it back to another member', async () => {
    const data = bigRandom(2 * 1024 * 1024 + 17);
    const hash = bytesToHex(sha256(data));
    // Send in chunks so the server sees a real stream.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < data.length; i += 64 * 1024) controller.enqueue(data.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    const up = await put(a, hash, stream);
    expect(up.status).toBe(201);
    const down = await get(b, hash);
    expect(down.status).toBe(200);
    expect(bytesToHex(sha256(new Uint8Array(await down.arrayBuffer())))).toBe(hash);
  });

  it('refuses bytes that do not match the hash, oversize blobs, and non-members', async () => {
    const data = randomBytes(1000);
    const wrong = await put(a, bytesToHex(sha256(randomBytes(10))), data);
    expect(wrong.status).toBe(422);
    expect(await wrong.json()).toMatchObject({ code: 'hash_mismatch' });

    const huge = bigRandom(3 * 1024 * 1024 + 1);
    const tooBig = await put(a, bytesToHex(sha256(huge)), huge);
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({ code: 'payload_too_large' });

    const hash = bytesToHex(sha256(data));
    expect((await put(a, hash, data)).status).toBe(201);
    const denied = await get(outsider, hash);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'not_member' });
    expect((await put(outsider, hash, data)).status).toBe(403);
    const missing = await get(b, bytesToHex(sha256(randomBytes(5))));
    expect(missing.status).toBe(404);
    const badHash = await get(b, 'not-a-hash');
    expect(badHash.status).toBe(400);
  });
});
