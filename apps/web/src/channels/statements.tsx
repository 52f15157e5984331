/** The uploader's statements of reasons (DSA Art. 17), each with its redress and an appeal form (Art. 20). */
import { useState } from 'react';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { signedIn } from './api.ts';

interface Statement {
  id: number;
  puid: string;
  createdAt: number;
  reversed: boolean;
  statement: Record<string, unknown>;
  redress: { appealUntil: number | null; outOfCourt: string; judicial: string };
}

const words = (v: unknown) => (Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const plain = (code: string) => code.replace(/^[A-Z]+_(CATEGORY_|GROUND_|VISIBILITY_)?/, '').replace(/_/g, ' ').toLowerCase();

export function Statements() {
  const list = useLoad(async () => ((await (await signedIn()).get('/v1/statements')) as { statements: Statement[] }).statements, []);
  return (
    <Page title="Statements of reasons">
      <p>Each time we restrict something of yours, you get a statement saying what we did and why. You can appeal, free of charge; a person decides.</p>
      {list.loading && <Loading what="your statements" />}
      <ErrorNotice error={list.error} />
      {list.data?.length === 0 && <p>No decisions about your content.</p>}
      {list.data?.map((s) => <StatementCard key={s.id} s={s} />)}
    </Page>
  );
}

function StatementCard({ s }: { s: Statement }) {
  const [grounds, setGrounds] = useState('');
  const appeal = useAction(async () => (await signedIn()).post(`/v1/statements/${s.id}/appeal`, { grounds }));
  const st = s.statement;
  const open = s.redress.appealUntil !== null && s.redress.appealUntil > Date.now() && !s.reversed;
  return (
    <Card title={`Decision of ${new Date(s.createdAt).toLocaleDateString()}`}>
      <dl data-statement={s.id}>
        <dt>What we did</dt>
        <dd>{words(st.decision_visibility).split(', ').map(plain).join(', ') || words(st.decision_account)}</dd>
        <dt>Why</dt>
        <dd>{words(st.decision_facts)}</dd>
        <dt>Ground</dt>
        <dd>{plain(words(st.decision_ground))}{st.illegal_content_legal_ground ? `: ${words(st.illegal_content_legal_ground)}` : ''}{st.incompatible_content_ground ? `: ${words(st.incompatible_content_ground)}` : ''}</dd>
        <dt>Decided</dt>
        <dd>{st.automated_decision && words(st.automated_decision) !== 'AUTOMATED_DECISION_NOT_AUTOMATED' ? 'automatically' : 'by a person'}; reference {s.puid}</dd>
        <dt>Other routes</dt>
        <dd>{s.redress.outOfCourt} {s.redress.judicial}</dd>
      </dl>
      {s.reversed && <Notice>This decision was reversed.</Notice>}
      {open && !appeal.data && (
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void appeal.run(); }}>
          <Field label="Why the decision is wrong" multiline value={grounds} onChange={setGrounds} required />
          <button type="submit" disabled={appeal.busy}>Appeal</button>
        </form>
      )}
      <ErrorNotice error={appeal.error} />
      {appeal.data !== undefined && <Notice>Appeal received. A moderator who did not make the decision will review it.</Notice>}
    </Card>
  );
}
