/**
 * Who may manage a chat, as the SDK reads it from the group's state (the `admins` GroupContext extension):
 * in a chat with admins only they add, remove and rename; in one without, everyone does. The screen offers
 * those actions only to whoever may take them; the SDK, every member and the server refuse them anyway.
 */
import type { Messenger } from '@doublelock/client';
import { useEffect, useState } from 'react';

export interface ChatManagers {
  /** The chat's admins; undefined when it has none (everyone manages). */
  admins: string[] | undefined;
  /** Whether this account may add, remove and rename. */
  mayManage: boolean;
}

/** Re-read whenever the device's state moves on (`version`): a commit may name or drop admins. Undefined while loading. */
export function useChatManagers(m: Messenger, groupId: string, version: number): ChatManagers | undefined {
  const [managers, setManagers] = useState<ChatManagers>();
  useEffect(() => {
    let live = true;
    void m.admins(groupId).then(
      (admins) => live && setManagers({ admins, mayManage: admins === undefined || admins.includes(m.username) }),
      // The group's state is gone (left, removed): nothing to manage.
      () => live && setManagers({ admins: undefined, mayManage: false }),
    );
    return () => {
      live = false;
    };
  }, [m, groupId, version]);
  return managers;
}
