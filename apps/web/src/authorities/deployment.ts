/** The deployment's lawful-access trust configuration, verified under the trust root this browser pinned. */
import { openTrustConfig, signedTrustConfigSchema, type SignedTrustConfig, type TrustConfig } from '@doublelock/lawful-access/trust';
import { loadHolidayRules } from '../lib/holidayRules.ts';
import { responseError } from '../ui/errors.ts';

const PIN = 'doublelock.authorities.trustRoot';

/** Also loads the bank-holiday rules: every console computes warrant deadlines in working days (lib/holidayRules.ts). */
export async function trustConfiguration(): Promise<{ trust: TrustConfig; signed: SignedTrustConfig; trustRoot: string }> {
  const rules = loadHolidayRules();
  const config = (await (await fetch('/v1/app-config')).json()) as { trustRoot: string | null };
  const response = await fetch('/v1/lawful-access');
  if (!response.ok) throw await responseError(response);
  const status = (await response.json()) as { enabled: boolean; trust?: unknown };
  if (!status.enabled || !config.trustRoot) throw new Error('Lawful access is switched off on this deployment: there are no warrants to draft, sign or approve.');
  const trustRoot = localStorage.getItem(PIN) ?? config.trustRoot;
  localStorage.setItem(PIN, trustRoot);
  await rules;
  return { trust: openTrustConfig(status.trust, trustRoot), signed: signedTrustConfigSchema.parse(status.trust), trustRoot };
}

/** Offers a JSON document as a file to save (passed to the next authority by hand, as paper would be). */
export function downloadJson(name: string, document: unknown): void {
  const a = window.document.createElement('a');
  a.href = URL.createObjectURL(new Blob([JSON.stringify(document, null, 2)], { type: 'application/json' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export async function readJsonFile(file: File): Promise<unknown> {
  try {
    return JSON.parse(await file.text());
  } catch {
    throw new Error(`${file.name} is not a JSON document.`);
  }
}
