/** A platform's side of the hash-sharing hub: the HTTP client, the verified feed sync, publishing a bank. */
export * from './client.ts';
export * from './sync.ts';
export * from './publish.ts';
export { ALERT_WINDOW_MS, AlertReplayGuard, verifyWebhookSignature } from '../webhooks.ts';
