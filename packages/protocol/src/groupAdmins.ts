/**
 * Group admins as an MLS GroupContext extension (RFC 9420 §11.1, §12.1.7): the list lives in the group's
 * context, which every member's key schedule binds (so members cannot disagree about it), and changes only
 * by a GroupContextExtensions proposal inside a commit — in a public commit, the Delivery Service reads it
 * too and can refuse a commit by a non-admin (apps/server/src/commitCheck.ts), while every member checks
 * the same rule on the commit it processes (packages/client/src/groups/adminRule.ts).
 *
 * Extension type: 0xF0D1, from the private-use range (RFC 9420 §17.3). Data: UTF-8 JSON, an array of
 * usernames (at most MAX_ADMINS). Absent or empty: the group has no admins and every member manages.
 */
import { z } from 'zod';
import { username } from './common.ts';

export const ADMINS_EXTENSION_TYPE = 0xf0d1;
export const MAX_ADMINS = 100;

const adminList = z.array(username).max(MAX_ADMINS);

export function encodeAdmins(usernames: string[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(adminList.parse([...new Set(usernames)].sort())));
}

/** The admin list in an extension's data, or undefined when it is not a valid list. */
export function decodeAdmins(data: Uint8Array): string[] | undefined {
  try {
    const parsed = adminList.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The membership rule every party applies to a commit (the same code on the server and in the clients).
 * `admins` is the list before the commit (empty: no admins). Returns why the commit is refused, or undefined.
 * A member that is not an admin may only add and remove devices of its own account, remove devices that are
 * revoked (keeping groups in line with the key directory) and re-add a device (remove and add it in one
 * commit); only admins change the admin list.
 */
export function adminRuleViolation(c: {
  admins: string[];
  committer: string;
  added: Array<{ username: string; deviceId: string }>;
  removed: Array<{ username: string; deviceId: string; revoked: boolean }>;
  adminsChanged: boolean;
}): string | undefined {
  if (c.admins.length === 0 || c.admins.includes(c.committer)) return undefined;
  if (c.adminsChanged) return `${c.committer} is not an admin of this group and may not change its admins`;
  // A device removed and added back in one commit (a re-add, e.g. of a device that lost its state) changes nobody's membership.
  const readded = new Set(c.added.filter((a) => c.removed.some((r) => r.deviceId === a.deviceId && r.username === a.username)).map((a) => a.deviceId));
  const foreignAdd = c.added.find((a) => a.username !== c.committer && !readded.has(a.deviceId));
  if (foreignAdd) return `${c.committer} is not an admin of this group and may not add ${foreignAdd.username}`;
  const foreignRemove = c.removed.find((r) => r.username !== c.committer && !r.revoked && !readded.has(r.deviceId));
  if (foreignRemove) return `${c.committer} is not an admin of this group and may not remove ${foreignRemove.username}`;
  return undefined;
}
