/**
 * The agency's requests to the provider, each signed with the agency key (signAgencyRequest): submit a
 * double-locked warrant (the server logs its commitment before it takes effect) and collect what was retained.
 * Mirrors apps/cli/src/agency/workflow.ts until that workflow moves into a package both can call.
 */
import { interceptsResponse, signAgencyRequest, warrantSubmissionResponse, type ExportedIntercept } from '@doublelock/lawful-access/agencyRequests';
import type { SignedWarrant } from '@doublelock/lawful-access/warrant';
import { toBase64Url } from '@doublelock/protocol/encoding';
import { responseError } from '../ui/errors.ts';

export interface AgencyKey {
  id: string;
  secretKey: Uint8Array;
}

async function post(path: string, body: unknown): Promise<unknown> {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw await responseError(response);
  return response.json();
}

export async function submitWarrant(agency: AgencyKey, warrant: SignedWarrant) {
  const commitmentNonce = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const accepted = warrantSubmissionResponse.parse(await post('/v1/lawful-access/warrants', signAgencyRequest({ warrant, commitmentNonce }, agency.id, agency.secretKey)));
  return { warrantId: warrant.warrant.id, commitmentNonce, commitment: accepted.commitment, leafIndex: accepted.leafIndex };
}

export async function collectIntercepts(agency: AgencyKey, warrantId: string): Promise<ExportedIntercept[]> {
  const all: ExportedIntercept[] = [];
  for (let after = 0; ; ) {
    const { intercepts } = interceptsResponse.parse(await post('/v1/lawful-access/intercepts', signAgencyRequest({ warrantId, after, limit: 500 }, agency.id, agency.secretKey)));
    if (intercepts.length === 0) return all;
    all.push(...intercepts);
    after = intercepts.at(-1)!.id;
  }
}
