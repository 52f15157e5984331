/**
 * The agency's last step, in its browser: the collected messages are listed, each checked against the
 * warrant here (the SDK's outsideWarrant); the agency decrypts a batch — what the warrant covers, or a
 * selection — a few at a time with progress, and can stop. Every message is checked again by the SDK's
 * agency workflow before any custodian is asked (a message outside the warrant is refused whatever was
 * selected), then t custodians are asked for decryption shares, every proof is verified, the content key
 * recovered and the message opened here. Each opened message comes with its evidence bundle, which
 * `doublelock agency verify-evidence` checks from the trust root alone.
 */
import { outsideWarrant } from '@doublelock/client/agency/workflow';
import { exportedIntercept, type ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import type { EvidenceBundle } from '@doublelock/lawful-access/evidence';
import type { SignedTrustConfig, TrustConfig } from '@doublelock/lawful-access/trust';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import { useEffect, useMemo, useRef, useState } from 'react';
import { z } from 'zod';
import { Card, ErrorNotice, Notice, Progress, useAction } from '../ui/components.tsx';
import { humanMessage } from '../ui/errors.ts';
import { decryptIntercepts, submissionSchema, witnessedInclusion, type Submission } from './agency.ts';
import { downloadJson, readJsonFile } from './deployment.ts';
import { FileInput, parse } from './files.tsx';

type Outcome = { id: number; sender?: string; recipients?: string[]; at?: number } & ({ ok: true; text: string; evidence: EvidenceBundle } | { ok: false; reason: string });

const when = (t: number) => new Date(t).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function describe(content: { type: string; text?: string; name?: string }): string {
  if (content.type === 'text') return content.text!;
  if (content.type === 'file') return `[a file${content.name ? `: ${content.name}` : ''}]`;
  return `[${content.type}]`;
}

export function AgencyDecryption(props: { trust: { trust: TrustConfig; signed: SignedTrustConfig } | undefined; warrant: SignedWarrant; submission?: Submission; intercepts?: ExportedIntercept[] }) {
  const [submissionFile, setSubmissionFile] = useState<Submission>();
  const [interceptFile, setInterceptFile] = useState<ExportedIntercept[]>();
  const submission = submissionFile ?? props.submission;
  const intercepts = interceptFile ?? props.intercepts;
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const [batchSize, setBatchSize] = useState(0);
  const [stopped, setStopped] = useState(false);
  const stop = useRef<AbortController>(undefined);
  const loadSubmission = useAction(async (file: File) => setSubmissionFile(parse(submissionSchema, await readJsonFile(file), 'a submission file')));
  const loadIntercepts = useAction(async (file: File) => setInterceptFile(parse(z.array(exportedIntercept), await readJsonFile(file), 'a file of collected intercepts')));
  // Why the warrant does not cover each intercept (undefined: it does), shown beside it before anything is asked.
  const outside = useMemo(() => new Map((intercepts ?? []).map((i) => [i.id, props.trust ? outsideWarrant(i, props.warrant, props.trust.trust) : undefined])), [intercepts, props.trust, props.warrant]);
  const covered = useMemo(() => (intercepts ?? []).filter((i) => outside.get(i.id) === undefined).map((i) => i.id), [intercepts, outside]);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  useEffect(() => setSelected(new Set(covered)), [covered]);

  const decrypt = useAction(async () => {
    const { trust, signed } = props.trust!;
    if (submission!.warrantId !== props.warrant.warrant.id) throw new Error(`The submission file is for warrant ${submission!.warrantId}, not ${props.warrant.warrant.id}.`);
    const inclusion = submission!.inclusion ?? (await witnessedInclusion(trust, submission!.leafIndex, 10_000));
    if (!inclusion) throw new Error('No witnessed checkpoint holds the warrant yet: custodians release nothing until one does. Try again once the witnesses have cosigned.');
    const batch = intercepts!.filter((i) => selected.has(i.id));
    stop.current = new AbortController();
    setOutcomes([]);
    setBatchSize(batch.length);
    setStopped(false);
    await decryptIntercepts({ signedTrust: signed, trust, warrant: props.warrant, submission: { ...submission!, inclusion } }, batch, {
      signal: stop.current.signal,
      result: (r) => {
        const record = r.intercept.iri?.record;
        const head = { id: r.intercept.id, sender: record?.sender, recipients: record?.recipients, at: record?.serverTime };
        const outcome: Outcome = r.ok ? { ...head, ok: true, text: describe(r.opened.content as { type: string }), evidence: r.opened.evidence } : { ...head, ok: false, reason: humanMessage(r.error) };
        // Shown in the order of the collection, whatever order the custodians answered in.
        setOutcomes((list) => [...list, outcome].sort((a, b) => a.id - b.id));
      },
    });
    setStopped(stop.current.signal.aborted);
  });
  const opened = outcomes.filter((o) => o.ok).length;
  const toggle = (id: number, on: boolean) => setSelected((s) => {
    const next = new Set(s);
    if (on) next.add(id);
    else next.delete(id);
    return next;
  });
  return (
    <Card title="3. Decrypt with the custodians">
      {!props.submission && <FileInput label="The submission file" onFile={(f) => void loadSubmission.run(f)} />}
      <ErrorNotice error={loadSubmission.error} />
      {!props.intercepts && <FileInput label="The collected intercepts" onFile={(f) => void loadIntercepts.run(f)} />}
      <ErrorNotice error={loadIntercepts.error} />
      {submission && intercepts && (
        <>
          <p>
            {intercepts.length} intercept(s) under warrant {submission.warrantId}, logged at index {submission.leafIndex}
            {submission.inclusion ? `, witnessed in a checkpoint of ${submission.inclusion.treeSize} entries` : ''}; the warrant covers {covered.length}. Each one
            you choose is checked against the warrant again, then put to the custodians; only what t of them release, with valid proofs, opens.
          </p>
          <fieldset disabled={decrypt.busy}>
            <legend>Choose what to decrypt ({selected.size} of {intercepts.length} chosen)</legend>
            <div className="row" style={{ marginBottom: '.5rem' }}>
              <button type="button" className="secondary" onClick={() => setSelected(new Set(covered))}>Choose all the warrant covers</button>
              <button type="button" className="secondary" onClick={() => setSelected(new Set(intercepts.map((i) => i.id)))}>Choose all</button>
              <button type="button" className="secondary" onClick={() => setSelected(new Set())}>Choose none</button>
            </div>
            <ul aria-label="Collected intercepts" style={{ listStyle: 'none', padding: 0, margin: 0, maxHeight: '20rem', overflowY: 'auto' }}>
              {intercepts.map((i) => {
                const record = i.iri?.record;
                const why = outside.get(i.id);
                return (
                  <li key={i.id}>
                    <label style={{ fontWeight: 400 }}>
                      <input type="checkbox" style={{ width: 'auto' }} checked={selected.has(i.id)} onChange={(e) => toggle(i.id, e.target.checked)} /> Intercept {i.id}
                      {record && <>: {record.sender} → {record.recipients.join(', ')}, {when(record.serverTime)}</>}
                      {why && <strong> (outside the warrant: {why})</strong>}
                    </label>
                  </li>
                );
              })}
            </ul>
          </fieldset>
        </>
      )}
      <div className="row" style={{ marginTop: '.75rem' }}>
        <button type="button" disabled={!props.trust || !submission || !intercepts || selected.size === 0 || decrypt.busy} onClick={() => void decrypt.run()}>
          Decrypt the {selected.size} chosen with the custodians
        </button>
        {decrypt.busy && <button type="button" className="secondary" onClick={() => stop.current?.abort()}>Stop after the messages under way</button>}
      </div>
      <ErrorNotice error={decrypt.error} />
      {(decrypt.busy || outcomes.length > 0) && <Progress label="Messages processed" value={outcomes.length} max={batchSize} />}
      {outcomes.length > 0 && !decrypt.busy && (
        <Notice>
          {opened} of {outcomes.length} message(s) decrypted.{stopped && ` Stopped: ${batchSize - outcomes.length} chosen message(s) were not put to the custodians.`}
        </Notice>
      )}
      <ol className="stack" aria-label="Decrypted messages" style={{ paddingLeft: '1.2rem' }}>
        {outcomes.map((o) => (
          <li key={o.id}>
            <p className="muted" style={{ margin: 0 }}>
              Intercept {o.id}
              {o.sender && <>: {o.sender} → {o.recipients?.join(', ')}</>}
              {o.at !== undefined && <>, {when(o.at)}</>}
            </p>
            {o.ok ? (
              <>
                <p className="message-text" style={{ whiteSpace: 'pre-wrap', margin: '0.25rem 0' }}>{o.text}</p>
                <button type="button" className="secondary" onClick={() => downloadJson(`evidence-${o.id}.json`, o.evidence)}>
                  Save the evidence bundle of intercept {o.id}
                </button>
              </>
            ) : (
              <Notice kind="warning" title={`Intercept ${o.id} not decrypted`}>{o.reason}</Notice>
            )}
          </li>
        ))}
      </ol>
    </Card>
  );
}
