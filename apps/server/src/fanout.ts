/**
 * Fan-out between server nodes (Redis pub/sub). Every node publishes the devices that got new mail;
 * every other node tells its own push to read those devices' mailboxes. Revoked devices travel the same
 * way, so their sockets close on every node. Redis carries only device ids:
 * the mail itself is in the shared database, so a lost notification delays a push (until the device
 * reconnects or fetches) but loses nothing.
 */
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';

const CHANNEL = 'doublelock:mail';

export interface Fanout {
  publish(deviceIds: string[]): void;
  publishRevoked(deviceIds: string[]): void;
  close(): Promise<void>;
}

export async function redisFanout(
  url: string,
  onRemote: (deviceIds: string[]) => void,
  onError: (error: unknown) => void,
  onRevoked: (deviceIds: string[]) => void = () => undefined,
): Promise<Fanout> {
  const node = randomBytes(8).toString('hex');
  const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const subscriber = new Redis(url, { lazyConnect: true });
  publisher.on('error', onError);
  subscriber.on('error', onError);
  await Promise.all([publisher.connect(), subscriber.connect()]);
  await subscriber.subscribe(CHANNEL);
  subscriber.on('message', (_channel: string, message: string) => {
    try {
      const { from, devices, revoked } = JSON.parse(message) as { from: string; devices?: string[]; revoked?: string[] };
      if (from === node) return;
      if (Array.isArray(devices)) onRemote(devices);
      if (Array.isArray(revoked)) onRevoked(revoked);
    } catch (error) {
      onError(error);
    }
  });
  return {
    publish(deviceIds) {
      if (deviceIds.length === 0) return;
      publisher.publish(CHANNEL, JSON.stringify({ from: node, devices: deviceIds })).catch(onError);
    },
    publishRevoked(deviceIds) {
      if (deviceIds.length === 0) return;
      publisher.publish(CHANNEL, JSON.stringify({ from: node, revoked: deviceIds })).catch(onError);
    },
    async close() {
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    },
  };
}
