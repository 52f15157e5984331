/** The console's key: made in this browser or imported from a key file; shows whether the trust configuration names it. */
import type { TrustConfig } from '@doublelock/lawful-access/trust';
import { useState } from 'react';
import { Card, ErrorNotice, Field, Loading, Notice, useAction, useLoad } from '../ui/components.tsx';
import { createKey, forgetKey, importKeyFile, keyInfo, ROLE_NAMES, type Role } from './keyring.ts';

const TRUST_ROLE = { agency: 'agencies', secretary: 'secretaryOfState', judge: 'judicialCommissioners' } as const;

export function KeyCard({ role, trust, onChange }: { role: Role; trust: TrustConfig | undefined; onChange: () => void }) {
  const key = useLoad(() => keyInfo(role), [role]);
  const [id, setId] = useState('');
  const act = useAction(async (fn: () => Promise<unknown>) => {
    await fn();
    key.reload();
    onChange();
  });
  if (key.loading) return <Loading what="your key" />;
  const named = key.data && role !== 'custodian' ? trust?.[TRUST_ROLE[role]].find((k) => k.id === key.data!.id) : undefined;
  return (
    <Card title={`Your ${ROLE_NAMES[role]} key`}>
      {key.data ? (
        <>
          <p>Key <strong>{key.data.id}</strong>, public key <span className="mono">{key.data.publicKey}</span>, kept in this browser (wrapped by a key the browser will not export).</p>
          {role === 'custodian' && <Notice>A custodian accepts this key’s commands once it is started with <span className="mono">--operator-key {key.data.publicKey}</span>.</Notice>}
          {trust && role !== 'custodian' &&
            (named && named.publicKey === key.data.publicKey ? (
              <Notice>The deployment’s trust configuration names this key as {ROLE_NAMES[role]} “{key.data.id}”.</Notice>
            ) : (
              <Notice kind="warning" title="The trust configuration does not name this key">Nothing it signs will be accepted. Give the public key above to the trust root’s operator to be added, or import the key file of a named {ROLE_NAMES[role]}.</Notice>
            ))}
          <button type="button" className="secondary" onClick={() => void act.run(() => forgetKey(role))}>Remove this key from the browser</button>
        </>
      ) : (
        <div className="stack">
          <form className="row" onSubmit={(e) => { e.preventDefault(); void act.run(() => createKey(role, id.trim())); }}>
            <Field label="Key id" hint="as the trust configuration will name it, e.g. sos-1" value={id} onChange={setId} required />
            <button type="submit">Create a key in this browser</button>
          </form>
          <div className="field">
            <label htmlFor={`${role}-keyfile`}>Or import a key file</label>
            <input id={`${role}-keyfile`} type="file" accept=".json,application/json" onChange={(e) => e.target.files?.[0] && void act.run(() => importKeyFile(role, e.target.files![0]!))} />
          </div>
        </div>
      )}
      <ErrorNotice error={act.error ?? key.error} />
    </Card>
  );
}
