/**
 * The moderation console (after Bluesky's Ozone): the queue with deadlines counting down, a case with what
 * matched and its media blurred and greyscale until the moderator chooses to look, claim, decide (with a
 * statement of reasons for every restriction), and appeals. Rules and clocks are the cases package's; this
 * only shows them and sends the moderator's choices.
 */
import { useEffect, useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { signedIn } from '../channels/api.ts';
import { Banks } from './Banks.tsx';
import { Crisis } from './Crisis.tsx';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';

interface QueueItem {
  id: number;
  source: string;
  summary: string;
  url: string;
  state: string;
  assignee: string | null;
  version: number;
  dueAt: number;
  urgency: string;
  matches: Array<{ bank: string; signalId: number; distance?: number; labels: string[] }>;
}
interface CaseDetail {
  case: QueueItem & { category: string; receivedAt: number };
  content: { url: string; owner: string | null; text: string; media?: Array<{ url: string; type: string }>; state?: Record<string, unknown> } | null;
  notices: Array<{ id: number; kind: string; organisation: string | null; explanation: string; category: string }>;
  order: { reference: string; authority: string; memberState: string; receivedAt: number } | null;
  decision: unknown;
  events: Array<{ event: string; at?: number; actor?: string }>;
}

/** Server time, ticking every second: deadlines count down on screen. */
function useServerClock(serverNow: number | undefined): number {
  const [offset, setOffset] = useState(0);
  const [, tick] = useState(0);
  useEffect(() => {
    if (serverNow !== undefined) setOffset(serverNow - Date.now());
  }, [serverNow]);
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 1000);
    return () => window.clearInterval(t);
  }, []);
  return Date.now() + offset;
}

function countdown(dueAt: number, now: number): string {
  const ms = dueAt - now;
  const abs = Math.abs(ms);
  const h = Math.floor(abs / 3_600_000);
  const m = Math.floor((abs % 3_600_000) / 60_000);
  const s = Math.floor((abs % 60_000) / 1000);
  const text = h > 0 ? `${h}h ${m}m` : `${m}m ${String(s).padStart(2, '0')}s`;
  return ms < 0 ? `OVERDUE by ${text}` : `due in ${text}`;
}

export default function ModerationApp() {
  return (
    <Switch>
      <Route path="/case/:id">{(p) => <CasePage id={Number(p.id)} />}</Route>
      <Route path="/appeals"><Appeals /></Route>
      <Route path="/crisis"><Crisis /></Route>
      <Route path="/banks"><Banks /></Route>
      <Route><Queue /></Route>
    </Switch>
  );
}

function Queue() {
  const queue = useLoad(async () => (await (await signedIn()).get('/v1/moderation/cases')) as { now: number; cases: QueueItem[] }, []);
  const now = useServerClock(queue.data?.now);
  return (
    <Page title="Moderation queue">
      <p><Link href="/appeals">Appeals</Link> · <Link href="/crisis">Crisis mode</Link> · <Link href="/banks">Banks and rules</Link></p>
      {queue.loading && <Loading what="the queue" />}
      <ErrorNotice error={queue.error} />
      {queue.data && (queue.data.cases.length === 0 ? <p>Nothing waiting.</p> : (
        <table>
          <caption className="sr-only">Cases, most urgent first</caption>
          <thead><tr><th scope="col">Case</th><th scope="col">Source</th><th scope="col">Deadline</th><th scope="col">State</th></tr></thead>
          <tbody>
            {queue.data.cases.map((c) => (
              <tr key={c.id}>
                <td><Link href={`/case/${c.id}`}>#{c.id} {c.summary.slice(0, 80)}</Link></td>
                <td>{c.source.replace(/_/g, ' ')}</td>
                <td data-due={c.dueAt} style={{ fontWeight: c.dueAt - now < 15 * 60_000 ? 700 : 400 }}>{countdown(c.dueAt, now)}</td>
                <td>{c.state}{c.assignee && ` (${c.assignee})`}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ))}
      <button type="button" className="secondary" onClick={queue.reload}>Refresh</button>
    </Page>
  );
}

/** Media blurred and greyscale by default; the moderator chooses to see each item (wellbeing, as Ozone does). */
function GuardedMedia({ media }: { media: { url: string; type: string } }) {
  const [revealed, setRevealed] = useState(false);
  const src = useLoad(async () => (await signedIn()).objectUrl(media.url), [media.url]);
  useEffect(() => () => { if (src.data) URL.revokeObjectURL(src.data); }, [src.data]);
  const style = revealed ? {} : { filter: 'blur(24px) grayscale(1)' };
  if (!src.data) return src.error ? <ErrorNotice error={src.error} /> : <Loading what="the media" />;
  return (
    <figure style={{ margin: '.5rem 0' }}>
      {media.type.startsWith('video') ? <video src={src.data} controls={revealed} style={{ maxWidth: '100%', maxHeight: '20rem', ...style }} aria-label="Reported video" /> : <img src={src.data} alt="Reported image" style={{ maxWidth: '100%', maxHeight: '20rem', ...style }} data-revealed={revealed} />}
      <figcaption>
        <button type="button" className="secondary" onClick={() => setRevealed(!revealed)}>{revealed ? 'Hide again' : 'Reveal this media'}</button>
      </figcaption>
    </figure>
  );
}

/** PDQ's own threshold: at or under this many differing bits of 256, two pictures are the same picture. */
const PDQ_THRESHOLD = 31;

/**
 * A perceptual match side by side: the upload (guarded like all media) beside the bank item it matched.
 * Banks hold hashes, never pictures, so the bank's side is what is known of the item: its labels, its
 * bank, and how far its hash is from the upload's.
 */
function PdqSideBySide({ match, media }: { match: QueueItem['matches'][number]; media: { url: string; type: string } | undefined }) {
  const d = match.distance!;
  return (
    <div className="side-by-side" data-match={match.signalId} style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(14rem, 1fr))', gap: '1rem', marginBottom: '1rem' }}>
      <div>
        <h3>The upload</h3>
        {media ? <GuardedMedia media={media} /> : <p className="muted">No image in this content.</p>}
      </div>
      <div>
        <h3>The bank’s item</h3>
        <p><strong>{match.labels.join(', ') || 'no label'}</strong> in bank {match.bank} (signal {match.signalId})</p>
        <p data-distance={d}>PDQ distance {d} of 256 bits ({d <= PDQ_THRESHOLD ? 'the same picture' : 'near'}: PDQ counts {PDQ_THRESHOLD} or fewer as the same picture)</p>
        <meter min={0} max={256} low={PDQ_THRESHOLD} high={64} optimum={0} value={d} aria-label={`PDQ distance ${d} of 256`} style={{ width: '100%' }} />
        <p className="muted">The bank holds no reference image: hash-sharing banks exchange hashes and labels, never the pictures, so there is nothing to show beside the upload.</p>
      </div>
    </div>
  );
}

const CATEGORIES = ['STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY', 'STATEMENT_CATEGORY_VIOLENCE', 'STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH', 'STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE'];

function CasePage({ id }: { id: number }) {
  const detail = useLoad(async () => (await (await signedIn()).get(`/v1/moderation/cases/${id}`)) as CaseDetail, [id]);
  const now = useServerClock(undefined);
  const [version, setVersion] = useState<number>();
  const [action, setAction] = useState<'remove' | 'none' | 'label'>('remove');
  const [law, setLaw] = useState('Regulation (EU) 2021/784 Art. 2(7)');
  const [facts, setFacts] = useState('');
  const [category, setCategory] = useState(CATEGORIES[0]!);
  const claim = useAction(async () => {
    const r = (await (await signedIn()).post(`/v1/moderation/cases/${id}/claim`)) as { version: number };
    setVersion(r.version);
    detail.reload();
  });
  const [assignee, setAssignee] = useState('');
  const assign = useAction(async () => {
    await (await signedIn()).post(`/v1/moderation/cases/${id}/assign`, { moderator: assignee });
    detail.reload();
  });
  const decide = useAction(async () => {
    const ground = action === 'none' ? { kind: 'none', explanation: facts } : { kind: 'illegal', law, explanation: facts };
    const actions = action === 'remove' ? [{ type: 'remove' }] : action === 'label' ? [{ type: 'label', label: 'Sensitive: terrorism-related reporting' }] : [];
    await (await signedIn()).post(`/v1/moderation/cases/${id}/decision`, { version, actions, ground, category, keywords: [], facts });
    detail.reload();
    return true;
  });
  if (detail.loading && !detail.data) return <Loading what="the case" />;
  if (!detail.data) return <Page title={`Case ${id}`}><ErrorNotice error={detail.error} /></Page>;
  const { case: c, notices, order } = detail.data;
  // Media through the case (held and removed files too), fetched with the moderator's session.
  const content = detail.data.content && { ...detail.data.content, media: detail.data.content.media?.map((m) => ({ ...m, url: m.url.replace(/^\/v1\/media\/(\d+)$/, `/v1/moderation/cases/${id}/media/$1`) })) };
  return (
    <Page title={`Case ${id}`}>
      <p><Link href="/">← Queue</Link></p>
      <p>
        <strong>{c.source.replace(/_/g, ' ')}</strong> · {c.state} · <span data-due={c.dueAt}>{c.state === 'decided' ? 'decided' : countdown(c.dueAt, now)}</span>
      </p>
      {order && <Notice kind="warning" title={`Removal order ${order.reference}`}>From {order.authority} ({order.memberState}), received {new Date(order.receivedAt).toLocaleString()}: the law gives one hour.</Notice>}
      <Card title="The content">
        {content ? (
          <>
            <p className="muted">By {content.owner ?? 'unknown'} · <a href={content.url}>{content.url}</a></p>
            <p style={{ whiteSpace: 'pre-wrap' }}>{content.text}</p>
            {content.media?.map((m) => <GuardedMedia key={m.url} media={m} />)}
          </>
        ) : <p>The content could not be found (deleted, or not on this platform).</p>}
      </Card>
      {c.matches.length > 0 && (
        <Card title="What matched">
          {c.matches.filter((m) => m.distance !== undefined).map((m) => <PdqSideBySide key={`${m.bank}-${m.signalId}`} match={m} media={content?.media?.find((x) => x.type.startsWith('image'))} />)}
          <table>
            <thead><tr><th scope="col">Bank</th><th scope="col">Signal</th><th scope="col">Distance</th><th scope="col">Labels</th></tr></thead>
            <tbody>{c.matches.map((m) => <tr key={`${m.bank}-${m.signalId}`}><td>{m.bank}</td><td>{m.signalId}</td><td>{m.distance ?? 'exact'}</td><td>{m.labels.join(', ')}</td></tr>)}</tbody>
          </table>
        </Card>
      )}
      {notices.length > 0 && (
        <Card title="Notices">
          <ul>{notices.map((n) => <li key={n.id}>{n.organisation ?? (n.kind === 'article16' ? 'A notifier' : n.kind)}: {n.explanation}</li>)}</ul>
        </Card>
      )}
      {c.state !== 'decided' && (
        <Card title="Decide">
          {version === undefined ? (
            <button type="button" onClick={() => void claim.run()} disabled={claim.busy}>Claim this case</button>
          ) : (
            <form className="stack" onSubmit={(e) => { e.preventDefault(); void decide.run(); }}>
              <fieldset>
                <legend>Action</legend>
                {(['remove', 'label', 'none'] as const).map((a) => (
                  <label key={a} style={{ fontWeight: 400 }}><input type="radio" name="action" style={{ width: 'auto' }} checked={action === a} onChange={() => setAction(a)} /> {a === 'remove' ? 'Remove' : a === 'label' ? 'Label it' : 'No action'}</label>
                ))}
              </fieldset>
              {action !== 'none' && <Field label="Law it breaks" value={law} onChange={setLaw} required />}
              <div className="field">
                <label htmlFor="category">Category</label>
                <select id="category" value={category} onChange={(e) => setCategory(e.target.value)}>
                  {CATEGORIES.map((k) => <option key={k} value={k}>{k.replace('STATEMENT_CATEGORY_', '').replace(/_/g, ' ').toLowerCase()}</option>)}
                </select>
              </div>
              <Field label="Facts relied on (the uploader reads this)" multiline value={facts} onChange={setFacts} required />
              <button type="submit" disabled={decide.busy}>Decide</button>
            </form>
          )}
          <ErrorNotice error={claim.error ?? decide.error} />
          <form className="row" onSubmit={(e) => { e.preventDefault(); void assign.run(); }}>
            <Field label="Assign to moderator" hint="administrators" value={assignee} onChange={setAssignee} required />
            <button type="submit" className="secondary" disabled={assign.busy}>Assign</button>
          </form>
          <ErrorNotice error={assign.error} />
        </Card>
      )}
      {decide.data && <Notice>Decided. The statement of reasons has gone to the uploader.</Notice>}
    </Page>
  );
}

interface AppealItem {
  id: number;
  grounds: string;
  state: string;
  version: number;
  dueAt?: number;
  decisionId: number;
}

function Appeals() {
  const list = useLoad(async () => ((await (await signedIn()).get('/v1/moderation/appeals')) as { appeals: AppealItem[] }).appeals, []);
  return (
    <Page title="Appeals">
      <p><Link href="/">← Queue</Link></p>
      {list.loading && <Loading what="appeals" />}
      <ErrorNotice error={list.error} />
      {list.data?.length === 0 && <p>No appeal waiting.</p>}
      {list.data?.map((a) => <AppealCard key={a.id} appeal={a} onDone={list.reload} />)}
    </Page>
  );
}

function AppealCard({ appeal, onDone }: { appeal: AppealItem; onDone: () => void }) {
  const [reasons, setReasons] = useState('');
  const [version, setVersion] = useState<number>();
  const act = useAction(async (step: 'claim' | 'upheld' | 'reversed') => {
    const api = await signedIn();
    if (step === 'claim') return setVersion(((await api.post(`/v1/moderation/appeals/${appeal.id}/claim`)) as { version: number }).version);
    await api.post(`/v1/moderation/appeals/${appeal.id}/decision`, { version, outcome: step, reasons });
    onDone();
  });
  return (
    <Card title={`Appeal ${appeal.id}`}>
      <p>The uploader says: “{appeal.grounds}”</p>
      {version === undefined ? (
        <button type="button" onClick={() => void act.run('claim')} disabled={act.busy}>Claim this appeal</button>
      ) : (
        <div className="stack">
          <Field label="Reasons for the outcome" multiline value={reasons} onChange={setReasons} required />
          <div className="row">
            <button type="button" onClick={() => void act.run('upheld')} disabled={act.busy}>Uphold the decision</button>
            <button type="button" className="secondary" onClick={() => void act.run('reversed')} disabled={act.busy}>Reverse it and reinstate</button>
          </div>
        </div>
      )}
      <ErrorNotice error={act.error} />
    </Card>
  );
}
