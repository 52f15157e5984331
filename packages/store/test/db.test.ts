import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db.ts';
import { dialectCases } from '../src/testing.ts';

describe.each(dialectCases())('Db on $name', ({ open }) => {
  let db: Db;
  afterEach(async () => db?.close());

  it('round-trips integers, text and bytes with ? placeholders', async () => {
    db = await open();
    await db.run('CREATE TABLE t (id {{serial}}, n BIGINT, s TEXT, b {{blob}})'.replace('{{serial}}', db.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY').replace('{{blob}}', db.dialect === 'sqlite' ? 'BLOB' : 'BYTEA'));
    await db.run('INSERT INTO t (n, s, b) VALUES (?, ?, ?)', [2 ** 40, 'héllo', new Uint8Array([1, 2, 255])]);
    const row = await db.get<{ id: number; n: number; s: string; b: Uint8Array }>('SELECT * FROM t WHERE s = ?', ['héllo']);
    expect(row?.id).toBe(1);
    expect(row?.n).toBe(2 ** 40);
    expect([...(row?.b ?? [])]).toEqual([1, 2, 255]);
  });

  it('rolls back every statement of a failed transaction', async () => {
    db = await open();
    await db.run('CREATE TABLE u (k TEXT PRIMARY KEY)');
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO u (k) VALUES (?)', ['a']);
        await tx.run('INSERT INTO u (k) VALUES (?)', ['a']); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await db.all('SELECT * FROM u')).toEqual([]);
  });

  it('keeps concurrent transactions apart', async () => {
    db = await open();
    await db.run('CREATE TABLE c (k TEXT PRIMARY KEY, v BIGINT NOT NULL)');
    await db.run('INSERT INTO c (k, v) VALUES (?, ?)', ['x', 0]);
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.get<{ v: number }>('SELECT v FROM c WHERE k = ?', ['x']);
          await new Promise((r) => setTimeout(r, 1));
          await tx.run('UPDATE c SET v = ? WHERE k = ?', [(row?.v ?? 0) + 1, 'x']);
        }),
      ),
    );
    expect((await db.get<{ v: number }>('SELECT v FROM c WHERE k = ?', ['x']))?.v).toBe(20);
  });
});
