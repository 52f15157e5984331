/**
 * The client's view of the server's key directory: accounts fetched over the API, cached briefly, and the
 * identity keys pinned on first use (in storage), for the authentication service and safety numbers.
 */
import { fromBase64Url, type AccountResponse } from '@doublelock/protocol';
import { ApiError, type ServerApi } from './api/serverApi.ts';
import type { IdentityPins, KeyDirectory } from './mls/authenticationService.ts';
import type { Storage } from './storage/storage.ts';

const TTL_MS = 30_000;

/** Checks an account against the transparency log before it is trusted (transparency/keyTransparency.ts). */
export interface AccountVerifier {
  verifyAccount(account: AccountResponse): Promise<void>;
}

export class ServerKeyDirectory implements KeyDirectory {
  private readonly cache = new Map<string, { account: AccountResponse | undefined; at: number; pending?: Promise<AccountResponse | undefined> }>();

  constructor(
    private readonly api: ServerApi,
    private readonly verifier?: AccountVerifier,
  ) {}

  async account(username: string, options: { fresh?: boolean } = {}): Promise<AccountResponse | undefined> {
    const cached = this.cache.get(username);
    if (cached && !options.fresh) {
      if (cached.pending) return cached.pending;
      if (Date.now() - cached.at < TTL_MS) return cached.account;
    }
    const pending = this.api.account(username).then(
      async (account) => {
        // A device list the transparency log does not show is never trusted (throws KeyTransparencyError).
        if (this.verifier) await this.verifier.verifyAccount(account);
        return account;
      },
      (error: unknown) => {
        if (error instanceof ApiError && error.code === 'not_found') return undefined;
        throw error;
      },
    );
    this.cache.set(username, { account: undefined, at: 0, pending });
    try {
      const account = await pending;
      this.cache.set(username, { account, at: Date.now() });
      return account;
    } catch (error) {
      this.cache.delete(username);
      throw error;
    }
  }

  forget(username: string): void {
    this.cache.delete(username);
  }

  /** Active (not revoked) device ids of an account. */
  async activeDevices(username: string, fresh = false): Promise<string[]> {
    const account = await this.account(username, { fresh });
    return account ? account.devices.filter((d) => d.revokedAt === null).map((d) => d.deviceId) : [];
  }
}

export class StoredIdentityPins implements IdentityPins {
  constructor(private readonly storage: Storage) {}
  async pinned(username: string): Promise<Uint8Array | undefined> {
    return this.storage.get(`pin/${username}`);
  }
  async pin(username: string, identityKey: Uint8Array): Promise<void> {
    await this.storage.write([{ key: `pin/${username}`, value: identityKey }]);
  }
}

export const identityKeyOf = (account: AccountResponse): Uint8Array => fromBase64Url(account.identityKey);
