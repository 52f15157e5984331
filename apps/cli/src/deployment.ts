/**
 * What the CLI's messenger pins from the deployment it registers on, and turns on by default:
 *   - key transparency (its log key is pinned by chat.ts): the log's witnesses and quorum, from
 *     `GET /v1/app-config`, pinned in the profile the first time and never replaced silently;
 *   - lawful access, where the deployment has it on: the trust root is pinned the same way, and every
 *     message carries the escrow access field (and every received one is checked) through the
 *     lawful-access package's deployment provider; with no certified epoch key a send fails rather than
 *     leave without its field.
 * Like the web app's messenger/session.ts, it only wires the SDK to the deployment.
 */
import type { MessengerOptions, Storage, TransparencyConfig } from '@doublelock/client';
import { z } from 'zod';

const PINNED = 'cli/deployment';
const text = new TextEncoder();

const appConfigSchema = z.object({
  logKey: z.string().min(1),
  logWitnesses: z.array(z.string().min(1)),
  logWitnessQuorum: z.number().int().nonnegative().optional(),
  lawfulAccess: z.boolean(),
  trustRoot: z.string().min(1).nullable(),
});
export type PinnedDeployment = z.infer<typeof appConfigSchema>;

async function fetchAppConfig(serverUrl: string): Promise<PinnedDeployment> {
  const response = await fetch(`${serverUrl.replace(/\/$/, '')}/v1/app-config`);
  if (!response.ok) throw new Error(`${serverUrl} gave no deployment configuration (HTTP ${response.status})`);
  return appConfigSchema.parse(await response.json());
}

/** The deployment pinned in this profile; pinned from the server on first use. */
export async function pinnedDeployment(serverUrl: string, storage: Storage): Promise<PinnedDeployment> {
  const stored = await storage.get(PINNED);
  if (stored) return appConfigSchema.parse(JSON.parse(new TextDecoder().decode(stored)));
  const config = await fetchAppConfig(serverUrl);
  await storage.write([{ key: PINNED, value: text.encode(JSON.stringify(config)) }]);
  return config;
}

export interface DeploymentOptions extends Pick<MessengerOptions, 'escrow' | 'transparency'> {
  close(): void;
}

/**
 * Key transparency always (`transparency`: the profile's pinned log key, chat.ts) with the deployment's
 * witnesses and quorum; escrow where the pinned deployment has lawful access on.
 */
export async function deploymentOptions(serverUrl: string, storage: Storage, transparency: TransparencyConfig): Promise<DeploymentOptions> {
  const pinned = await pinnedDeployment(serverUrl, storage);
  const quorum = Math.min(pinned.logWitnessQuorum ?? 0, pinned.logWitnesses.length);
  let escrow: DeploymentOptions['escrow'];
  let close = () => {};
  if (pinned.lawfulAccess && pinned.trustRoot) {
    const { deploymentEscrow } = await import('@doublelock/lawful-access/deploymentEscrow');
    const provider = await deploymentEscrow({ serverUrl, trustRoot: pinned.trustRoot });
    if (!provider) throw new Error(`${serverUrl} says lawful access is off, but this profile pinned a deployment where it is on: refusing to send without the escrow field`);
    escrow = provider;
    close = () => provider.close();
  }
  return {
    escrow,
    transparency: { ...transparency, ...(quorum > 0 && { witnesses: { keys: pinned.logWitnesses, k: quorum } }) },
    close,
  };
}
