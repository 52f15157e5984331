/** This account's devices: the list, revoking one, and approving a new one by its QR code or typed code. */
import { useState } from 'react';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { QrScanner } from '../ui/QrScanner.tsx';
import { useDevice } from './useMessenger.ts';

export function Devices() {
  const m = useDevice();
  const devices = useLoad(() => m.devices(), [m]);
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [approved, setApproved] = useState<{ deviceId: string; inAllChats: boolean }>();
  const revoke = useAction(async (deviceId: string) => {
    await m.revokeDevice(deviceId);
    devices.reload();
  });
  // Certifies the new device's key with this device's own key, then adds it to every chat once it is up.
  const approve = useAction(async (text: string) => {
    setApproved(undefined);
    const result = await m.approveDevice(text, name.trim() || 'linked device');
    setApproved(result);
    setCode('');
    setName('');
    devices.reload();
  });
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
                  {!d.revokedAt && d.deviceId !== m.deviceId && (
                    <button type="button" className="danger" disabled={revoke.busy} onClick={() => void revoke.run(d.deviceId)}>Revoke {d.name}</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorNotice error={revoke.error} />
      <Card title="Approve a new device">
        <p>On the new device, open this site and choose <em>Link this browser</em>: it makes its own keys and shows a code. Scan it or type it here. Any of your devices can approve, and revoke, the others.</p>
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void approve.run(code); }}>
          <Field label="Name of the new device" value={name} onChange={setName} hint="e.g. laptop" />
          <Field label="Code shown on the new device" hint="name.XXXX-XXXX-…" value={code} onChange={setCode} required />
          <button type="submit" disabled={approve.busy}>{approve.busy ? 'Approving…' : 'Approve'}</button>
        </form>
        <QrScanner label="the new device’s code" onScan={(text) => { setCode(text); void approve.run(text); }} />
        <ErrorNotice error={approve.error} />
        {approve.busy && <p role="status" className="muted">Waiting for the new device…</p>}
        {approved && (approved.inAllChats ? <Notice>The new device is in all your chats and receives messages from now on.</Notice> : <Notice>The new device is approved; it joins your chats when it next comes online.</Notice>)}
      </Card>
    </Page>
  );
}
