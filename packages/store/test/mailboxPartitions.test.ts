/**
 * Partitioned mailboxes (migration 0730_mailbox_partitions.postgres.sql). On PostgreSQL the mailbox is
 * partitioned by HASH(device_id): mail of many devices spreads over the partitions, each device's mail
 * lives in exactly one, a device's mailbox read plans a scan of that partition only, mail stored before
 * the migration survives it with its ids (and new ids follow them), and the store reads and acknowledges
 * through the partitioned table as before. On SQLite (one embedded file, one table) the same store
 * behaviour holds; the migration is PostgreSQL's only.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { DeliveryStore } from '../src/delivery.ts';
import { appliesTo, migrate, MIGRATIONS_DIR } from '../src/migrate.ts';
import { PostgresDb } from '../src/postgres.ts';
import { createPostgresDatabase, dialectCases } from '../src/testing.ts';
import { inject } from 'vitest';

const DEVICES = Array.from({ length: 64 }, (_, i) => `device${String(i).padStart(3, '0')}`);
const PARTITIONS = 16;

/** One message, in the mailbox of every device in `devices`; returns its id. */
async function deliver(db: Db, devices: string[], seq: number): Promise<number> {
  const message = await db.get<{ id: number }>(
    `INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload, ratchet_tree, server_time)
     VALUES ('group', ?, 'application', 1, 'sender', 'senderdevice', ?, ?, NULL, 1) RETURNING id`,
    [seq, `m${seq}`, new Uint8Array([seq])],
  );
  for (const d of devices) await db.run('INSERT INTO mailbox (device_id, message_id, expires_at) VALUES (?, ?, ?)', [d, message!.id, Number.MAX_SAFE_INTEGER]);
  return Number(message!.id);
}

describe.each(dialectCases())('partitioned mailboxes on $name', ({ name, open }) => {
  it('reads and acknowledges each device’s mail through the (partitioned) table', async () => {
    const db = await open();
    try {
      await deliver(db, DEVICES, 1);
      await deliver(db, DEVICES.slice(0, 8), 2);
      const delivery = new DeliveryStore(db);
      const { byDevice, complete } = await delivery.readMail(DEVICES, 1000, 1 << 20);
      expect(complete).toBe(true);
      expect(DEVICES.map((d) => byDevice.get(d)!.map((m) => m.seq))).toEqual(DEVICES.map((_, i) => (i < 8 ? [1, 2] : [1])));
      const acked = await delivery.ackMany(DEVICES.map((d) => ({ deviceId: d, ids: byDevice.get(d)!.map((m) => m.id) })));
      expect(acked).toEqual(DEVICES.map((_, i) => (i < 8 ? 2 : 1)));
      expect(await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM messages')).toEqual({ n: 0 }); // freed with their last recipient

      if (name !== 'postgres') return;
      await deliver(db, DEVICES, 3);
      const kind = await db.get<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'mailbox'");
      expect(kind!.relkind).toBe('p');
      const partitions = await db.all<{ name: string }>("SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'mailbox'::regclass");
      expect(partitions).toHaveLength(PARTITIONS);
      const placed = await db.all<{ partition: string; device_id: string }>('SELECT tableoid::regclass::text AS partition, device_id FROM mailbox');
      const byPartition = new Set(placed.map((r) => r.partition));
      expect(byPartition.size).toBeGreaterThanOrEqual(PARTITIONS / 2); // 64 devices over 16 partitions
      for (const d of DEVICES) expect(new Set(placed.filter((r) => r.device_id === d).map((r) => r.partition)).size).toBe(1);
      // A device's read plans one partition, not sixteen.
      const plan = (await db.all<{ 'QUERY PLAN': string }>('EXPLAIN SELECT id FROM mailbox WHERE device_id = ? ORDER BY id', [DEVICES[5]!])).map((r) => r['QUERY PLAN']).join('\n');
      expect(new Set(plan.match(/mailbox_p\d\d/g)).size).toBe(1);
    } finally {
      await db.close();
    }
  });
});

describe.runIf(inject('postgresUrl'))('the partitioning migration on postgres', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps the mail stored before it, with its ids, and new ids continue after them', async () => {
    const before = mkdtempSync(join(tmpdir(), 'doublelock-migrations-'));
    dirs.push(before);
    for (const f of readdirSync(MIGRATIONS_DIR)) if (f < '0730') cpSync(join(MIGRATIONS_DIR, f), join(before, f));
    const db = new PostgresDb(await createPostgresDatabase(inject('postgresUrl')));
    try {
      await migrate(db, before + '/');
      expect((await db.get<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'mailbox'"))!.relkind).toBe('r');
      await deliver(db, DEVICES.slice(0, 10), 1);
      const old = await db.all<{ id: number; device_id: string }>('SELECT id, device_id FROM mailbox ORDER BY id');

      expect(await migrate(db)).toContain('0730_mailbox_partitions.postgres.sql');
      expect((await db.get<{ relkind: string }>("SELECT relkind FROM pg_class WHERE relname = 'mailbox'"))!.relkind).toBe('p');
      expect(await db.all('SELECT id, device_id FROM mailbox ORDER BY id')).toEqual(old);
      await deliver(db, DEVICES.slice(0, 1), 2);
      const newest = await db.get<{ id: number }>('SELECT MAX(id) AS id FROM mailbox');
      expect(Number(newest!.id)).toBeGreaterThan(Math.max(...old.map((r) => Number(r.id))));
    } finally {
      await db.close();
    }
  });
});

describe.runIf(inject('postgresUrl'))('acknowledgements on postgres', () => {
  it('delete by key, one probe per item: no batch reads a mailbox partition sequentially', async () => {
    // One connection, so the statistics read below are this session's own (flushed when it goes idle).
    const db = new PostgresDb(await createPostgresDatabase(inject('postgresUrl')), 1);
    try {
      await migrate(db);
      // 64 devices × 60 messages: a batch of a few hundred pairs costs a plain join more as index probes
      // in every partition than as a scan of them all (what migration 0780 keeps the planner from).
      await db.run(`INSERT INTO messages (group_id, seq, kind, epoch, sender_username, sender_device, client_message_id, payload, server_time)
        SELECT 'group', i, 'application', 1, 'sender', 'senderdevice', 'm' || i, '\\x00', 1 FROM generate_series(1, 60) i`);
      await db.run(`INSERT INTO mailbox (device_id, message_id, expires_at)
        SELECT 'device' || lpad(d::text, 3, '0'), m.id, 1e15 FROM messages m, generate_series(0, 63) d ORDER BY m.id, d`);
      await db.run('ANALYZE');
      const seqScans = async () => {
        await db.get('SELECT pg_stat_force_next_flush()');
        return Number((await db.get<{ n: number }>("SELECT COALESCE(SUM(seq_scan), 0) AS n FROM pg_stat_user_tables WHERE relname LIKE 'mailbox%'"))!.n);
      };
      const delivery = new DeliveryStore(db);
      const byDevice = await delivery.mailboxes(DEVICES, 10_000);
      const before = await seqScans();
      // Each device acknowledges its first 4 items, and one id of another device's (not deleted).
      const entries = DEVICES.map((d, i) => ({ deviceId: d, ids: [...byDevice.get(d)!.slice(0, 4).map((m) => m.id), byDevice.get(DEVICES[(i + 1) % 64]!)![10]!.id] }));
      expect(await delivery.ackMany(entries)).toEqual(DEVICES.map(() => 4));
      expect(await seqScans()).toBe(before);
      expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM mailbox'))!.n)).toBe(64 * 60 - 64 * 4);
      expect(Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM messages'))!.n)).toBe(56); // the 4 every device acknowledged are freed
    } finally {
      await db.close();
    }
  });
});

describe('dialect-only migration files', () => {
  it('apply on their dialect only', () => {
    expect(appliesTo('0730_mailbox_partitions.postgres.sql', 'postgres')).toBe(true);
    expect(appliesTo('0730_mailbox_partitions.postgres.sql', 'sqlite')).toBe(false);
    expect(appliesTo('0001_core.sql', 'sqlite')).toBe(true);
    expect(appliesTo('0001_core.sql', 'postgres')).toBe(true);
  });
});
