/** Warrants and decryptions per month, recomputed from the log's entries by the lawful-access package. */
import { BarChart } from '../ui/BarChart.tsx';
import { Card, Notice } from '../ui/components.tsx';
import type { FullAudit } from './statistics.ts';

export default function LawfulAccessFigures({ audit, enabled }: { audit: FullAudit; enabled: boolean }) {
  if (!enabled || !audit.lawfulAccess) {
    return (
      <Card title="Warrants and decryptions">
        <p>Lawful access is switched off on this deployment: there is no escrow field in any message, and no warrant can be served.</p>
      </Card>
    );
  }
  const s = audit.lawfulAccess;
  const months = [...new Set([...s.warrantsByMonth.map((w) => w.month), ...s.decryptedByMonth.map((d) => d.month)])].sort();
  const count = <T extends { month: string }>(rows: T[], f: (r: T) => number) => months.map((m) => rows.filter((r) => r.month === m).reduce((a, r) => a + f(r), 0));
  return (
    <Card title="Warrants and decryptions, recomputed from the log">
      {months.length === 0 ? <p>No warrant has been logged yet.</p> : (
        <BarChart
          title="Warrants and decrypted messages per month"
          labels={months}
          series={[
            { name: 'warrants issued', color: '#1846b4', values: count(s.warrantsByMonth, (r) => r.issued) },
            { name: 'warrants modified', color: '#7a5c00', values: count(s.warrantsByMonth, (r) => r.modified) },
            { name: 'messages decrypted', color: '#a4161a', values: count(s.decryptedByMonth, (r) => r.messages) },
          ]}
        />
      )}
      <p>{s.warrants.length} warrant(s) in the log; {s.warrants.reduce((a, w) => a + w.messagesDecrypted, 0)} message(s) decrypted in all.</p>
      {s.anomalies.length > 0 ? (
        <Notice kind="warning" title="Anomalies found in the log">
          <ul>{s.anomalies.map((a, i) => <li key={i}>{a}</li>)}</ul>
        </Notice>
      ) : (
        <p>No anomaly: every release record verifies and names a logged warrant.</p>
      )}
    </Card>
  );
}
