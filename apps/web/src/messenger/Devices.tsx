/** This account's devices: the list, revoking one, and linking a new one by QR code or typed code. */
import { encodeLinkCode } from '@doublelock/client';
import { useEffect, useState } from 'react';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { QrCode } from '../ui/QrCode.tsx';
import { useDevice } from './useMessenger.ts';

export function Devices() {
  const m = useDevice();
  const devices = useLoad(() => m.devices(), [m]);
  const [name, setName] = useState('');
  const [link, setLink] = useState<{ code: string; deviceId: string; joined: boolean }>();
  const revoke = useAction(async (deviceId: string) => {
    await m.revokeDevice(deviceId);
    devices.reload();
  });
  const provision = useAction(async () => {
    const p = await m.provisionDevice(name.trim() || 'linked device');
    setLink({ code: encodeLinkCode(p), deviceId: p.deviceId, joined: false });
    setName('');
    devices.reload();
  });
  // Once the new device has uploaded its keys, add it to every chat (a commit per chat, made here).
  useEffect(() => {
    if (!link || link.joined) return;
    let live = true;
    let timer: number | undefined;
    const attempt = async () => {
      try {
        await m.reconcileDevices();
        const joined = (await m.groups()).every((g) => g.status !== 'active' || g.members.some((x) => x.deviceId === link.deviceId));
        if (joined && live) return setLink({ ...link, joined: true });
      } catch {
        /* the new device has not uploaded its keys yet */
      }
      if (live) timer = window.setTimeout(() => void attempt(), 1500);
    };
    void attempt();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [m, link]);
  const canManage = Boolean(m.device.identitySecret);
  return (
    <Page title="Your devices">
      {devices.loading && <Loading what="devices" />}
      <ErrorNotice error={devices.error} />
      {devices.data && (
        <table>
          <caption className="sr-only">Devices of {m.username}</caption>
          <thead><tr><th scope="col">Device</th><th scope="col">Added</th><th scope="col">State</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {devices.data.map((d) => (
              <tr key={d.deviceId}>
                <td>{d.name} <span className="mono muted">{d.deviceId.slice(0, 8)}</span>{d.deviceId === m.deviceId && ' (this browser)'}</td>
                <td>{new Date(d.createdAt).toLocaleString()}</td>
                <td>{d.revokedAt ? `revoked ${new Date(d.revokedAt).toLocaleString()}` : 'active'}</td>
                <td>
                  {canManage && !d.revokedAt && d.deviceId !== m.deviceId && (
                    <button type="button" className="danger" disabled={revoke.busy} onClick={() => void revoke.run(d.deviceId)}>Revoke {d.name}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNotice error={revoke.error} />
      {canManage ? (
        <Card title="Link a new device">
          <form className="row" onSubmit={(e) => { e.preventDefault(); void provision.run(); }}>
            <Field label="Name of the new device" value={name} onChange={setName} hint="e.g. laptop" />
            <button type="submit" disabled={provision.busy}>Link a new device</button>
          </form>
          <ErrorNotice error={provision.error} />
          {link && (
            <div className="stack">
              <p>On the new device, open this site, choose <em>Link this browser</em>, and scan this code or type it. Anyone who sees it can become that device: show it to nobody else.</p>
              <QrCode value={link.code} label="QR code to link the new device" />
              <p className="mono" data-link-code={link.code}>{link.code}</p>
              {link.joined ? <Notice>The new device is in all your chats and receives messages from now on.</Notice> : <p role="status" className="muted">Waiting for the new device…</p>}
            </div>
          )}
        </Card>
      ) : (
        <p className="muted">Only your first device holds the account key: add or revoke devices there.</p>
      )}
    </Page>
  );
}
