/**
 * React state over the SDK's Messenger: the chat list, each chat's history, and alarms, refreshed from
 * the SDK's events. The SDK does the work (sync, decrypt, verify); this only keeps the screen current.
 */
import type { GroupSummary, Messenger, MessengerEvent, ReceivedMessage } from '@doublelock/client';
import { createContext, useContext, useEffect, useState } from 'react';

export const MessengerContext = createContext<Messenger | null>(null);

export function useDevice(): Messenger {
  const m = useContext(MessengerContext);
  if (!m) throw new Error('no messenger device');
  return m;
}

/** A plain-language alarm when key transparency caught the server lying, else undefined. */
export function transparencyAlarm(error: unknown): { title: string; body: string } | undefined {
  const text = error instanceof Error ? error.message : String(error);
  if (!/key transparency:/.test(text)) return undefined;
  if (/split|does not extend|two different trees|consistency/i.test(text)) {
    return {
      title: 'Warning: the server is showing you a different history than before',
      body: 'The public log of devices this browser checked earlier does not match what the server shows now. A server does this to show different people different keys (a “split view”), so it can slip someone into your chats. Do not send anything sensitive. Compare safety numbers in person, and tell the people you talk to.',
    };
  }
  const who = /for (\S+?)'s devices|(\S+?)'s devices as shown/.exec(text);
  const name = who?.[1] ?? who?.[2];
  return {
    title: `Warning: ${name ? `${name}'s` : 'a contact’s'} devices are not the ones in the public log`,
    body: `The server listed a device${name ? ` for ${name}` : ''} that is not in the public transparency log. That is what an attacker would do to add a hidden “ghost” device that reads your messages. This browser refused to trust it, and nothing was sent to it. Do not send anything sensitive; compare safety numbers in person.`,
  };
}

/** A line the chat shows between messages about the group itself (as the CLI prints them), e.g. a device that rejoined. */
export interface ChatNotice {
  groupId: string;
  id: number;
  text: string;
}

export interface MessengerView {
  groups: GroupSummary[];
  version: number;
  alarms: Array<{ title: string; body: string }>;
  transportError: string | undefined;
  rejected: string[];
  /** Since this page was opened (the SDK keeps no record of them). */
  notices: ChatNotice[];
}

/** The chat's line for an SDK event about a group, if it has one. */
export function noticeFor(m: Messenger, event: MessengerEvent): Omit<ChatNotice, 'id'> | undefined {
  if (event.type === 'rejoined') {
    const text = event.deviceId === m.deviceId ? 'This device lost its state and rejoined the chat' : `${event.username}’s device lost its state and rejoined`;
    return { groupId: event.groupId, text };
  }
  if (event.type === 'rejoin_pending') return { groupId: event.groupId, text: 'This device lost its state and rejoined; waiting for a member to confirm before sending' };
  if (event.type === 'rejoin_unconfirmed') return { groupId: event.groupId, text: 'No member confirmed this device’s rejoin (possibly a copy of the chat the server made): asking to be re-added instead' };
  if (event.type === 'rejoin_requested') return { groupId: event.groupId, text: 'This device lost its place in the chat and asked to be re-added' };
  return undefined;
}

/** Subscribes to the device's events and connects its push channel (which first catches up offline mail). */
export function useMessengerView(m: Messenger): MessengerView & { refresh: () => Promise<void>; raise: (error: unknown) => boolean } {
  const [view, setView] = useState<MessengerView>({ groups: [], version: 0, alarms: [], transportError: undefined, rejected: [], notices: [] });
  const refresh = async () => {
    const groups = (await m.groups()).filter((g) => g.status === 'active');
    setView((v) => ({ ...v, groups, version: v.version + 1 }));
  };
  const raise = (error: unknown): boolean => {
    const alarm = transparencyAlarm(error);
    if (alarm) setView((v) => (v.alarms.some((a) => a.title === alarm.title) ? v : { ...v, alarms: [...v.alarms, alarm] }));
    return Boolean(alarm);
  };
  useEffect(() => {
    let noticeId = 0;
    const off = m.on((event: MessengerEvent) => {
      const notice = noticeFor(m, event);
      if (notice) setView((v) => ({ ...v, notices: [...v.notices, { ...notice, id: ++noticeId }].slice(-50) }));
      if (event.type === 'error') setView((v) => ({ ...v, transportError: event.error.message }));
      else if (event.type === 'rejected') {
        if (!raise(event.error)) setView((v) => ({ ...v, rejected: [...v.rejected, event.error.message].slice(-5) }));
      } else void refresh();
    });
    void refresh();
    m.connect().then(
      () => setView((v) => ({ ...v, transportError: undefined })),
      (error: unknown) => {
        if (!raise(error)) setView((v) => ({ ...v, transportError: (error as Error).message }));
      },
    );
    return () => {
      off();
      m.disconnect();
    };
  }, [m]);
  return { ...view, refresh, raise };
}

/** A chat's messages, reloaded whenever the device's state moves on. */
export function useHistory(m: Messenger, groupId: string, version: number): ReceivedMessage[] {
  const [messages, setMessages] = useState<ReceivedMessage[]>([]);
  useEffect(() => {
    let live = true;
    void m.history(groupId).then((h) => live && setMessages(h));
    const off = m.on((e) => {
      if (e.type === 'message' && e.message.groupId === groupId) void m.history(groupId).then((h) => live && setMessages(h));
    });
    return () => {
      live = false;
      off();
    };
  }, [m, groupId, version]);
  return messages;
}
