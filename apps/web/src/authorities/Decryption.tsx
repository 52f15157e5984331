/**
 * The agency's last step, in its browser: each collected message is checked against the warrant (the
 * SDK's agency workflow refuses anything the warrant does not cover before a custodian is asked), then
 * t custodians are asked for decryption shares, every proof is verified, the content key recovered and the
 * message opened here. Each opened message comes with its evidence bundle, which
 * `doublelock agency verify-evidence` checks from the trust root alone.
 */
import { exportedIntercept, type ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import type { EvidenceBundle } from '@doublelock/lawful-access/evidence';
import type { SignedTrustConfig, TrustConfig } from '@doublelock/lawful-access/trust';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import { useState } from 'react';
import { z } from 'zod';
import { Card, ErrorNotice, Notice, Progress, useAction } from '../ui/components.tsx';
import { humanMessage } from '../ui/errors.ts';
import { decryptIntercept, submissionSchema, witnessedInclusion, type Submission } from './agency.ts';
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
  const [done, setDone] = useState(0);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const loadSubmission = useAction(async (file: File) => setSubmissionFile(parse(submissionSchema, await readJsonFile(file), 'a submission file')));
  const loadIntercepts = useAction(async (file: File) => setInterceptFile(parse(z.array(exportedIntercept), await readJsonFile(file), 'a file of collected intercepts')));
  const decrypt = useAction(async () => {
    const { trust, signed } = props.trust!;
    if (submission!.warrantId !== props.warrant.warrant.id) throw new Error(`The submission file is for warrant ${submission!.warrantId}, not ${props.warrant.warrant.id}.`);
    const inclusion = submission!.inclusion ?? (await witnessedInclusion(trust, submission!.leafIndex, 10_000));
    if (!inclusion) throw new Error('No witnessed checkpoint holds the warrant yet: custodians release nothing until one does. Try again once the witnesses have cosigned.');
    setOutcomes([]);
    setDone(0);
    for (const intercept of intercepts!) {
      const record = intercept.iri?.record;
      const head = { id: intercept.id, sender: record?.sender, recipients: record?.recipients, at: record?.serverTime };
      let outcome: Outcome;
      try {
        const opened = await decryptIntercept({ signedTrust: signed, trust, warrant: props.warrant, submission: { ...submission!, inclusion }, intercept });
        outcome = { ...head, ok: true, text: describe(opened.content as { type: string }), evidence: opened.evidence };
      } catch (error) {
        outcome = { ...head, ok: false, reason: humanMessage(error) };
      }
      setOutcomes((list) => [...list, outcome]);
      setDone((n) => n + 1);
    }
  });
  const opened = outcomes.filter((o) => o.ok).length;
  return (
    <Card title="3. Decrypt with the custodians">
      {!props.submission && <FileInput label="The submission file" onFile={(f) => void loadSubmission.run(f)} />}
      <ErrorNotice error={loadSubmission.error} />
      {!props.intercepts && <FileInput label="The collected intercepts" onFile={(f) => void loadIntercepts.run(f)} />}
      <ErrorNotice error={loadIntercepts.error} />
      {submission && intercepts && (
        <p>
          {intercepts.length} intercept(s) under warrant {submission.warrantId}, logged at index {submission.leafIndex}
          {submission.inclusion ? `, witnessed in a checkpoint of ${submission.inclusion.treeSize} entries` : ''}. Each is checked against the warrant here, then put to the
          custodians; only what t of them release, with valid proofs, opens.
        </p>
      )}
      <button type="button" disabled={!props.trust || !submission || !intercepts || decrypt.busy} onClick={() => void decrypt.run()}>
        Decrypt with the custodians
      </button>
      <ErrorNotice error={decrypt.error} />
      {intercepts && (decrypt.busy || outcomes.length > 0) && <Progress label="Intercepts processed" value={done} max={intercepts.length} />}
      {outcomes.length > 0 && !decrypt.busy && <Notice>{opened} of {outcomes.length} message(s) decrypted.</Notice>}
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
