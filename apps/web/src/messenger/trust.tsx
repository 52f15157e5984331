/**
 * Trust in contacts, as the SDK keeps it (packages/client/src/devices/trust.ts): 'unverified', 'verified'
 * (set by this person after comparing safety numbers, shared with their other devices), or 'changed' — the
 * contact's identity key is not the one pinned before (a reinstall, a new phone… or someone in the middle).
 * A change is shown loudly and in plain words; the SDK refuses the contact's new devices until this person
 * has looked at the new safety number and accepted it.
 */
import type { ContactTrust, Messenger } from '@doublelock/client';
import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { Card, ErrorNotice, Notice, useAction } from '../ui/components.tsx';

/** Each contact's trust, loaded fresh from the directory when the list of contacts changes. */
export function useContactTrust(m: Messenger, usernames: readonly string[]): { trust: ReadonlyMap<string, ContactTrust>; reload: () => void } {
  const [trust, setTrust] = useState<ReadonlyMap<string, ContactTrust>>(new Map());
  const [tick, setTick] = useState(0);
  const key = usernames.join(',');
  useEffect(() => {
    let live = true;
    void Promise.all(key ? key.split(',').map((u) => m.trust(u).catch(() => undefined)) : []).then((list) => {
      if (live) setTrust(new Map(list.filter((t): t is ContactTrust => t !== undefined).map((t) => [t.username, t])));
    });
    return () => void (live = false);
  }, [m, key, tick]);
  return { trust, reload: () => setTick((t) => t + 1) };
}

/** The loud warning for a contact whose safety number changed, with the way to look at the new one. */
export function ChangedWarning({ trust, link = true }: { trust: ContactTrust; link?: boolean }) {
  return (
    <Notice kind="warning" title={`${trust.username}’s safety number has changed`}>
      <p style={{ margin: '0.25rem 0' }}>
        {trust.wasVerified ? `You had verified ${trust.username}. ` : ''}
        {trust.username}’s identity key is not the one this device knew. This happens when someone reinstalls or moves to a new phone — and it is also what an attacker does to
        read messages meant for {trust.username}. Until you accept the new safety number, this device sends nothing to {trust.username}’s new devices. Compare the new number with{' '}
        {trust.username} in person or on a call you trust before you accept it.
      </p>
      {link && <Link href={`/safety/${encodeURIComponent(trust.username)}`}>Look at the new safety number</Link>}
    </Notice>
  );
}

/** On the safety-number page: the contact's state and what this person can do about it. */
export function TrustCard({ m, trust, onChange }: { m: Messenger; trust: ContactTrust; onChange: () => void }) {
  const act = useAction(async (fn: () => Promise<unknown>) => {
    await fn();
    onChange();
  });
  return (
    <Card title="Verification">
      {trust.state === 'verified' && (
        <>
          <Notice title="Verified ✓">You compared safety numbers with {trust.username} and marked them verified. If {trust.username}’s key ever changes, you will be warned.</Notice>
          <button type="button" className="secondary" disabled={act.busy} onClick={() => void act.run(() => m.setVerified(trust.username, false))}>Clear verification</button>
        </>
      )}
      {trust.state === 'unverified' && (
        <>
          <p>Not verified. Once the digits below match what {trust.username} sees (or you scanned their code), mark them verified: you will be warned loudly if their key changes.</p>
          <button type="button" disabled={act.busy} onClick={() => void act.run(() => m.setVerified(trust.username, true))}>Mark {trust.username} as verified</button>
        </>
      )}
      {trust.state === 'changed' && (
        <>
          <ChangedWarning trust={trust} link={false} />
          <p>The digits below are the new safety number.</p>
          <button type="button" disabled={act.busy} onClick={() => void act.run(() => m.acceptIdentityChange(trust.username))}>I have compared it: accept the new safety number</button>
        </>
      )}
      <ErrorNotice error={act.error} />
    </Card>
  );
}
