/**
 * The everyday features a person expects of a chat, as the Messenger's part that sends them and applies
 * them on this device (rules in conversation.ts): replies, reactions, edits, deletes, read receipts,
 * typing indicators, disappearing-message timers, group admins, blocking, and the checks around creating
 * chats (people who exist, no second 1:1 chat with the same person).
 */
import type { MessengerContext } from '../core/context.ts';
import type { ReceivedMessage } from '../core/types.ts';
import type { MessageContent } from '../envelope/content.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';
import { adminsOf, mayManage } from '../groups/adminRule.ts';
import { conversation, enforce, loadPreferences, savePreferences, type ChatMessage, type Preferences } from './conversation.ts';
import { historyKey } from './messages.ts';

type Sent = { seq: number; clientMessageId: string };

export class ChatFeatures {
  private prefs: Preferences | undefined;

  constructor(private readonly ctx: MessengerContext) {}

  async preferences(): Promise<Preferences> {
    this.prefs ??= await loadPreferences(this.ctx.storage);
    return { ...this.prefs, blocked: [...this.prefs.blocked] };
  }

  async setPreferences(change: Partial<Omit<Preferences, 'blocked'>>): Promise<Preferences> {
    const next = { ...(await this.preferences()), ...change };
    await savePreferences(this.ctx.storage, next);
    this.prefs = next;
    return this.preferences();
  }

  /** Blocks a person: nothing they send is shown, and no new chat with them can be created. */
  async block(username: string, blocked = true): Promise<void> {
    const prefs = await this.preferences();
    const set = new Set(prefs.blocked);
    if (blocked) set.add(username);
    else set.delete(username);
    await savePreferences(this.ctx.storage, { ...prefs, blocked: [...set].sort() });
    this.prefs = undefined;
  }

  /** Synchronous check for event filtering (preferences are loaded when the messenger opens). */
  isBlocked(username: string): boolean {
    return this.prefs?.blocked.includes(username) ?? false;
  }

  /** Refuses people who do not exist or are blocked, before anything is created on the server. */
  async checkPeople(usernames: string[]): Promise<void> {
    const prefs = await this.preferences();
    for (const username of new Set(usernames)) {
      if (username === this.ctx.username) throw new RangeError('You are in every chat you create: name the other people only.');
      if (prefs.blocked.includes(username)) throw new RangeError(`You have blocked ${username}: unblock them first.`);
      if (!(await this.ctx.directory.account(username))) throw new RangeError(`No user "${username}" on this server.`);
    }
  }

  /** The existing active 1:1 chat with this person, if any. */
  async existingChat(username: string): Promise<string | undefined> {
    for (const g of await this.ctx.membership.groups()) {
      if (g.status !== 'active') continue;
      const people = new Set(g.members.map((m) => m.username));
      // A 1:1 chat is named after the two people by whoever created it (Messenger.createChat).
      const oneToOne = g.name === `${this.ctx.username} & ${username}` || g.name === `${username} & ${this.ctx.username}`;
      if (oneToOne && people.size === 2 && people.has(username) && people.has(this.ctx.username)) return g.groupId;
    }
    return undefined;
  }

  /** Refuses a membership change or rename when the group has admins and we are not one of them. */
  async requireManager(groupId: string, what: string): Promise<void> {
    const { state } = await this.ctx.groupStore.require(groupId);
    if (!mayManage(state, this.ctx.username)) throw new RangeError(`Only the group's admins may ${what}.`);
  }

  private send(groupId: string, content: MessageContent): Promise<Sent> {
    const { ctx } = this;
    return ctx.exclusive(() => ctx.messages.sendLocked(groupId, content));
  }

  /** The message a reference names must be in this chat (as this device has it). */
  private async target(groupId: string, id: string): Promise<ReceivedMessage> {
    const found = (await this.ctx.messages.history(groupId)).find((m) => m.clientMessageId === id);
    if (!found) throw new RangeError(`No message ${id} in this chat on this device.`);
    return found;
  }

  async reply(groupId: string, to: string, text: string): Promise<Sent> {
    await this.target(groupId, to);
    return this.send(groupId, { type: 'text', text, replyTo: to });
  }

  async react(groupId: string, to: string, emoji: string, remove = false): Promise<Sent> {
    await this.target(groupId, to);
    return this.send(groupId, { type: 'reaction', target: to, emoji, ...(remove && { remove }) });
  }

  async edit(groupId: string, id: string, text: string): Promise<Sent> {
    const original = await this.target(groupId, id);
    if (original.sender.username !== this.ctx.username || original.content.type !== 'text') throw new RangeError('Only your own text messages can be edited.');
    return this.send(groupId, { type: 'edit', target: id, text });
  }

  async delete(groupId: string, id: string): Promise<Sent> {
    const original = await this.target(groupId, id);
    if (original.sender.username !== this.ctx.username) throw new RangeError('Only your own messages can be deleted for everyone.');
    const sent = await this.send(groupId, { type: 'delete', target: id });
    await this.enforce(groupId);
    return sent;
  }

  /** Sends a typing indicator, unless this person turned them off. True if sent. */
  async typing(groupId: string, active: boolean): Promise<boolean> {
    if (!(await this.preferences()).typingIndicators) return false;
    await this.send(groupId, { type: 'typing', active });
    return true;
  }

  /**
   * Marks the chat read: a receipt for the others' messages not yet acknowledged, unless this person turned
   * receipts off. Returns how many messages it acknowledged.
   */
  async markRead(groupId: string): Promise<number> {
    if (!(await this.preferences()).readReceipts) return 0;
    const key = `receipted/${groupId}`;
    const upTo = (await getJson<number>(this.ctx.storage, key)) ?? 0;
    const unread = (await this.ctx.messages.history(groupId)).filter(
      (m) => m.seq > upTo && m.sender.username !== this.ctx.username && (m.content.type === 'text' || m.content.type === 'file') && !this.isBlocked(m.sender.username),
    );
    if (unread.length === 0) return 0;
    for (let i = 0; i < unread.length; i += 500) await this.send(groupId, { type: 'receipt', read: unread.slice(i, i + 500).map((m) => m.clientMessageId) });
    await this.ctx.storage.write([jsonWrite(key, unread.at(-1)!.seq)]);
    return unread.length;
  }

  /** Sets the chat's disappearing-message timer (0 turns it off) for everyone in it. */
  async setTimer(groupId: string, seconds: number): Promise<Sent> {
    return this.send(groupId, { type: 'timer', seconds });
  }

  /** The group's admins, from its GroupContext (undefined: no admins, everyone manages). */
  async admins(groupId: string): Promise<string[] | undefined> {
    const admins = adminsOf((await this.ctx.groupStore.require(groupId)).state);
    return admins.length > 0 ? admins : undefined;
  }

  /**
   * Names the group's admins (only an admin may, once there are admins): a commit of the admin-list
   * extension, which the Delivery Service and every member check (groups/adminRule.ts).
   */
  async setAdmins(groupId: string, usernames: string[]): Promise<void> {
    await this.ctx.exclusive(async () => {
      await this.requireManager(groupId, 'change the admins');
      const members = new Set((await this.ctx.membership.group(groupId)).members.map((m) => m.username));
      for (const u of usernames) if (!members.has(u)) throw new RangeError(`${u} is not in this chat.`);
      await this.ctx.membership.setAdminsLocked(groupId, usernames);
    });
  }

  /** Applies deletes, timers and receipts to this device's stored copy of the chat. */
  async enforce(groupId: string): Promise<number> {
    const history = await this.ctx.messages.history(groupId);
    return enforce(this.ctx.storage, groupId, history, (m) => historyKey(groupId, m.seq));
  }

  async conversation(groupId: string): Promise<ChatMessage[]> {
    await this.enforce(groupId);
    return conversation(this.ctx.storage, groupId, await this.ctx.messages.history(groupId), await this.preferences());
  }
}
