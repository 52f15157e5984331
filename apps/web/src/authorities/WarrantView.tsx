/** A warrant, shown in full to the person about to sign, approve or submit it. */
import type { Warrant } from '@doublelock/lawful-access/warrant';

const day = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

export function WarrantView({ warrant }: { warrant: Warrant }) {
  return (
    <dl className="card">
      <dt>Warrant</dt>
      <dd className="mono">{warrant.id} (revision {warrant.revision}){warrant.urgent && ' — URGENT (s.24)'}</dd>
      <dt>Agency</dt>
      <dd>{warrant.agency}</dd>
      <dt>Targets</dt>
      <dd>{warrant.targets.join(', ')}</dd>
      <dt>Window</dt>
      <dd>{day(warrant.window.start)} to {day(warrant.window.end)}</dd>
      <dt>Grounds (s.20)</dt>
      <dd>{warrant.grounds.join(', ')}</dd>
      <dt>Products</dt>
      <dd>{warrant.products.map((p) => (p === 'cc' ? 'content (CC)' : 'metadata (IRI)')).join(', ')}, at most {warrant.limits.maxMessages} message(s)</dd>
      <dt>Necessity and proportionality</dt>
      <dd style={{ whiteSpace: 'pre-wrap' }}>{warrant.justification}</dd>
    </dl>
  );
}
