/**
 * The authorities' consoles, one per person and key: the agency drafts a warrant, the Secretary of State
 * issues it, a Judicial Commissioner approves or refuses it with reasons (the double lock), and the agency
 * submits it to the provider and collects what is retained under it. Documents pass between them as files.
 */
import { decideWarrant, issueWarrant, signedWarrantSchema, warrantSchema, warrantStatus, GROUNDS, type SignedWarrant, type Warrant } from '@doublelock/lawful-access/warrant';
import { verifyDocument } from '@doublelock/lawful-access/signature';
import { ISSUE_LABEL } from '@doublelock/lawful-access/warrant';
import type { SignedTrustConfig, TrustConfig } from '@doublelock/lawful-access/trust';
import type { ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import { useState } from 'react';
import { Link, Route, Switch } from 'wouter';
import { Card, ErrorNotice, Field, Notice, Page, useAction, useLoad } from '../ui/components.tsx';
import { useDraft } from '../ui/drafts.ts';
import { collectIntercepts, submitWarrant, witnessedInclusion, type Submission } from './agency.ts';
import { AgencyDecryption } from './Decryption.tsx';
import { CustodianConsole } from './CustodianConsole.tsx';
import { FileInput, parse } from './files.tsx';
import { downloadJson, readJsonFile, trustConfiguration } from './deployment.ts';
import { KeyCard } from './KeyCard.tsx';
import { keyInfo, withSecretKey } from './keyring.ts';
import { WarrantView } from './WarrantView.tsx';

export default function AuthoritiesApp() {
  const trust = useLoad(trustConfiguration, []);
  return (
    <Switch>
      <Route path="/agency"><AgencyConsole trust={trust.data} error={trust.error} /></Route>
      <Route path="/secretary"><SecretaryConsole trust={trust.data?.trust} error={trust.error} /></Route>
      <Route path="/judge"><JudgeConsole trust={trust.data?.trust} error={trust.error} /></Route>
      <Route path="/custodian"><CustodianConsole trust={trust.data?.trust} error={trust.error} /></Route>
      <Route>
        <Page title="Authorities">
          <p>Each authority works in its own console, with its own key held in its own browser.</p>
          <ul>
            <li><Link href="/agency">Agency</Link>: draft a warrant, submit it once issued and approved, collect what it authorises.</li>
            <li><Link href="/secretary">Secretary of State</Link>: read and issue a warrant (s.19–20).</li>
            <li><Link href="/judge">Judicial Commissioner</Link>: approve, or refuse with written reasons (s.23).</li>
            <li><Link href="/custodian">Custodian operator</Link>: review each request for a decryption share, every check shown, and approve or refuse it.</li>
          </ul>
          <ErrorNotice error={trust.error} />
        </Page>
      </Route>
    </Switch>
  );
}

interface DraftForm {
  id: string;
  targets: string;
  start: string;
  end: string;
  grounds: string[];
  content: boolean;
  maxMessages: string;
  urgent: boolean;
  justification: string;
}
const emptyDraft = (): DraftForm => ({ id: '', targets: '', start: new Date().toISOString().slice(0, 16), end: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 16), grounds: ['serious-crime'], content: true, maxMessages: '100', urgent: false, justification: '' });

function AgencyConsole({ trust: deployment, error }: { trust: { trust: TrustConfig; signed: SignedTrustConfig } | undefined; error: unknown }) {
  const trust = deployment?.trust;
  const [tick, setTick] = useState(0);
  const [saved, setSaved, clearSaved] = useDraft('warrant-draft');
  const form: DraftForm = saved ? { ...emptyDraft(), ...(JSON.parse(saved) as Partial<DraftForm>) } : emptyDraft();
  const set = (patch: Partial<DraftForm>) => setSaved(JSON.stringify({ ...form, ...patch }));
  const draft = useAction(async () => {
    const agency = await keyInfo('agency');
    if (!agency) throw new Error('Create or import the agency key first: the draft names your agency.');
    // Interception is prospective: a window cannot start before the warrant exists.
    const issuedAt = Date.now();
    const warrant: Warrant = parse(warrantSchema, {
      format: 1, id: form.id.trim(), revision: 0, kind: 'targeted-interception',
      targets: form.targets.split(/[\s,]+/).filter(Boolean),
      window: { start: Math.max(Date.parse(`${form.start}Z`), issuedAt), end: Date.parse(`${form.end}Z`) },
      grounds: form.grounds, justification: form.justification, agency: agency.id,
      products: form.content ? ['iri', 'cc'] : ['iri'], limits: { maxMessages: Number(form.maxMessages) },
      urgent: form.urgent, issuedAt, renews: null,
    }, 'a valid warrant');
    downloadJson(`warrant-${warrant.id}-draft.json`, warrant);
    return warrant;
  });
  const [signed, setSigned] = useState<SignedWarrant>();
  const load = useAction(async (file: File) => setSigned(parse(signedWarrantSchema, await readJsonFile(file), 'a signed warrant')));
  const [submission, setSubmission] = useState<Submission>();
  const submit = useAction(async () => {
    const result = await submitWarrant(signed!);
    clearSaved();
    setSubmission(result);
    downloadJson(`warrant-${result.warrantId}-submission.json`, result);
    // The first witnessed checkpoint holding the warrant starts its window at the custodians: keep its proof.
    const inclusion = await witnessedInclusion(trust!, result.leafIndex);
    if (inclusion) {
      const witnessed = { ...result, inclusion };
      setSubmission(witnessed);
      downloadJson(`warrant-${result.warrantId}-submission.json`, witnessed);
    }
    return { ...result, witnessed: Boolean(inclusion) };
  });
  const [intercepts, setIntercepts] = useState<ExportedIntercept[]>();
  const collect = useAction(async () => {
    const collected = await collectIntercepts(signed!.warrant.id);
    downloadJson(`intercepts-${signed!.warrant.id}.json`, collected);
    setIntercepts(collected);
    return collected.length;
  });
  const status = signed && trust ? warrantStatus(signed, trust, Date.now()) : undefined;
  return (
    <Page title="Agency console">
      <ErrorNotice error={error} />
      <KeyCard role="agency" trust={trust} onChange={() => setTick(tick + 1)} />
      <Card title="1. Draft a warrant">
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void draft.run(); }}>
          <div className="row">
            <Field label="Warrant id" value={form.id} onChange={(id) => set({ id })} required />
            <Field label="Targets" hint="account names, separated by commas" value={form.targets} onChange={(targets) => set({ targets })} required />
          </div>
          <div className="row">
            <Field label="Window starts (UTC)" type="datetime-local" value={form.start} onChange={(start) => set({ start })} required />
            <Field label="Window ends (UTC)" type="datetime-local" value={form.end} onChange={(end) => set({ end })} required />
            <Field label="At most this many messages" type="number" value={form.maxMessages} onChange={(maxMessages) => set({ maxMessages })} required />
          </div>
          <fieldset>
            <legend>Grounds (s.20)</legend>
            {GROUNDS.map((g) => (
              <label key={g} style={{ fontWeight: 400 }}>
                <input type="checkbox" style={{ width: 'auto' }} checked={form.grounds.includes(g)} onChange={(e) => set({ grounds: e.target.checked ? [...form.grounds, g] : form.grounds.filter((x) => x !== g) })} /> {g}
              </label>
            ))}
          </fieldset>
          <label style={{ fontWeight: 400 }}><input type="checkbox" style={{ width: 'auto' }} checked={form.content} onChange={(e) => set({ content: e.target.checked })} /> Content of communications (CC), not only metadata (IRI)</label>
          <label style={{ fontWeight: 400 }}><input type="checkbox" style={{ width: 'auto' }} checked={form.urgent} onChange={(e) => set({ urgent: e.target.checked })} /> Urgent (s.24: lapses unless approved within three working days)</label>
          <Field label="Why it is necessary and proportionate" multiline value={form.justification} onChange={(justification) => set({ justification })} required />
          <button type="submit" disabled={draft.busy}>Save the draft for the Secretary of State</button>
        </form>
        <ErrorNotice error={draft.error} />
        {draft.data && <Notice>Draft {draft.data.id} saved as a file: hand it to the Secretary of State.</Notice>}
      </Card>
      <Card title="2. Submit the issued and approved warrant">
        <FileInput label="The warrant file, signed and decided" onFile={(f) => void load.run(f)} />
        <ErrorNotice error={load.error} />
        {signed && (
          <>
            <WarrantView warrant={signed.warrant} />
            {status && (status.inForce ? <Notice title="Both locks hold">Issued by {signed.issue.signer} and approved by {signed.decision?.signer ?? '—'}; in force until {new Date(status.until).toISOString()}.</Notice> : <Notice kind="error" title="Not a warrant in force">{status.detail}</Notice>)}
            <button type="button" disabled={!status?.inForce || submit.busy} onClick={() => void submit.run()}>Submit to the provider</button>
            <ErrorNotice error={submit.error} />
            {submission && <Notice title="Accepted and logged">The provider committed the warrant to the public log at index {submission.leafIndex} (commitment <span className="mono">{submission.commitment}</span>) and intercepts from now on. Keep the submission file: its nonce unseals the warrant later.</Notice>}
            {submit.busy && submission && <p role="status" className="muted">Waiting for the witnesses to cosign a checkpoint that holds the warrant…</p>}
            {submit.data && (submit.data.witnessed ? <Notice>Witnessed: the proof is in the submission file.</Notice> : <Notice kind="warning" title="Not yet witnessed">No witnessed checkpoint holds the warrant yet; decryption will prove it at a later one, which starts the window later.</Notice>)}
            <button type="button" className="secondary" disabled={collect.busy} onClick={() => void collect.run()}>Collect what was retained</button>
            <ErrorNotice error={collect.error} />
            {collect.data !== undefined && <Notice>Collected {collect.data} intercept(s); saved as a file.</Notice>}
          </>
        )}
      </Card>
      {signed && status?.inForce && <AgencyDecryption trust={deployment} warrant={signed} submission={submission} intercepts={intercepts} />}
    </Page>
  );
}

function SecretaryConsole({ trust, error }: { trust: TrustConfig | undefined; error: unknown }) {
  const [warrant, setWarrant] = useState<Warrant>();
  const load = useAction(async (file: File) => setWarrant(parse(warrantSchema, await readJsonFile(file), 'a warrant draft')));
  const issue = useAction(async () => {
    const signed = await withSecretKey('secretary', (id, key) => issueWarrant(warrant!, id, key));
    downloadJson(`warrant-${warrant!.id}-issued.json`, signed);
    return signed;
  });
  return (
    <Page title="Secretary of State">
      <ErrorNotice error={error} />
      <KeyCard role="secretary" trust={trust} onChange={() => undefined} />
      <Card title="Issue a warrant">
        <FileInput label="The agency’s draft" onFile={(f) => void load.run(f)} />
        <ErrorNotice error={load.error} />
        {warrant && (
          <>
            <WarrantView warrant={warrant} />
            <p>By issuing it you judge it necessary on the grounds given and proportionate to what it seeks (s.19). It has no effect until a Judicial Commissioner approves it{warrant.urgent ? ', except as an urgent warrant for up to three working days' : ''}.</p>
            <button type="button" disabled={issue.busy} onClick={() => void issue.run()}>Issue (sign) the warrant</button>
            <ErrorNotice error={issue.error} />
            {issue.data && <Notice>Issued and saved as a file: send it to a Judicial Commissioner.</Notice>}
          </>
        )}
      </Card>
    </Page>
  );
}

function JudgeConsole({ trust, error }: { trust: TrustConfig | undefined; error: unknown }) {
  const [signed, setSigned] = useState<SignedWarrant>();
  const [reasons, setReasons] = useDraft('judge-reasons');
  const load = useAction(async (file: File) => setSigned(parse(signedWarrantSchema, await readJsonFile(file), 'an issued warrant')));
  const decide = useAction(async (decision: 'approved' | 'refused') => {
    const decided = await withSecretKey('judge', (id, key) => decideWarrant(signed!, { decision, decidedAt: Date.now(), reasons }, id, key));
    downloadJson(`warrant-${signed!.warrant.id}-${decision}.json`, decided);
    setReasons('');
    return decision;
  });
  const sos = signed && trust?.secretaryOfState.find((k) => k.id === signed.issue.signer);
  const issueValid = Boolean(signed && sos && verifyDocument(ISSUE_LABEL, signed.warrant, signed.issue.signature, sos.publicKey));
  return (
    <Page title="Judicial Commissioner">
      <ErrorNotice error={error} />
      <KeyCard role="judge" trust={trust} onChange={() => undefined} />
      <Card title="Review a warrant">
        <FileInput label="The issued warrant" onFile={(f) => void load.run(f)} />
        <ErrorNotice error={load.error} />
        {signed && (
          <>
            {issueValid ? (
              <Notice title="Issued by the Secretary of State">Signed by {signed.issue.signer}, whose key the trust configuration names; the signature covers exactly the warrant below.</Notice>
            ) : (
              <Notice kind="warning" title="No valid Secretary of State signature">This document was not issued by a Secretary of State the trust configuration names, or it was changed after signing. Do not approve it.</Notice>
            )}
            {signed.decision && <Notice kind="warning" title="Already decided">{signed.decision.decision} by {signed.decision.signer}.</Notice>}
            <WarrantView warrant={signed.warrant} />
            <Field label="Reasons" hint="required to refuse (s.23(4))" multiline value={reasons} onChange={setReasons} />
            <div className="row">
              <button type="button" disabled={!issueValid || decide.busy} onClick={() => void decide.run('approved')}>Approve</button>
              <button type="button" className="danger" disabled={!issueValid || decide.busy} onClick={() => void decide.run('refused')}>Refuse</button>
            </div>
            <ErrorNotice error={decide.error} />
            {decide.data && <Notice>Decision ({decide.data}) signed and saved as a file: return it to the agency.</Notice>}
          </>
        )}
      </Card>
    </Page>
  );
}
