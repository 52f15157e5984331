/** The public transparency page: anyone can check the log in their own browser, and see what was done under warrants. */
import { lazy, Suspense, useEffect, useState } from 'react';
import { responseError } from '../ui/errors.ts';
import { Card, ErrorNotice, Field, Loading, Notice, Page, Progress, useAction, useLoad } from '../ui/components.tsx';
import type { CheckpointReport, PublicConfig } from './checkpoint.ts';
import type { FullAudit } from './statistics.ts';

// The figures render only after the full audit, so they load with it.
const LawfulAccessFigures = lazy(() => import('./LawfulAccessFigures.tsx'));
// The log's verifier (Ed25519, Merkle proofs) is most of this page's code: it loads beside the first paint
// rather than before it, starting as soon as this chunk runs (bench:web counts only what blocks the paint).
const checks = import('./checkpoint.ts');
const loadChecks = () => checks;

async function publicConfig(): Promise<PublicConfig> {
  const response = await fetch('/v1/app-config', { cache: 'no-store' });
  if (!response.ok) throw await responseError(response);
  return (await response.json()) as PublicConfig;
}

export default function TransparencyPage() {
  const [tick, setTick] = useState(0);
  const config = useLoad(publicConfig, []);
  const report = useLoad(async () => (config.data ? (await loadChecks()).verifyLatestCheckpoint(config.data) : undefined), [config.data, tick]);
  return (
    <Page title="Transparency">
      <p>
        Every warrant, every decryption and every change to anyone’s devices is written into a public, append-only log. This page checks the log here, in your
        browser, with the log’s own verifier: it does not take the server’s word for anything.
      </p>
      <ErrorNotice error={config.error} />
      {report.loading && <Loading what="the latest checkpoint" />}
      {report.error !== undefined && (
        <Notice kind="warning" title="This log failed verification">
          {(report.error as Error).message}. Do not trust what this server says about warrants or devices, and tell others: keep a screenshot of this page.
        </Notice>
      )}
      {report.data && <CheckpointCard report={report.data} />}
      <PinCard onPinned={() => setTick((t) => t + 1)} />
      {report.data && config.data && <Audit config={config.data} report={report.data} />}
    </Page>
  );
}

function CheckpointCard({ report }: { report: CheckpointReport }) {
  const c = report.checkpoint;
  return (
    <Card title="Latest checkpoint: verified">
      <Notice title="The signature verifies">
        The log signed a tree of {c.size} entries with the key pinned in this browser
        {report.previous ? `, and it extends the tree of ${report.previous.size} entries this browser saw on ${new Date(report.previous.at).toLocaleString()}.` : '.'}
      </Notice>
      <dl>
        <dt>Log</dt>
        <dd className="mono">{c.origin}</dd>
        <dt>Entries</dt>
        <dd data-tree-size={c.size}>{c.size}</dd>
        <dt>Root hash</dt>
        <dd className="mono">{report.rootHex}</dd>
        <dt>Log key pinned here</dt>
        <dd className="mono">{report.logKey}{report.firstUse && ' (pinned now, on your first visit: compare it with one published elsewhere)'}</dd>
        <dt>Witness cosignatures</dt>
        <dd>
          {report.witnesses.length === 0 ? 'none yet' : (
            <ul>{report.witnesses.map((w) => <li key={w.keyId}>{w.name} ({w.keyId}) cosigned at {w.time}</li>)}</ul>
          )}
        </dd>
      </dl>
      <details>
        <summary>The signed note</summary>
        <pre className="mono">{c.note}</pre>
      </details>
    </Card>
  );
}

function PinCard({ onPinned }: { onPinned: () => void }) {
  const [key, setKey] = useState('');
  const pin = useAction(async () => {
    (await loadChecks()).pinLogKey(key.trim());
    setKey('');
    onPinned();
    return true;
  });
  return (
    <Card title="Pin the log key yourself">
      <p>Got the log’s key from a source you trust (a newspaper, a witness, a friend)? Pin it here; this browser then checks against it instead.</p>
      <form className="row" onSubmit={(e) => { e.preventDefault(); void pin.run(); }}>
        <Field label="Log verifier key" value={key} onChange={setKey} required />
        <button type="submit">Pin</button>
      </form>
      <ErrorNotice error={pin.error} />
    </Card>
  );
}

function Audit({ config, report }: { config: PublicConfig; report: CheckpointReport }) {
  const [progress, setProgress] = useState({ done: 0, total: report.checkpoint.size });
  const [audit, setAudit] = useState<FullAudit>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    import('./statistics.ts')
      .then(({ auditEverything }) => auditEverything(config, report.logKey, (done, total) => live && setProgress({ done, total })))
      .then((a) => live && setAudit(a), (e: unknown) => live && setError(e));
    return () => {
      live = false;
    };
  }, [config, report]);
  return (
    <>
      <Card title="Every entry, checked">
        {!audit && !error && <Progress label="Entries downloaded and hashed" value={progress.done} max={progress.total} />}
        {audit && <Notice title="All entries match the signed root">This browser downloaded all {audit.entries} entries and recomputed the root hash the log signed.</Notice>}
        {error !== undefined && <Notice kind="warning" title="The entries do not match the signed log">{(error as Error).message}</Notice>}
      </Card>
      {audit && (
        <Suspense fallback={<Loading what="the figures" />}>
          <LawfulAccessFigures audit={audit} enabled={config.lawfulAccess} />
        </Suspense>
      )}
    </>
  );
}
