/**
 * Members of the hub (organisations) and their API keys. Keys are random 32-byte bearer tokens shown
 * once and stored only as their SHA-256; each carries scopes (submit, read, admin). The hub's operator
 * manages them (`doublelock hub member …`); revoking a member revokes every key it holds at once.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { HUB_SCOPES, hubMemberName, type HubScope } from '@doublelock/protocol';
import type { Db } from '@doublelock/store';

export interface Member {
  id: number;
  name: string;
  webhookUrl: string | null;
  /** requests per minute; null: the hub's default */
  rateLimit: number | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface MemberKey {
  id: number;
  member: string;
  scopes: HubScope[];
  createdAt: number;
  revokedAt: number | null;
}

/** Who a request is: its member and the scopes of the key it presented. */
export interface Caller {
  memberId: number;
  member: string;
  keyId: number;
  scopes: HubScope[];
  rateLimit: number | null;
}

interface MemberRow {
  id: number;
  name: string;
  webhook_url: string | null;
  webhook_secret: string;
  rate_limit: number | null;
  created_at: number;
  revoked_at: number | null;
}

const KEY_PREFIX = 'dlhub_';

const memberFromRow = (r: MemberRow): Member => ({
  id: Number(r.id),
  name: r.name,
  webhookUrl: r.webhook_url,
  rateLimit: r.rate_limit === null ? null : Number(r.rate_limit),
  createdAt: Number(r.created_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

export const keyHash = (key: string): string => bytesToHex(sha256(new TextEncoder().encode(key)));

export function checkScopes(scopes: readonly string[]): HubScope[] {
  const bad = scopes.filter((s) => !(HUB_SCOPES as readonly string[]).includes(s));
  if (bad.length || !scopes.length) throw new TypeError(`scopes must be some of ${HUB_SCOPES.join(', ')}, not "${scopes.join(',')}"`);
  return [...new Set(scopes as HubScope[])].sort();
}

function checkWebhook(url: string | undefined): string | null {
  if (url === undefined || url === '') return null;
  const u = new URL(url); // throws on a malformed URL
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError(`a webhook must be an http(s) URL, not ${u.protocol}`);
  return u.href;
}

export class MemberStore {
  constructor(private readonly db: Db) {}

  /** Adds a member with a first key; returns the key (shown once) and the webhook secret. */
  async add(name: string, options: { scopes?: readonly string[]; webhookUrl?: string; rateLimit?: number } = {}, now = Date.now()): Promise<{ member: Member; key: string; webhookSecret: string }> {
    const checked = hubMemberName.safeParse(name);
    if (!checked.success) throw new TypeError(checked.error.issues[0]!.message);
    if (options.rateLimit !== undefined && (!Number.isInteger(options.rateLimit) || options.rateLimit < 1)) throw new TypeError('a rate limit is a positive number of requests per minute');
    const scopes = checkScopes(options.scopes ?? ['submit', 'read']);
    const webhookSecret = bytesToHex(randomBytes(32));
    const row = await this.db.get<MemberRow>(
      'INSERT INTO hub_members (name, webhook_url, webhook_secret, rate_limit, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING *',
      [name, checkWebhook(options.webhookUrl), webhookSecret, options.rateLimit ?? null, now],
    );
    if (!row) throw new TypeError(`a member named "${name}" exists already`);
    const member = memberFromRow(row);
    return { member, key: await this.createKey(name, scopes, now), webhookSecret };
  }

  async get(name: string): Promise<Member | undefined> {
    const row = await this.db.get<MemberRow>('SELECT * FROM hub_members WHERE name = ?', [name]);
    return row && memberFromRow(row);
  }

  async list(): Promise<Array<Member & { keys: MemberKey[] }>> {
    const members = (await this.db.all<MemberRow>('SELECT * FROM hub_members ORDER BY name')).map(memberFromRow);
    const keys = await this.db.all<{ id: number; member_id: number; scopes: string; created_at: number; revoked_at: number | null }>('SELECT id, member_id, scopes, created_at, revoked_at FROM hub_keys ORDER BY id');
    return members.map((m) => ({
      ...m,
      keys: keys
        .filter((k) => Number(k.member_id) === m.id)
        .map((k) => ({ id: Number(k.id), member: m.name, scopes: k.scopes.split(' ') as HubScope[], createdAt: Number(k.created_at), revokedAt: k.revoked_at === null ? null : Number(k.revoked_at) })),
    }));
  }

  /** Active members with a webhook, and the secret their alerts are signed with. */
  async webhooks(): Promise<Array<{ member: string; url: string; secret: string }>> {
    const rows = await this.db.all<MemberRow>('SELECT * FROM hub_members WHERE revoked_at IS NULL AND webhook_url IS NOT NULL ORDER BY name');
    return rows.map((r) => ({ member: r.name, url: r.webhook_url!, secret: r.webhook_secret }));
  }

  async setWebhook(name: string, url: string | undefined): Promise<boolean> {
    return (await this.db.run('UPDATE hub_members SET webhook_url = ? WHERE name = ?', [checkWebhook(url), name])).changes > 0;
  }

  /** A new key for an active member. */
  async createKey(name: string, scopes: readonly string[], now = Date.now()): Promise<string> {
    const member = await this.get(name);
    if (!member || member.revokedAt !== null) throw new TypeError(`no active member named "${name}"`);
    const key = KEY_PREFIX + Buffer.from(randomBytes(32)).toString('base64url');
    await this.db.run('INSERT INTO hub_keys (member_id, key_hash, scopes, created_at) VALUES (?, ?, ?, ?)', [member.id, keyHash(key), checkScopes(scopes).join(' '), now]);
    return key;
  }

  /** Revokes a member and all of its keys; false if there is no such active member. */
  async revoke(name: string, now = Date.now()): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const member = await tx.get<{ id: number }>('SELECT id FROM hub_members WHERE name = ? AND revoked_at IS NULL', [name]);
      if (!member) return false;
      await tx.run('UPDATE hub_members SET revoked_at = ? WHERE id = ?', [now, member.id]);
      await tx.run('UPDATE hub_keys SET revoked_at = ? WHERE member_id = ? AND revoked_at IS NULL', [now, member.id]);
      return true;
    });
  }

  async revokeKey(id: number, now = Date.now()): Promise<boolean> {
    return (await this.db.run('UPDATE hub_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now, id])).changes > 0;
  }

  /** The caller a bearer key stands for, or undefined (unknown, revoked, or its member revoked). */
  async authenticate(key: string): Promise<Caller | undefined> {
    if (typeof key !== 'string' || !key.startsWith(KEY_PREFIX) || key.length > 100) return undefined;
    const row = await this.db.get<{ key_id: number; scopes: string; member_id: number; name: string; rate_limit: number | null }>(
      `SELECT k.id AS key_id, k.scopes, m.id AS member_id, m.name, m.rate_limit FROM hub_keys k JOIN hub_members m ON m.id = k.member_id
       WHERE k.key_hash = ? AND k.revoked_at IS NULL AND m.revoked_at IS NULL`,
      [keyHash(key)],
    );
    return row && { memberId: Number(row.member_id), member: row.name, keyId: Number(row.key_id), scopes: row.scopes.split(' ') as HubScope[], rateLimit: row.rate_limit === null ? null : Number(row.rate_limit) };
  }
}
