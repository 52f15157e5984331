/**
 * Commits checked by the Delivery Service and by every member (issue 10), with real devices on a real
 * server: a modified client declaring another add list than its commit carries; a non-admin's modified
 * client changing membership (refused by the server); and a malicious server that lets such a commit
 * through (refused by every member, whatever the server accepted).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../src/api/serverApi.ts';
import type { MessengerContext } from '../src/core/context.ts';
import { register, server, uniqueName, type TestDevice } from './harness.ts';

let srv: Awaited<ReturnType<typeof server>>;
beforeAll(async () => {
  srv = await server();
});
afterAll(async () => {
  await srv.close();
});

const internals = (d: TestDevice) => (d.messenger as unknown as { ctx: MessengerContext }).ctx;
/** A modified client: commits through the SDK's commit loop, skipping the SDK's own admin check. */
const bypass = (d: TestDevice, fn: (ctx: MessengerContext) => Promise<unknown>) => internals(d).exclusive(() => fn(internals(d)));
const memberNames = async (d: TestDevice, group: string) => [...new Set((await d.messenger.group(group)).members.map((m) => m.username))].sort();
const names = (...ds: TestDevice[]) => ds.map((d) => d.messenger.username).sort();

describe('commits are checked by the Delivery Service and by the members', () => {
  it('refuses a commit whose declared adds are not the commit’s (a client hiding an add from the server)', { timeout: 60_000 }, async () => {
    let rewrite = false;
    const lying: typeof fetch = async (input, init) => {
      if (rewrite && String(input).endsWith('/commits') && typeof init?.body === 'string') {
        const body = JSON.parse(init.body) as { adds: string[] };
        return fetch(input, { ...init, body: JSON.stringify({ ...body, adds: [] }) });
      }
      return fetch(input, init);
    };
    const alice = await register(srv.url, uniqueName('al'), 6, { fetch: lying });
    const [bob, carol] = await Promise.all([register(srv.url, uniqueName('bo')), register(srv.url, uniqueName('ca'))]);
    const group = await alice.messenger.createGroup('declared', [bob.messenger.username]);
    await bob.messenger.sync();
    rewrite = true;
    const error = await alice.messenger.addMembers(group, [carol.messenger.username]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('commit_rejected');
    const server = await internals(bob).api.group(group);
    expect(server.members).toHaveLength(2);
    await carol.messenger.sync();
    expect(await carol.messenger.groups()).toEqual([]);
  });

  it('a non-admin’s membership change: refused by the server; let through by a malicious server, refused by every member', { timeout: 90_000 }, async () => {
    const [alice, bob, carol] = await Promise.all(['al', 'bo', 'ca'].map((p) => register(srv.url, uniqueName(p))));
    const group = await alice!.messenger.createGroup('admins', [bob!.messenger.username, carol!.messenger.username], { admins: true });
    for (const d of [bob!, carol!]) await d.messenger.sync();
    expect(await carol!.messenger.admins(group)).toEqual([alice!.messenger.username]);
    const epoch = (await alice!.messenger.group(group)).epoch;

    // Bob's modified client removes Carol: the Delivery Service reads the commit and refuses it.
    const refused = await bypass(bob!, (ctx) => ctx.membership.removeUsersLocked(group, [carol!.messenger.username])).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).code).toBe('not_admin');

    // A malicious server stops checking this group and accepts the same commit.
    await srv.db.run('UPDATE chat_groups SET checked = 0 WHERE group_id = ?', [group]);
    await bypass(bob!, (ctx) => ctx.membership.removeUsersLocked(group, [carol!.messenger.username]));
    for (const d of [alice!, carol!]) {
      await d.messenger.sync();
      expect(d.rejections.map((r) => r.reason)).toContain('not_admin');
      expect((await d.messenger.group(group)).epoch).toBe(epoch);
      expect(await memberNames(d, group)).toEqual(names(alice!, bob!, carol!));
    }
    expect(carol!.events.some((e) => e.type === 'removed')).toBe(false);
  });
});
