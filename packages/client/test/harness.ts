/** Test support: a real server (apps/server's in-process test server) and SDK devices on memory storage. */
import { startTestServer } from '@doublelock/server/testing';
import WebSocket from 'ws';
import { Messenger, type MessengerEvent, type MessengerOptions, type ReceivedMessage } from '../src/messenger.ts';
import { MemoryStorage } from '../src/storage/storage.ts';
import type { WebSocketConstructor } from '../src/api/mailboxSocket.ts';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

export async function server() {
  return startTestServer();
}

/** A device plus everything it has seen, for assertions. */
export class TestDevice {
  readonly events: MessengerEvent[] = [];
  constructor(readonly messenger: Messenger) {
    messenger.on((e) => this.events.push(e));
  }
  get messages(): ReceivedMessage[] {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.message] : []));
  }
  get texts(): string[] {
    return this.messages.flatMap((m) => (m.content.type === 'text' ? [`${m.sender.username}: ${m.content.text}`] : []));
  }
  get rejections() {
    return this.events.flatMap((e) => (e.type === 'rejected' ? [e.error] : []));
  }
}

let counter = 0;
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}${counter}${Math.random().toString(36).slice(2, 6)}`;
}

export async function register(url: string, username: string, keyPackageTarget = 6, options: Partial<MessengerOptions> = {}): Promise<TestDevice> {
  return new TestDevice(await Messenger.register({ serverUrl: url, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget, ...options }, username));
}

/** Another device of the same account, linked from `from` (it has no groups until someone adds it). */
export async function linkSecondDevice(from: TestDevice, name = 'second'): Promise<TestDevice> {
  const provisioning = await from.messenger.provisionDevice(name);
  return new TestDevice(await Messenger.fromProvisioning({ serverUrl: from.messenger.api.origin, storage: new MemoryStorage(), webSocket: NodeWebSocket, keyPackageTarget: 6 }, provisioning));
}
