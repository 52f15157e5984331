/**
 * Crisis mode (the Christchurch Call's crisis protocol): an administrator declares an incident; uploads near
 * its hashes are then held for review at a wider radius. Hashes are added in bulk from a list, one a line
 * (`pdq,<hex>`, `md5,<hex>`, `sha256,<hex>`, `url,<url>`, or a bare PDQ hex), sent in batches with a progress
 * bar; the server checks each one (the moderation package's prepareSignal). The bank file formats of
 * `doublelock bank import` are parsed by Node-only code and have no HTTP route yet.
 */
import { useState } from 'react';
import { Link } from 'wouter';
import { signedIn } from '../channels/api.ts';
import { Card, ErrorNotice, Field, Loading, Notice, Page, Progress, useAction, useLoad } from '../ui/components.tsx';

interface Incident {
  id: number;
  name: string;
  description: string;
  radius: number;
  declaredBy: string;
  declaredAt: number;
  closedAt: number | null;
}

const BATCH = 500;

export function Crisis() {
  const list = useLoad(async () => ((await (await signedIn()).get('/v1/moderation/incidents')) as { incidents: Incident[] }).incidents, []);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const declare = useAction(async () => {
    await (await signedIn()).post('/v1/moderation/incidents', { name, description, radius: 40 });
    setName('');
    setDescription('');
    list.reload();
  });
  return (
    <Page title="Crisis mode">
      <p><Link href="/">← Queue</Link></p>
      {list.loading && <Loading what="incidents" />}
      <ErrorNotice error={list.error} />
      {list.data?.map((i) => <IncidentCard key={i.id} incident={i} onChange={list.reload} />)}
      <Card title="Declare an incident">
        <p>While it is open, uploads within distance 40 of its hashes are held for a moderator instead of published.</p>
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void declare.run(); }}>
          <Field label="Incident name" value={name} onChange={setName} required />
          <Field label="What is happening" multiline value={description} onChange={setDescription} required />
          <button type="submit" className="danger" disabled={declare.busy}>Declare the incident</button>
        </form>
        <ErrorNotice error={declare.error} />
      </Card>
    </Page>
  );
}

/** Splits a hash list into signals; the server validates each value. */
function hashList(text: string): Array<{ type: string; value: string; labels: string[] }> {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const comma = line.indexOf(',');
      return comma > 0 ? { type: line.slice(0, comma).trim().toLowerCase(), value: line.slice(comma + 1).trim(), labels: [] } : { type: 'pdq', value: line, labels: [] };
    });
}

function IncidentCard({ incident, onChange }: { incident: Incident; onChange: () => void }) {
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [summary, setSummary] = useState('');
  const upload = useAction(async (file: File) => {
    const signals = hashList(await file.text());
    if (signals.length === 0) throw new Error(`${file.name} holds no hash.`);
    const api = await signedIn();
    let added = 0;
    setProgress({ done: 0, total: signals.length });
    for (let i = 0; i < signals.length; i += BATCH) {
      added += ((await api.post(`/v1/moderation/incidents/${incident.id}/signals`, { signals: signals.slice(i, i + BATCH) })) as { added: number }).added;
      setProgress({ done: Math.min(i + BATCH, signals.length), total: signals.length });
    }
    return added;
  });
  const close = useAction(async () => {
    await (await signedIn()).post(`/v1/moderation/incidents/${incident.id}/close`, { summary });
    onChange();
  });
  const open = incident.closedAt === null;
  return (
    <Card title={`${open ? 'OPEN' : 'Closed'}: ${incident.name}`}>
      <p>{incident.description}</p>
      <p className="muted">Declared by {incident.declaredBy} on {new Date(incident.declaredAt).toLocaleString()}; radius {incident.radius}{incident.closedAt && `; closed ${new Date(incident.closedAt).toLocaleString()}`}.</p>
      {open && (
        <>
          <div className="field">
            <label htmlFor={`hashes-${incident.id}`}>Add hashes from a list (one a line: pdq,HEX or a bare PDQ hex; md5, sha256, url too)</label>
            <input id={`hashes-${incident.id}`} type="file" accept=".txt,.csv,text/plain" onChange={(e) => e.target.files?.[0] && void upload.run(e.target.files[0])} />
          </div>
          {progress && <Progress label="Hashes sent" value={progress.done} max={progress.total} />}
          {upload.data !== undefined && <Notice>Added {upload.data} hash(es).</Notice>}
          <ErrorNotice error={upload.error} />
          <form className="row" onSubmit={(e) => { e.preventDefault(); void close.run(); }}>
            <Field label="Debrief" value={summary} onChange={setSummary} required />
            <button type="submit" disabled={close.busy}>Close the incident</button>
          </form>
          <ErrorNotice error={close.error} />
        </>
      )}
    </Card>
  );
}
