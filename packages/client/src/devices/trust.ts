/**
 * Trust in contacts, like Signal's: the identity key seen first is pinned (`pin/<username>`); when the
 * directory later shows another one the contact is 'changed' (a safety-number change): the authentication
 * service refuses that person's devices until the user looks at the new safety number and accepts it.
 * 'verified' is a state only the user sets, after comparing safety numbers; accepting a change clears it.
 * Trust decisions travel to the user's other devices in the note-to-self group (a chat of this account's
 * own devices), as `trust` messages that only the account's own devices are listened to for.
 */
import { fromBase64Url } from '@doublelock/protocol';
import { b64, type MessengerContext } from '../core/context.ts';
import type { MessageContent } from '../envelope/content.ts';
import { identityKeyOf } from '../directory.ts';
import { safetyNumber } from '../safetyNumber.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';

export type TrustState = 'unverified' | 'verified' | 'changed';

export interface ContactTrust {
  username: string;
  state: TrustState;
  /** The safety number for the identity key the directory shows now. */
  safetyNumber: string;
  identityKey: string;
  /** When 'changed': the key pinned before. */
  previousKey?: string;
  /** When 'changed': whether the user had verified the key pinned before (the loudest case). */
  wasVerified?: boolean;
}

interface StoredTrust {
  identityKey: string;
  verified: boolean;
}

const trustKey = (username: string) => `trust/${username}`;
const SELF_GROUP = 'selfGroup';
export const SELF_GROUP_NAME = 'Note to self';

export class TrustStore {
  constructor(private readonly ctx: MessengerContext) {}

  async status(username: string): Promise<ContactTrust> {
    const { ctx } = this;
    const account = await ctx.directory.account(username, { fresh: true });
    if (!account) throw new Error(`No account "${username}".`);
    const pinned = await ctx.storage.get(`pin/${username}`);
    const stored = await getJson<StoredTrust>(ctx.storage, trustKey(username));
    const number = safetyNumber({ username: ctx.username, identityKey: fromBase64Url(ctx.device.identityKey) }, { username, identityKey: identityKeyOf(account) });
    if (pinned && b64(pinned) !== account.identityKey) return { username, state: 'changed', safetyNumber: number, identityKey: account.identityKey, previousKey: b64(pinned), wasVerified: stored?.verified === true && stored.identityKey === b64(pinned) };
    const verified = stored?.verified === true && stored.identityKey === account.identityKey;
    return { username, state: verified ? 'verified' : 'unverified', safetyNumber: number, identityKey: account.identityKey };
  }

  /** Marks a contact verified (or not) after the user compared safety numbers; refused while the key is changed. */
  async setVerified(username: string, verified: boolean): Promise<ContactTrust> {
    const now = await this.status(username);
    if (now.state === 'changed') throw new Error(`The identity key of ${username} changed: look at the new safety number and accept it first.`);
    await this.record(username, now.identityKey, verified);
    return this.status(username);
  }

  /** Accepts a changed identity key (the user has seen the new safety number): pinned again, not verified. */
  async acceptChange(username: string): Promise<ContactTrust> {
    const now = await this.status(username);
    await this.record(username, now.identityKey, false);
    return this.status(username);
  }

  private async record(username: string, identityKey: string, verified: boolean): Promise<void> {
    await this.apply(username, identityKey, verified);
    await this.share({ type: 'trust', username, identityKey, verified });
  }

  private async apply(username: string, identityKey: string, verified: boolean): Promise<void> {
    await this.ctx.storage.write([{ key: `pin/${username}`, value: fromBase64Url(identityKey) }, jsonWrite(trustKey(username), { identityKey, verified } satisfies StoredTrust)]);
    this.ctx.directory.forget(username);
  }

  /** Sends a trust decision to this account's other devices (creating the note-to-self group when needed). */
  private async share(content: Extract<MessageContent, { type: 'trust' }>): Promise<void> {
    const { ctx } = this;
    if ((await ctx.directory.activeDevices(ctx.username, true)).length < 2) return;
    let groupId = await getJson<string>(ctx.storage, SELF_GROUP);
    if (!groupId || (await ctx.groupStore.meta(groupId))?.status !== 'active') {
      groupId = await ctx.membership.createGroup(SELF_GROUP_NAME, []);
      await ctx.storage.write([jsonWrite(SELF_GROUP, groupId)]);
    }
    await ctx.exclusive(() => ctx.messages.sendLocked(groupId, content));
  }

  /** A trust message received: honoured only from another device of this account. */
  async received(groupId: string, sender: { username: string }, content: Extract<MessageContent, { type: 'trust' }>): Promise<void> {
    if (sender.username !== this.ctx.username) return;
    await this.ctx.storage.write([jsonWrite(SELF_GROUP, groupId)]);
    await this.apply(content.username, content.identityKey, content.verified);
  }
}
