/** Server-wide secrets shared by every node (e.g. the franking MAC key), created once on first use. */
import type { Db } from './db.ts';
import { asBytes } from './sql.ts';

export async function serverSecret(db: Db, name: string, generate: () => Uint8Array): Promise<Uint8Array> {
  await db.run('INSERT INTO server_secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING', [name, generate()]);
  const row = await db.get<{ value: Uint8Array }>('SELECT value FROM server_secrets WHERE name = ?', [name]);
  return asBytes(row!.value);
}
