/**
 * The channels API for this browser: the SDK's ServerApi, signed in as the messenger device kept here when
 * there is one (to post, follow, see one's own posts and their decisions), anonymous otherwise (reading
 * needs no account). The MLS code is loaded only when a device exists.
 */
import { ServerApi } from '@doublelock/client/api/serverApi';
import { IndexedDbStorage } from '@doublelock/client/storage/indexedDb';

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
