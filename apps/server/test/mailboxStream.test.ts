/**
 * Large mailbox items are streamed, not encoded into one string (apps/server/src/mailboxStream.ts): a
 * page of three 1 MB messages (the largest a message may be) comes back as a chunked response in many
 * pieces whose JSON is exactly the items, and a small page still goes through the serializer with a
 * Content-Length.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { randomFillSync } from 'node:crypto';
import { fromBase64Url, toBase64Url, type MailboxItem } from '@doublelock/protocol';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.ts';
import { bytes, groupOf, messageId, serverCases, type TestDevice, devicesOf, ackAll } from './harness.ts';

/** GET /v1/mailbox with node:http: the headers, and how many pieces the body came in. */
function fetchRaw(url: string, token: string): Promise<{ headers: Record<string, string | string[] | undefined>; pieces: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/mailbox?limit=10`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let pieces = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        pieces++;
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ headers: res.headers, pieces, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(serverCases())('mailbox streaming on $name', ({ start }) => {
  let server: RunningServer;
  let alice: TestDevice, bob: TestDevice;
  beforeAll(async () => {
    server = await start();
    [alice, bob] = await devicesOf(server, ['alice', 'bob'] as const);
  });
  afterAll(async () => server.close());

  it('streams a page holding a large item, byte for byte the JSON of the item', async () => {
    const groupId = await groupOf([alice, bob]);
    await ackAll(bob);
    // sizes not a multiple of 3: the last slice's encoding has no padding either
    const big = [1024 * 1024, 1_000_001, 999_999].map((n) => randomFillSync(new Uint8Array(n)));
    const ids = big.map(() => messageId());
    for (const [i, payload] of big.entries()) {
      expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: ids[i], epoch: 1, ciphertext: toBase64Url(payload) })).status).toBe(200);
    }
    const small = messageId();
    expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: small, epoch: 1, ciphertext: bytes(30) })).status).toBe(200);

    const r = await fetchRaw(server.url, bob.token);
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.pieces).toBeGreaterThan(10);
    const { items } = JSON.parse(r.body) as { items: MailboxItem[] };
    expect(items.map((i) => i.clientMessageId)).toEqual([...ids, small]);
    expect(items.slice(0, 3).map((i) => bytesToHex(sha256(fromBase64Url(i.payload))))).toEqual(big.map((b) => bytesToHex(sha256(b))));
    // the same fields as the serializer writes for a small page
    expect(Object.keys(items[0]!).sort()).toEqual(['clientMessageId', 'epoch', 'groupId', 'id', 'kind', 'payload', 'sender', 'seq', 'serverTime']);
    await bob.call('POST', '/v1/mailbox/ack', { ids: items.map((i) => i.id) });

    const tiny = messageId();
    expect((await alice.call('POST', `/v1/groups/${groupId}/messages`, { clientMessageId: tiny, epoch: 1, ciphertext: bytes(30) })).status).toBe(200);
    const plain = await fetchRaw(server.url, bob.token);
    expect(plain.headers['content-length']).toBe(String(Buffer.byteLength(plain.body)));
    expect((JSON.parse(plain.body) as { items: MailboxItem[] }).items.map((i) => i.clientMessageId)).toEqual([tiny]);
  });
});
