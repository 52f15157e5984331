/**
 * The custodians' console: a custodian's human operator reviews each share request its custodian holds
 * (`custodian serve --operator-key`), sees every check recomputed in this browser (custodian.ts), and
 * approves or refuses it with reasons, signed with the operator key held here. Decided requests stay listed
 * with who decided what, when and why.
 */
import type { TrustConfig } from '@doublelock/lawful-access/trust';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import type { OperatorReview } from '@doublelock/protocol/custodianOperator';
import { useEffect, useState } from 'react';
import { Card, ErrorNotice, Field, Loading, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { checkReview, decide, listReviews, type ReviewPage } from './custodian.ts';
import { KeyCard } from './KeyCard.tsx';
import { WarrantView } from './WarrantView.tsx';

const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

/** Requests shown (and checked in this browser) per page; the custodian serves every one, page by page. */
export const REVIEWS_PER_PAGE = 10;

type Custodian = TrustConfig['custodians'][number];

/**
 * The custodian's reviews in one state, a page at a time: the first page on load (and on `reload`), the
 * next one appended on `more()` from the cursor the last page ended at.
 */
function useReviewPages(custodian: Custodian | undefined, state: 'pending' | 'decided', reloads: number) {
  const [list, setList] = useState<ReviewPage>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  useEffect(() => {
    setList(undefined);
    if (!custodian) return;
    let live = true;
    setLoading(true);
    setError(undefined);
    listReviews(custodian, state, null, REVIEWS_PER_PAGE).then(
      (page) => live && setList(page),
      (e: unknown) => live && setError(e),
    ).finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [custodian, state, reloads]);
  const more = async () => {
    if (!custodian || !list?.next) return;
    setLoading(true);
    try {
      const page = await listReviews(custodian, state, list.next, REVIEWS_PER_PAGE);
      // A review decided meanwhile may already be listed (the decided list runs newest first): keep one of each.
      setList((l) => l && { reviews: [...l.reviews, ...page.reviews.filter((r) => !l.reviews.some((k) => k.reviewId === r.reviewId))], next: page.next, total: page.total });
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  /** Takes a decided review out of the pending list without reloading the pages already shown. */
  const remove = (reviewId: string) => setList((l) => l && { ...l, reviews: l.reviews.filter((r) => r.reviewId !== reviewId), total: l.total - 1 });
  return { list, error, loading, more, remove };
}

function MoreButton({ pages, what }: { pages: ReturnType<typeof useReviewPages>; what: string }) {
  const { list, loading } = pages;
  if (!list?.next) return null;
  const left = list.total - list.reviews.length;
  return (
    <button type="button" className="secondary" disabled={loading} onClick={() => void pages.more()}>
      Show {Math.min(left, REVIEWS_PER_PAGE)} more {what} ({left} not shown)
    </button>
  );
}

export function CustodianConsole({ trust, error }: { trust: TrustConfig | undefined; error: unknown }) {
  const [index, setIndex] = useState<number>();
  const [tick, setTick] = useState(0);
  const [decisions, setDecisions] = useState(0);
  const custodian = trust?.custodians.find((c) => c.index === index);
  const pending = useReviewPages(custodian, 'pending', tick);
  const decided = useReviewPages(custodian, 'decided', tick + decisions);
  return (
    <Page title="Custodian operator">
      <ErrorNotice error={error} />
      <KeyCard role="custodian" trust={trust} onChange={() => setTick(tick + 1)} />
      <Card title="Your custodian">
        {trust ? (
          <div className="field">
            <label htmlFor="custodian-choice">Custodian</label>
            <select id="custodian-choice" value={index ?? ''} onChange={(e) => setIndex(e.target.value ? Number(e.target.value) : undefined)}>
              <option value="">Choose…</option>
              {trust.custodians.map((c) => (
                <option key={c.index} value={c.index}>{c.index}. {c.name} ({c.url})</option>
              ))}
            </select>
          </div>
        ) : (
          <Loading what="the trust configuration" />
        )}
        {custodian && (
          <button type="button" className="secondary" disabled={pending.loading} onClick={() => setTick(tick + 1)}>Refresh</button>
        )}
      </Card>
      {custodian && (
        <>
          <ErrorNotice error={pending.error} />
          <Card title={`Waiting for your decision (${pending.list?.total ?? '…'})`}>
            {pending.loading && !pending.list && <Loading what="the requests" />}
            {pending.list && pending.list.total === 0 && <p className="muted">Nothing waits.</p>}
            {pending.list && pending.list.reviews.length < pending.list.total && (
              <p className="muted">Showing the {pending.list.reviews.length} oldest of {pending.list.total}.</p>
            )}
            {pending.list?.reviews.map((r) => (
              <PendingReview
                key={r.reviewId}
                review={r}
                trust={trust!}
                custodian={custodian}
                onDecided={() => {
                  pending.remove(r.reviewId);
                  setDecisions((d) => d + 1);
                }}
              />
            ))}
            <MoreButton pages={pending} what="requests" />
          </Card>
          <Card title="Decided">
            <ErrorNotice error={decided.error} />
            {!decided.list || decided.list.total === 0 ? (
              <p className="muted">{decided.list ? 'No decision yet.' : 'Loading the decisions…'}</p>
            ) : (
              <table>
                <caption className="muted">Every decision, newest first ({decided.list.total} in all), with the operator key that signed it</caption>
                <thead>
                  <tr><th scope="col">Warrant</th><th scope="col">Message</th><th scope="col">Decision</th><th scope="col">Reasons</th><th scope="col">When</th></tr>
                </thead>
                <tbody>
                  {decided.list.reviews.map((r) => (
                    <tr key={r.reviewId}>
                      <td className="mono">{r.warrant.id}</td>
                      <td>{describeDelivery(r)}</td>
                      <td>{r.state === 'approved' ? 'Approved' : 'Refused'}</td>
                      <td>{r.decision?.reason}</td>
                      <td>{r.decision ? when(r.decision.decidedAt) : ''}<br /><span className="mono hint">{r.decision?.operatorKey.slice(0, 12)}…</span></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <MoreButton pages={decided} what="decisions" />
          </Card>
        </>
      )}
    </Page>
  );
}

function describeDelivery(r: OperatorReview): string {
  const record = (r.delivery as { record?: { sender?: string; recipients?: string[]; serverTime?: number } }).record;
  return record ? `${record.sender} → ${record.recipients?.join(', ')}, ${record.serverTime ? when(record.serverTime) : ''}` : '';
}

function PendingReview({ review, trust, custodian, onDecided }: { review: OperatorReview; trust: TrustConfig; custodian: Custodian; onDecided: () => void }) {
  const checks = useLoad(() => checkReview(review, trust), [review.reviewId]);
  const [reason, setReason] = useState('');
  const act = useAction(async (decision: 'approve' | 'refuse') => {
    if (!reason.trim()) throw new Error(`Write your reasons: they are kept with the decision.`);
    await decide(custodian, review.reviewId, decision, reason.trim());
    onDecided();
  });
  const warrant = (review.warrant.signed as SignedWarrant).warrant;
  const allPass = checks.data?.every((c) => c.ok) ?? false;
  return (
    <article className="card" aria-label={`Request ${review.requestId} under warrant ${review.warrant.id}`}>
      <h3 style={{ marginTop: 0 }}>Warrant {review.warrant.id}: {describeDelivery(review)}</h3>
      <p className="muted">Asked by {review.agency} at {when(review.createdAt)}.</p>
      {checks.loading && <Loading what="the checks" />}
      {checks.data && (
        <ul aria-label="Checks" style={{ listStyle: 'none', paddingLeft: 0 }}>
          {checks.data.map((c) => (
            <li key={c.name} data-check={c.ok ? 'pass' : 'fail'}>
              <strong>{c.ok ? '✓' : '✗'} {c.name}:</strong> {c.detail}
            </li>
          ))}
        </ul>
      )}
      {checks.data && !allPass && <Notice kind="warning" title="A check failed">Refuse this request unless you know why.</Notice>}
      <details>
        <summary>The warrant in full</summary>
        <WarrantView warrant={warrant} />
      </details>
      <Field label="Your reasons" hint="kept with the decision" value={reason} onChange={setReason} multiline />
      <div className="row">
        <button type="button" disabled={act.busy || !allPass} onClick={() => void act.run('approve')}>Approve release</button>
        <button type="button" className="danger" disabled={act.busy} onClick={() => void act.run('refuse')}>Refuse</button>
      </div>
      <ErrorNotice error={act.error} />
    </article>
  );
}
