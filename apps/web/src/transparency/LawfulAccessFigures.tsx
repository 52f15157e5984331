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
      {s.overdueUnsealings.length > 0 ? (
        <Notice kind="warning" title="Warrants whose unsealing is overdue">
          <p>The secrecy period of these warrants has ended, but the log holds no valid opening of their commitment.</p>
          <ul>
            {s.overdueUnsealings.map((o) => (
              <li key={o.commitment}>
                commitment {o.commitment.slice(0, 12)}… (revision {o.revision}): due {new Date(o.unsealBy).toISOString().slice(0, 10)}, {o.daysOverdue} day(s) overdue
              </li>
            ))}
          </ul>
        </Notice>
      ) : (
        <p>No unsealing is overdue: every warrant whose secrecy period has ended is opened in the log.</p>
      )}
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
