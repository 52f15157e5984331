/**
 * The channels API for this browser: the SDK's ServerApi, signed in as the messenger device kept here when
 * there is one (to post, follow, see one's own posts and their decisions), anonymous otherwise (reading
 * needs no account). The MLS code is loaded only when a device exists.
 */
import { ServerApi } from '@doublelock/client/api/serverApi';
import { IndexedDbStorage } from '@doublelock/client/storage/indexedDb';
import { responseError } from '../ui/errors.ts';

export interface ChannelsSession {
  api: ServerApi;
  username: string | undefined;
}

let session: Promise<ChannelsSession> | undefined;

export function channelsSession(): Promise<ChannelsSession> {
  return (session ??= (async () => {
    const storage = await IndexedDbStorage.open('doublelock-web');
    if (!(await storage.get('device'))) return { api: new ServerApi(location.origin), username: undefined };
    const { openDevice } = await import('../messenger/session.ts');
    const device = (await openDevice())!;
    return { api: device.api, username: device.username };
  })());
}

/** Signed-in JSON requests for routes the SDK has no method for yet (statements, appeals, the moderation console). */
export async function signedIn() {
  const { api, username } = await channelsSession();
  if (!username || !api.session) throw new Error('Sign in first: create an account in the messenger, or link this browser to yours.');
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${await api.session!.token()}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw await responseError(response);
    return response.json();
  };
  /** A file behind a session (e.g. a held upload's image for a moderator), as an object URL for <img>. */
  const objectUrl = async (path: string): Promise<string> => {
    const response = await fetch(path, { headers: { authorization: `Bearer ${await api.session!.token()}` } });
    if (!response.ok) throw await responseError(response);
    return URL.createObjectURL(await response.blob());
  };
  return { username, get: (path: string) => call('GET', path), post: (path: string, body: unknown = {}) => call('POST', path, body), objectUrl };
}
