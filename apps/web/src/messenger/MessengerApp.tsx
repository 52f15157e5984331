/** The messenger: a device in this browser (registered or linked), its chats, devices and safety numbers. */
import type { Messenger, PendingLink } from '@doublelock/client';
import { useEffect, useState } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction } from '../ui/components.tsx';
import { QrCode } from '../ui/QrCode.tsx';
import { ChatView } from './ChatView.tsx';
import { Devices } from './Devices.tsx';
import { NewChat } from './NewChat.tsx';
import { SafetyNumberPage } from './SafetyNumber.tsx';
import { Settings } from './Settings.tsx';
import { browserDeviceName, openDevice, registerDevice, startLink } from './session.ts';
import { MessengerContext, useMessengerView, type MessengerView } from './useMessenger.ts';

export default function MessengerApp() {
  const [device, setDevice] = useState<Messenger | null | undefined>(undefined);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    openDevice().then((m) => setDevice(m ?? null), setError);
  }, []);
  if (error) return <Page title="Messenger"><ErrorNotice error={error} /></Page>;
  if (device === undefined) return <Loading what="your device" />;
  if (device === null) return <Welcome onReady={setDevice} />;
  return (
    <MessengerContext.Provider value={device}>
      <Chats m={device} />
    </MessengerContext.Provider>
  );
}

function Welcome({ onReady }: { onReady: (m: Messenger) => void }) {
  const [username, setUsername] = useState('');
  const [account, setAccount] = useState('');
  const [pending, setPending] = useState<PendingLink>();
  const register = useAction(async () => onReady(await registerDevice(username.trim(), browserDeviceName())));
  const link = useAction(async () => {
    const started = await startLink(account.trim(), browserDeviceName());
    setPending(started);
    onReady(await started.complete());
  });
  return (
    <Page title="Start using the messenger">
      <p>Your keys are made in this browser and stay in it. The server only ever sees encrypted messages.</p>
      <Card title="Create an account">
        <form className="row" onSubmit={(e) => { e.preventDefault(); void register.run(); }}>
          <Field label="Choose a name" hint="letters, digits, . _ -" value={username} onChange={setUsername} required autoComplete="username" />
          <button type="submit" disabled={register.busy}>{register.busy ? 'Creating…' : 'Create account'}</button>
        </form>
        <ErrorNotice error={register.error} />
      </Card>
      <Card title="Link this browser to your account">
        <p>This browser makes its own keys and shows a code. On a device where you already use Doublelock, open <em>Devices</em>, choose <em>Approve a new device</em>, and scan or type the code.</p>
        <form className="row" onSubmit={(e) => { e.preventDefault(); void link.run(); }}>
          <Field label="Your account name" value={account} onChange={setAccount} required autoComplete="username" />
          <button type="submit" disabled={link.busy}>{link.busy ? 'Waiting for approval…' : 'Show my link code'}</button>
        </form>
        {pending && (
          <div className="stack">
            <QrCode value={pending.code} label="QR code of this browser’s link code" />
            <p className="mono" data-link-code={pending.code}>{pending.code}</p>
            <p role="status" className="muted">Waiting for one of your devices to approve this code…</p>
          </div>
        )}
        <ErrorNotice error={link.error} />
      </Card>
    </Page>
  );
}

function Alarms({ view }: { view: MessengerView }) {
  return (
    <>
      {view.alarms.map((a) => (
        <Notice key={a.title} kind="warning" title={a.title}>{a.body}</Notice>
      ))}
      {view.transportError && <Notice kind="error" title="Not connected">{view.transportError} New messages wait on the server and arrive when the connection is back.</Notice>}
      {view.rejected.length > 0 && (
        <Notice kind="error" title="Some incoming items were refused">
          <ul>{view.rejected.map((r, i) => <li key={i}>{r}</li>)}</ul>
        </Notice>
      )}
    </>
  );
}

function Chats({ m }: { m: Messenger }) {
  const view = useMessengerView(m);
  const [location] = useLocation();
  const inChat = location.startsWith('/c/');
  return (
    <>
      <Alarms view={view} />
      <div className={`messenger${inChat ? ' in-chat' : ''}`}>
        <nav className="chat-list" aria-label="Chats">
          <p className="muted">Signed in as <strong>{m.username}</strong></p>
          <div className="row">
            <Link href="/new" className="button">New chat</Link>
            <Link href="/devices" className="button secondary">Devices</Link>
            <Link href="/settings" className="button secondary">Settings</Link>
          </div>
          <h2>Chats</h2>
          {view.groups.length === 0 ? (
            <p className="muted">No chats yet.</p>
          ) : (
            <ul>
              {view.groups.map((g) => (
                <li key={g.groupId}>
                  <Link href={`/c/${g.groupId}`} aria-current={location === `/c/${g.groupId}` ? 'page' : undefined}>
                    {g.name || g.members.filter((x) => x.username !== m.username).map((x) => x.username).filter((u, i, a) => a.indexOf(u) === i).join(', ') || 'Just you'}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </nav>
        <div>
          <Switch>
            <Route path="/new"><NewChat onCreated={view.refresh} raise={view.raise} /></Route>
            <Route path="/devices"><Devices /></Route>
            <Route path="/settings"><Settings /></Route>
            <Route path="/safety/:username">{(p) => <SafetyNumberPage username={p.username} raise={view.raise} />}</Route>
            <Route path="/c/:id">{(p) => <ChatView key={p.id} groupId={p.id} view={view} />}</Route>
            <Route><Page title="Messenger"><p>Choose a chat, or start a new one.</p></Page></Route>
          </Switch>
        </div>
      </div>
    </>
  );
}
