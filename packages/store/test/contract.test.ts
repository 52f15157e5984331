/** The store contract: the same behaviour on SQLite and PostgreSQL. */
import { DomainError } from '@doublelock/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../src/accounts.ts';
import { createStores, type Stores } from '../src/stores.ts';
import { dialectCases } from '../src/testing.ts';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
let counter = 0;
function device(username: string): DeviceRecord {
  const n = ++counter;
  return {
    deviceId: `dev${String(n).padStart(19, '0')}`,
    username,
    signatureKey: bytes(32, n),
    name: `device ${n}`,
    createdAt: 1000 + n,
    accountSignature: bytes(64, n),
    certifiedBy: null,
    revokedAt: null,
    revocationSignature: null,
    revokedBy: null,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<DomainError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe(code);
  return error as DomainError;
}

describe.each(dialectCases())('store contract on $name', ({ open }) => {
  let s: Stores;
  beforeEach(async () => {
    s = createStores(await open());
  });
  afterEach(async () => s.db.close());

  async function account(username: string, devices = 1): Promise<DeviceRecord[]> {
    const list = Array.from({ length: devices }, () => device(username));
    await s.accounts.create({ username, identityKey: bytes(32, 7), createdAt: 1 }, list[0]!);
    for (const d of list.slice(1)) await s.accounts.addDevice(d);
    return list;
  }
  const sender = (d: DeviceRecord) => ({ username: d.username, deviceId: d.deviceId });
  /** What the server reads from a public commit by the group's creator (leaf 0) that adds these devices. */
  const adding = (...added: DeviceRecord[]) => ({
    membership: { senderLeaf: 0, adds: added.map((d) => ({ username: d.username, deviceId: d.deviceId, signatureKey: d.signatureKey })), removedLeaves: [] },
  });

  it('creates accounts with devices and refuses a taken username', async () => {
    const [d] = await account('alice', 1);
    await rejectsWith(s.accounts.create({ username: 'alice', identityKey: bytes(32, 1), createdAt: 2 }, device('alice')), 'username_taken');
    const a = await s.accounts.get('alice');
    expect(a?.devices.map((x) => x.deviceId)).toEqual([d!.deviceId]);
    expect([...a!.devices[0]!.signatureKey]).toEqual([...d!.signatureKey]);
    expect(await s.accounts.get('nobody')).toBeUndefined();
  });

  it('consumes a challenge once', async () => {
    await s.sessions.addChallenge(bytes(32, 1), 'd1', 5000);
    expect(await s.sessions.takeChallenge(bytes(32, 1), 4000)).toEqual({ deviceId: 'd1' });
    expect(await s.sessions.takeChallenge(bytes(32, 1), 4000)).toBeUndefined();
    await s.sessions.addChallenge(bytes(32, 2), 'd1', 5000);
    expect(await s.sessions.takeChallenge(bytes(32, 2), 6000)).toBeUndefined(); // expired
  });

  it('reads several sessions in one query, by token hash, leaving out unknown ones', async () => {
    await s.sessions.addSession(bytes(32, 11), { deviceId: 'd1', username: 'alice', expiresAt: 5000 });
    await s.sessions.addSession(bytes(32, 12), { deviceId: 'd2', username: 'bob', expiresAt: 6000 });
    const found = await s.sessions.sessions([bytes(32, 11), bytes(32, 12), bytes(32, 13)]);
    expect(found.size).toBe(2);
    expect(found.get(Buffer.from(bytes(32, 11)).toString('hex'))).toEqual({ deviceId: 'd1', username: 'alice', expiresAt: 5000 });
    expect(found.get(Buffer.from(bytes(32, 12)).toString('hex'))).toEqual({ deviceId: 'd2', username: 'bob', expiresAt: 6000 });
    expect((await s.sessions.sessions([])).size).toBe(0);
  });

  it('hands out each one-time KeyPackage once, even to concurrent claims, then the last resort', async () => {
    const [d] = await account('bob', 1);
    await s.keyDirectory.upload(d!.deviceId, Array.from({ length: 10 }, (_, i) => bytes(100, i + 1)), bytes(100, 99));
    expect(await s.keyDirectory.count(d!.deviceId)).toEqual({ oneTime: 10, lastResort: true });
    const claims = await Promise.all(Array.from({ length: 14 }, () => s.keyDirectory.claim([d!.deviceId])));
    const firstBytes = claims.map((c) => c[0]!.keyPackage[0]);
    const oneTime = firstBytes.filter((b) => b !== 99);
    expect(new Set(oneTime).size).toBe(10);
    expect(firstBytes.filter((b) => b === 99)).toHaveLength(4);
    expect(await s.keyDirectory.count(d!.deviceId)).toEqual({ oneTime: 0, lastResort: true });
  });

  it('accepts one commit per epoch and fans out messages to every other member in order', async () => {
    const [a1, a2] = await account('carol', 2);
    const [b1] = await account('dave', 1);
    const g = 'group-1';
    const base = { now: 10, expiresAt: 1_000_000 };
    await s.delivery.createGroup(g, sender(a1!), 1);
    const added = await s.delivery.commit({
      ...base, groupId: g, sender: sender(a1!), clientMessageId: 'commit-0001', epoch: 0, commit: bytes(10, 1),
      adds: [a2!.deviceId, b1!.deviceId], removes: [], welcome: bytes(10, 2), ...adding(a2!, b1!),
    });
    expect(added.epoch).toBe(1);
    expect(added.recipients.sort()).toEqual([a2!.deviceId, b1!.deviceId].sort());
    // A second commit on epoch 0 loses.
    const stale = await rejectsWith(
      s.delivery.commit({ ...base, groupId: g, sender: sender(a1!), clientMessageId: 'commit-0002', epoch: 0, commit: bytes(10, 3), adds: [], removes: [], ...adding() }),
      'stale_epoch',
    );
    expect(stale.details).toEqual({ currentEpoch: 1 });

    for (let i = 0; i < 5; i++) {
      await s.delivery.send({ ...base, groupId: g, sender: sender(b1!), clientMessageId: `msg-000${i}`, epoch: 1, ciphertext: bytes(20, i) });
    }
    const mail = await s.delivery.mailbox(a2!.deviceId, 100);
    expect(mail.map((m) => m.kind)).toEqual(['welcome', 'application', 'application', 'application', 'application', 'application']);
    const seqs = mail.map((m) => m.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(await s.delivery.mailbox(b1!.deviceId, 100)).toHaveLength(1); // only its welcome; not its own messages
    await rejectsWith(
      s.delivery.send({ ...base, groupId: g, sender: sender(b1!), clientMessageId: 'msg-late', epoch: 0, ciphertext: bytes(5, 1) }),
      'stale_epoch',
    );
  });

  it('makes sends idempotent by client message id', async () => {
    const [a] = await account('erin', 1);
    const [b] = await account('frank', 1);
    await s.delivery.createGroup('g2', sender(a!), 1);
    await s.delivery.commit({ groupId: 'g2', sender: sender(a!), clientMessageId: 'commit-1', epoch: 0, commit: bytes(4, 1), adds: [b!.deviceId], removes: [], welcome: bytes(4, 2), ...adding(b!), now: 1, expiresAt: 1e9 });
    const first = await s.delivery.send({ groupId: 'g2', sender: sender(a!), clientMessageId: 'same-id-1', epoch: 1, ciphertext: bytes(4, 3), now: 5, expiresAt: 1e9 });
    const again = await s.delivery.send({ groupId: 'g2', sender: sender(a!), clientMessageId: 'same-id-1', epoch: 1, ciphertext: bytes(4, 3), now: 6, expiresAt: 1e9 });
    expect(again).toMatchObject({ seq: first.seq, serverTime: first.serverTime, duplicate: true, recipients: [] });
    expect((await s.delivery.mailbox(b!.deviceId, 10)).filter((m) => m.kind === 'application')).toHaveLength(1);
  });

  it('refuses senders who are not members and commits that add unknown devices', async () => {
    const [a] = await account('gina', 1);
    const [x] = await account('hank', 1);
    await s.delivery.createGroup('g3', sender(a!), 1);
    await rejectsWith(s.delivery.send({ groupId: 'g3', sender: sender(x!), clientMessageId: 'intruder1', epoch: 0, ciphertext: bytes(4, 1), now: 1, expiresAt: 1e9 }), 'not_member');
    await rejectsWith(
      s.delivery.commit({ groupId: 'g3', sender: sender(a!), clientMessageId: 'commit-x', epoch: 0, commit: bytes(4, 1), adds: ['ghost-device-000000000'], removes: [], welcome: bytes(4, 1), now: 1, expiresAt: 1e9,
        membership: { senderLeaf: 0, adds: [{ username: 'ghost', deviceId: 'ghost-device-000000000', signatureKey: bytes(32, 1) }], removedLeaves: [] } }),
      'commit_rejected',
    );
    expect((await s.delivery.group('g3'))?.epoch).toBe(0); // nothing half-written
    await rejectsWith(s.delivery.send({ groupId: 'nope', sender: sender(a!), clientMessageId: 'nogroup1', epoch: 0, ciphertext: bytes(4, 1), now: 1, expiresAt: 1e9 }), 'not_found');
  });

  it('deletes mail on ack and expires undelivered mail', async () => {
    const [a] = await account('ivan', 1);
    const [b] = await account('jane', 1);
    await s.delivery.createGroup('g4', sender(a!), 1);
    await s.delivery.commit({ groupId: 'g4', sender: sender(a!), clientMessageId: 'commit-1', epoch: 0, commit: bytes(4, 1), adds: [b!.deviceId], removes: [], welcome: bytes(4, 2), ...adding(b!), now: 1, expiresAt: 500 });
    await s.delivery.send({ groupId: 'g4', sender: sender(a!), clientMessageId: 'short-lived', epoch: 1, ciphertext: bytes(4, 3), now: 2, expiresAt: 100 });
    const mail = await s.delivery.mailbox(b!.deviceId, 10);
    expect(await s.delivery.ack(b!.deviceId, [mail[0]!.id])).toBe(1);
    expect(await s.delivery.ack(a!.deviceId, [mail[1]!.id])).toBe(0); // someone else's mailbox
    expect((await s.delivery.sweep(200)).expired).toBe(1);
    expect(await s.delivery.mailbox(b!.deviceId, 10)).toEqual([]);
    expect(await s.db.all('SELECT id FROM messages')).toEqual([]);
  });

  it('revoking a device removes its sessions, key packages, memberships and mail', async () => {
    const [a, a2] = await account('kate', 2);
    await s.delivery.createGroup('g5', sender(a!), 1);
    await s.delivery.commit({ groupId: 'g5', sender: sender(a!), clientMessageId: 'commit-1', epoch: 0, commit: bytes(4, 1), adds: [a2!.deviceId], removes: [], welcome: bytes(4, 2), ...adding(a2!), now: 1, expiresAt: 1e9 });
    await s.keyDirectory.upload(a2!.deviceId, [bytes(80, 1)]);
    expect(await s.accounts.revokeDevice(a2!.deviceId, 50)).toBe(true);
    expect(await s.accounts.revokeDevice(a2!.deviceId, 51)).toBe(false);
    expect(await s.delivery.isMember('g5', a2!.deviceId)).toBe(false);
    expect(await s.delivery.mailbox(a2!.deviceId, 10)).toEqual([]);
    expect(await s.keyDirectory.claim([a2!.deviceId])).toEqual([]);
    expect((await s.accounts.device(a2!.deviceId))?.revokedAt).toBe(50);
  });
});
