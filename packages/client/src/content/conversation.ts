/**
 * Everyday chat features on top of the message history: replies, reactions, edits and deletes, read
 * receipts and typing indicators, disappearing messages, group admins, and blocking. Each is a content
 * type inside the envelope (envelope/content.ts), so the server sees none of it; this module folds them
 * into what a chat shows (`conversation()`), and enforces on this device what they ask for:
 *  - a delete (honoured only from the message's own account) removes the message's stored copy;
 *  - under a disappearing-message timer, a message is removed from storage once it expires;
 *  - receipts are folded into a per-group read state and typing indicators are not kept at all.
 * Every device of every member runs the same rules over the same messages, so a deleted or expired
 * message is gone from every device that syncs.
 */
import type { Storage, StorageWrite } from '../storage/storage.ts';
import { getJson, jsonWrite } from '../storage/storage.ts';
import type { ReceivedMessage } from '../core/types.ts';
import type { MessageContent } from '../envelope/content.ts';

/** Per-device choices; receipts and typing indicators are reciprocal, as in Signal. */
export interface Preferences {
  readReceipts: boolean;
  typingIndicators: boolean;
  blocked: string[];
}

const PREFERENCES_KEY = 'prefs';
const DEFAULT_PREFERENCES: Preferences = { readReceipts: true, typingIndicators: true, blocked: [] };

export async function loadPreferences(storage: Storage): Promise<Preferences> {
  return { ...DEFAULT_PREFERENCES, ...(await getJson<Partial<Preferences>>(storage, PREFERENCES_KEY)) };
}

export async function savePreferences(storage: Storage, prefs: Preferences): Promise<void> {
  await storage.write([jsonWrite(PREFERENCES_KEY, prefs)]);
}

/** What the chat shows for one message, with everything that refers to it folded in. */
export interface ChatMessage {
  id: string;
  seq: number;
  serverTime: number;
  sender: ReceivedMessage['sender'];
  /** text, file, rename, leave, timer or admins; undefined once deleted. */
  content: Exclude<MessageContent, { type: 'reaction' | 'edit' | 'delete' | 'receipt' | 'typing' | 'rejoin_ack' }> | undefined;
  deleted: boolean;
  edited: boolean;
  replyTo?: { id: string; sender?: string; excerpt?: string };
  /** emoji → usernames. */
  reactions: Record<string, string[]>;
  /** Usernames (other than the sender) that sent a read receipt for it. */
  readBy: string[];
  /** When it disappears from every device, under the chat's timer. */
  expiresAt?: number;
}

/** Per-group state folded out of messages that are not kept: who read what. */
interface ReadState {
  readBy: Record<string, string[]>;
}
const readKey = (groupId: string) => `read/${groupId}`;

const excerpt = (c: MessageContent | undefined) => (c?.type === 'text' ? c.text.slice(0, 80) : c?.type === 'file' ? `[file ${c.name}]` : undefined);

/** The timer in force for each message: the latest `timer` message ordered before it. */
function timers(history: ReceivedMessage[]): Map<number, number> {
  const out = new Map<number, number>();
  let seconds = 0;
  for (const m of history) {
    if (m.content.type === 'timer') {
      seconds = m.content.seconds;
      continue;
    }
    if (seconds > 0) out.set(m.seq, m.serverTime + seconds * 1000);
  }
  return out;
}

/**
 * Applies on this device what the history asks for: removes messages deleted by their sender and expired
 * ones, folds receipts into the read state, drops typing indicators. Returns how many stored messages it
 * removed. `keyOf` maps a message to its storage key.
 */
export async function enforce(storage: Storage, groupId: string, history: ReceivedMessage[], keyOf: (m: ReceivedMessage) => string, now = Date.now()): Promise<number> {
  const byId = new Map(history.map((m) => [m.clientMessageId, m]));
  const expiry = timers(history);
  const read = (await getJson<ReadState>(storage, readKey(groupId))) ?? { readBy: {} };
  const writes: StorageWrite[] = [];
  const removed = new Set<string>();
  const remove = (m: ReceivedMessage) => {
    const key = keyOf(m);
    if (removed.has(key)) return;
    removed.add(key);
    writes.push({ key, value: undefined });
  };
  let readChanged = false;
  for (const m of history) {
    const c = m.content;
    if (c.type === 'typing') remove(m);
    else if (c.type === 'receipt') {
      for (const id of c.read) {
        const target = byId.get(id);
        if (!target || target.sender.username === m.sender.username) continue;
        const list = (read.readBy[id] ??= []);
        if (!list.includes(m.sender.username)) list.push(m.sender.username);
        readChanged = true;
      }
      remove(m);
    } else if (c.type === 'delete') {
      const target = byId.get(c.target);
      if (target && target.sender.username === m.sender.username && target.content.type !== 'delete') remove(target);
    }
    const expiresAt = expiry.get(m.seq);
    if (expiresAt !== undefined && expiresAt <= now) remove(m);
  }
  if (readChanged) writes.push(jsonWrite(readKey(groupId), read));
  if (writes.length > 0) await storage.write(writes);
  return removed.size;
}

/** The chat as shown: messages in order, with replies, reactions, edits, deletes and receipts folded in. */
export async function conversation(storage: Storage, groupId: string, history: ReceivedMessage[], prefs: Preferences, now = Date.now()): Promise<ChatMessage[]> {
  const read = (await getJson<ReadState>(storage, readKey(groupId))) ?? { readBy: {} };
  const blocked = new Set(prefs.blocked);
  const expiry = timers(history);
  const byId = new Map(history.map((m) => [m.clientMessageId, m]));
  const shown = new Map<string, ChatMessage>();
  const deletedIds = new Set<string>();
  for (const m of history) {
    if (blocked.has(m.sender.username)) continue;
    const expiresAt = expiry.get(m.seq);
    if (expiresAt !== undefined && expiresAt <= now) continue;
    const c = m.content;
    if (c.type === 'typing' || c.type === 'receipt' || c.type === 'rejoin_ack') continue;
    if (c.type === 'reaction' || c.type === 'edit' || c.type === 'delete') {
      const target = shown.get(c.target);
      if (c.type === 'delete') {
        // Honoured from the message's own account only; the message may already be gone from storage.
        const original = byId.get(c.target);
        if (original && original.sender.username !== m.sender.username) continue;
        deletedIds.add(c.target);
        if (target) Object.assign(target, { content: undefined, deleted: true, reactions: {}, replyTo: undefined });
        continue;
      }
      if (!target || target.deleted) continue;
      if (c.type === 'edit') {
        if (target.sender.username !== m.sender.username || target.content?.type !== 'text') continue;
        target.content = { ...target.content, text: c.text };
        target.edited = true;
        continue;
      }
      // A reaction: one per (person, emoji); `remove` takes it back.
      const people = (target.reactions[c.emoji] ??= []);
      const at = people.indexOf(m.sender.username);
      if (c.remove && at >= 0) people.splice(at, 1);
      if (!c.remove && at < 0) people.push(m.sender.username);
      if (people.length === 0) delete target.reactions[c.emoji];
      continue;
    }
    const replyTarget = c.type === 'text' && c.replyTo ? byId.get(c.replyTo) : undefined;
    shown.set(m.clientMessageId, {
      id: m.clientMessageId,
      seq: m.seq,
      serverTime: m.serverTime,
      sender: m.sender,
      content: deletedIds.has(m.clientMessageId) ? undefined : c,
      deleted: deletedIds.has(m.clientMessageId),
      edited: false,
      ...(c.type === 'text' && c.replyTo && { replyTo: { id: c.replyTo, sender: replyTarget?.sender.username, excerpt: excerpt(replyTarget?.content) } }),
      reactions: {},
      readBy: prefs.readReceipts ? (read.readBy[m.clientMessageId] ?? []) : [],
      ...(expiresAt !== undefined && { expiresAt }),
    });
  }
  // A message deleted and removed from storage still shows as "deleted" where its delete is kept.
  for (const id of deletedIds) {
    if (shown.has(id)) continue;
    const del = history.find((m) => m.content.type === 'delete' && m.content.target === id);
    if (del) shown.set(id, { id, seq: del.seq, serverTime: del.serverTime, sender: del.sender, content: undefined, deleted: true, edited: false, reactions: {}, readBy: [] });
  }
  // A reply quotes its target as shown now (edited, or deleted).
  for (const m of shown.values()) {
    const target = m.replyTo && shown.get(m.replyTo.id);
    if (m.replyTo && target) m.replyTo = { ...m.replyTo, excerpt: target.deleted ? '[deleted]' : excerpt(target.content) };
  }
  return [...shown.values()].sort((a, b) => a.seq - b.seq);
}
