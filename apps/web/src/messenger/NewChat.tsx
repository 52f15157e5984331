/** Starts a 1:1 chat (one name, no group name) or a group. */
import { useLocation } from 'wouter';
import { useState } from 'react';
import { Card, ErrorNotice, Field, Page, useAction } from '../ui/components.tsx';
import { useDevice } from './useMessenger.ts';

export function NewChat({ onCreated, raise }: { onCreated: () => Promise<void>; raise: (e: unknown) => boolean }) {
  const m = useDevice();
  const [, navigate] = useLocation();
  const [people, setPeople] = useState('');
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const usernames = people.split(/[\s,]+/).filter(Boolean);
    if (usernames.length === 0) throw new Error('Name at least one person to chat with.');
    try {
      const groupId = usernames.length === 1 && !name.trim() ? await m.createChat(usernames[0]!) : await m.createGroup(name.trim() || usernames.join(', '), usernames);
      await onCreated();
      navigate(`/c/${groupId}`);
    } catch (error) {
      raise(error);
      throw error;
    }
  });
  return (
    <Page title="New chat">
      <Card>
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
          <Field label="With" hint="one name for a chat, several (separated by commas) for a group" value={people} onChange={setPeople} required />
          <Field label="Group name" hint="optional" value={name} onChange={setName} />
          <button type="submit" disabled={create.busy}>{create.busy ? 'Creating…' : 'Start chat'}</button>
        </form>
        <ErrorNotice error={create.error} />
      </Card>
    </Page>
  );
}
