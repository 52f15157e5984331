/**
 * Banks and text rules in the console: the banks with their signals, a new bank, a ThreatExchange/HMA file
 * (CSV, JSON, JSON Lines, TXT) imported in pieces behind a progress bar (the server parses and checks every
 * row; the last piece queues one retro-sweep of published posts), and the rules test: what the live rules
 * — and rules being drafted — catch in a text, highlighted, beside the letters the matcher compares after
 * folding evasions away (the moderation package's normaliser, run here in the browser).
 */
import { foldText } from '@doublelock/moderation/text/normalise';
import { BANK_IMPORT_PIECE_CHARS, type BankImportResult } from '@doublelock/protocol/banks';
import { useMemo, useState, type ReactNode } from 'react';
import { Link } from 'wouter';
import { signedIn } from '../channels/api.ts';
import { Card, ErrorNotice, Field, Loading, Notice, Page, Progress, useAction, useLoad } from '../ui/components.tsx';
import { bankFilePieces, formatOf } from './bankFile.ts';

interface BankSummary {
  name: string;
  description: string;
  counts: Record<string, number>;
}

/** A quarter of what the server takes, so a file of a few MB moves the bar several times. */
const PIECE = BANK_IMPORT_PIECE_CHARS / 4;

export function Banks() {
  const list = useLoad(async () => ((await (await signedIn()).get('/v1/moderation/banks')) as { banks: BankSummary[] }).banks, []);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const create = useAction(async () => {
    await (await signedIn()).post('/v1/moderation/banks', { name, description });
    setName('');
    setDescription('');
    list.reload();
  });
  return (
    <Page title="Banks and rules">
      <p><Link href="/">← Queue</Link></p>
      <Card title="Banks">
        {list.loading && <Loading what="banks" />}
        <ErrorNotice error={list.error} />
        {list.data && (list.data.length === 0 ? <p>No bank yet.</p> : (
          <table>
            <thead><tr><th scope="col">Bank</th><th scope="col">Live signals</th><th scope="col">About</th></tr></thead>
            <tbody>
              {list.data.map((b) => (
                <tr key={b.name} data-bank={b.name}>
                  <td>{b.name}</td>
                  <td>{Object.entries(b.counts).filter(([, n]) => n > 0).map(([type, n]) => `${type} ${n.toLocaleString()}`).join(' · ') || 'none'}</td>
                  <td>{b.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
        <form className="row" onSubmit={(e) => { e.preventDefault(); void create.run(); }}>
          <Field label="New bank name" value={name} onChange={setName} required />
          <Field label="What it holds" value={description} onChange={setDescription} />
          <button type="submit" disabled={create.busy}>Create bank</button>
        </form>
        <ErrorNotice error={create.error} />
      </Card>
      {list.data && list.data.length > 0 && <Import banks={list.data} onDone={list.reload} />}
      <RulesTest />
    </Page>
  );
}

function Import({ banks, onDone }: { banks: BankSummary[]; onDone: () => void }) {
  const [bank, setBank] = useState(banks[0]!.name);
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const run = useAction(async (file: File) => {
    const format = formatOf(file.name);
    if (!format) throw new Error(`Cannot tell the format of ${file.name}: name it .csv, .json, .jsonl or .txt.`);
    const pieces = bankFilePieces(await file.text(), format, PIECE);
    const total = pieces.reduce((n, p) => n + p.text.length, 0);
    const api = await signedIn();
    let done = 0;
    let imported = 0;
    let start: number | undefined;
    const skipped: BankImportResult['skipped'] = [];
    let sweepId: number | null = null;
    setProgress({ done, total });
    for (const [i, { text, lineOffset }] of pieces.entries()) {
      const last = i === pieces.length - 1;
      // The first piece tells where the import starts; the last asks for one retro-sweep from there.
      const r = (await api.post(`/v1/moderation/banks/${encodeURIComponent(bank)}/import`, { format, text, skipInvalid, sweep: last, ...(start !== undefined && { sweepAfter: start }) })) as BankImportResult;
      start ??= r.beforeSignalId;
      if (last) sweepId = r.sweepId;
      imported += r.imported;
      skipped.push(...r.skipped.map((x) => ({ ...x, line: x.line + lineOffset })));
      done += text.length;
      setProgress({ done, total });
    }
    onDone();
    return { imported, skipped, sweepId, pieces: pieces.length };
  });
  return (
    <Card title="Import a bank file">
      <p>ThreatExchange / HMA exports: CSV (<code>signal_type,signal_str,…</code>), JSON or JSON Lines, or TXT (<code>type value</code> a line). Every row is checked on the server; a malformed row stops its piece unless you skip such rows.</p>
      <div className="row">
        <div className="field">
          <label htmlFor="import-bank">Into bank</label>
          <select id="import-bank" value={bank} onChange={(e) => setBank(e.target.value)}>
            {banks.map((b) => <option key={b.name} value={b.name}>{b.name}</option>)}
          </select>
        </div>
        <label style={{ fontWeight: 400 }}><input type="checkbox" style={{ width: 'auto' }} checked={skipInvalid} onChange={(e) => setSkipInvalid(e.target.checked)} /> Skip malformed rows (they are listed)</label>
      </div>
      <div className="field">
        <label htmlFor="import-file">Bank file</label>
        <input id="import-file" type="file" accept=".csv,.json,.jsonl,.txt" disabled={run.busy} onChange={(e) => e.target.files?.[0] && void run.run(e.target.files[0])} />
      </div>
      {progress && <Progress label="Import" value={progress.done} max={progress.total} />}
      {run.data && (
        <Notice title="Imported">
          {run.data.imported.toLocaleString()} signal(s) in {run.data.pieces} piece(s){run.data.skipped.length > 0 && `, ${run.data.skipped.length} malformed row(s) skipped`}.
          {run.data.sweepId !== null && ` Published posts are being checked against them (retro-sweep #${run.data.sweepId}).`}
          {run.data.skipped.length > 0 && <ul>{run.data.skipped.slice(0, 10).map((s) => <li key={s.line}>line {s.line}: {s.error}</li>)}</ul>}
        </Notice>
      )}
      <ErrorNotice error={run.error} />
    </Card>
  );
}

interface RuleMatch {
  rule: string;
  bank: string;
  action: string;
  labels: string[];
  start: number;
  end: number;
  text: string;
  allowed: boolean;
  candidate: boolean;
}

/** The text with each match's span marked (overlapping spans merged). */
function Highlighted({ text, matches }: { text: string; matches: RuleMatch[] }) {
  const spans = [...matches].filter((m) => !m.allowed).sort((a, b) => a.start - b.start);
  const out: ReactNode[] = [];
  let at = 0;
  for (const m of spans) {
    if (m.end <= at) continue;
    const from = Math.max(at, m.start);
    if (from > at) out.push(text.slice(at, from));
    out.push(<mark key={from}>{text.slice(from, m.end)}</mark>);
    at = m.end;
  }
  out.push(text.slice(at));
  return <p data-highlighted style={{ whiteSpace: 'pre-wrap' }}>{out}</p>;
}

function RulesTest() {
  const [text, setText] = useState('');
  const [rules, setRules] = useState('');
  const folded = useMemo(() => (text ? foldText(text).letters.map((l) => l[0]).join('') : ''), [text]);
  const test = useAction(async () => {
    const candidates = rules.split('\n').map((r) => r.trim()).filter(Boolean);
    return { text, matches: ((await (await signedIn()).post('/v1/moderation/rules/test', { text, rules: candidates })) as { matches: RuleMatch[] }).matches };
  });
  return (
    <Card title="Rules test">
      <form className="stack" onSubmit={(e) => { e.preventDefault(); void test.run(); }}>
        <Field label="Text to test" multiline value={text} onChange={setText} required />
        <p className="muted" aria-live="polite">What the rules compare (evasions folded away): <code data-folded>{folded || '—'}</code></p>
        <Field label="Rules being drafted (one a line; not stored)" hint="keyword, “two words”, *stem*, #hashtag" multiline value={rules} onChange={setRules} />
        <button type="submit" disabled={test.busy}>Test</button>
      </form>
      <ErrorNotice error={test.error} />
      {test.data && (test.data.matches.length === 0 ? <Notice>No rule catches this text.</Notice> : (
        <>
          <Highlighted text={test.data.text} matches={test.data.matches} />
          <table>
            <thead><tr><th scope="col">Caught</th><th scope="col">Rule</th><th scope="col">From</th><th scope="col">Action</th><th scope="col">Where</th></tr></thead>
            <tbody>
              {test.data.matches.map((m, i) => (
                <tr key={i} data-rule={m.rule}>
                  <td>“{m.text}”{m.allowed && ' (allowed)'}</td>
                  <td>{m.rule}</td>
                  <td>{m.candidate ? 'draft' : m.bank}{m.labels.length > 0 && ` (${m.labels.join(', ')})`}</td>
                  <td>{m.action}</td>
                  <td>{m.start}–{m.end}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ))}
    </Card>
  );
}
