/**
 * Who speaks for an account: its identity key, and every device certified — directly by the identity key,
 * or by another device of the account that was itself valid and not revoked when it certified — so any
 * device can add and revoke the others, and a lost first device does not end device management.
 * A revocation counts only with a valid signature by the identity key or by a device of the account: a
 * revocation the server made up (to cut a device out of its chats) is ignored.
 */
import { deviceCertificateBytes, deviceRevocationBytes, fromBase64Url, type Device } from '@doublelock/protocol';

export type Verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => Promise<boolean>;

interface AccountLike {
  username: string;
  identityKey: string;
  devices: ReadonlyArray<Pick<Device, 'deviceId' | 'signatureKey' | 'name' | 'createdAt' | 'accountSignature' | 'revokedAt'> & Partial<Pick<Device, 'certifiedBy' | 'revocationSignature' | 'revokedBy'>>>;
}

export interface DeviceStanding {
  /** Undefined when the certificate chain is valid, else why not. */
  certificateProblem?: string;
  /** The revocation time, when the revocation is validly signed; null otherwise (active). */
  revokedAt: number | null;
  /** Set when the server shows a revocation without a valid signature. */
  revocationProblem?: string;
}

/** The standing of every device of the account (certificate chain, signed revocation). */
export async function deviceStandings(account: AccountLike, verify: Verify): Promise<Map<string, DeviceStanding>> {
  const byId = new Map(account.devices.map((d) => [d.deviceId, d]));
  const identityKey = fromBase64Url(account.identityKey);
  const chains = new Map<string, Promise<string | undefined>>();

  /** Undefined if the device's certificate chain is valid (as of `at`, when another device is the signer). */
  const certificate = (deviceId: string, seen: Set<string>): Promise<string | undefined> => {
    const known = chains.get(deviceId);
    if (known) return known;
    const result = (async () => {
      const d = byId.get(deviceId);
      if (!d) return `device ${deviceId} is not listed`;
      if (seen.has(deviceId)) return `device ${deviceId} is in a certification cycle`;
      const signed = deviceCertificateBytes({ username: account.username, signatureKey: fromBase64Url(d.signatureKey), name: d.name, createdAt: d.createdAt });
      const by = d.certifiedBy ?? null;
      if (by === null) return (await verify(fromBase64Url(d.accountSignature), signed, identityKey)) ? undefined : `device ${deviceId} is not signed by the account identity key`;
      const signer = byId.get(by);
      if (!signer) return `device ${deviceId} is certified by ${by}, which the account does not list`;
      const signerProblem = await certificate(by, new Set([...seen, deviceId]));
      if (signerProblem) return `device ${deviceId} is certified by an invalid device (${signerProblem})`;
      const signerRevoked = await revocation(signer);
      if (signerRevoked.revokedAt !== null && signerRevoked.revokedAt <= d.createdAt) return `device ${deviceId} was certified by ${by} after ${by} was revoked`;
      return (await verify(fromBase64Url(d.accountSignature), signed, fromBase64Url(signer.signatureKey))) ? undefined : `device ${deviceId} is not signed by device ${by}`;
    })();
    chains.set(deviceId, result);
    return result;
  };

  /** A revocation's standing: honoured only when signed by the identity key or a device of the account. */
  const revocation = async (d: AccountLike['devices'][number]): Promise<{ revokedAt: number | null; problem?: string }> => {
    if (d.revokedAt === null) return { revokedAt: null };
    const signature = d.revocationSignature;
    if (!signature) return { revokedAt: null, problem: `the server shows device ${d.deviceId} revoked without the account's signature` };
    const by = d.revokedBy ?? null;
    const signer = by === null ? identityKey : byId.get(by) && fromBase64Url(byId.get(by)!.signatureKey);
    const signed = deviceRevocationBytes({ username: account.username, deviceId: d.deviceId, revokedAt: d.revokedAt });
    if (!signer || !(await verify(fromBase64Url(signature), signed, signer))) return { revokedAt: null, problem: `the revocation of device ${d.deviceId} is not signed by the account` };
    return { revokedAt: d.revokedAt };
  };

  const out = new Map<string, DeviceStanding>();
  for (const d of account.devices) {
    const [problem, revoked] = await Promise.all([certificate(d.deviceId, new Set()), revocation(d)]);
    out.set(d.deviceId, { ...(problem && { certificateProblem: problem }), revokedAt: revoked.revokedAt, ...(revoked.problem && { revocationProblem: revoked.problem }) });
  }
  return out;
}
