/** The routes that are public on purpose, shared by the security and authorisation tests. */

/** Public on purpose, and why: each authenticates its caller some other way, or is meant for everyone. */
export const PUBLIC = new Set([
  'GET /healthz', // liveness
  'GET /metrics', // operators' scraper (bind the server to a private address in production)
  'GET /v1/openapi.json', // the API description
  'GET /v1/ws', // the WebSocket authenticates with its first frame (authorisation.test.ts mounts each refusal)
  'POST /v1/accounts', // registration: proven by the account key's signature on the device certificate
  'POST /v1/accounts/{username}/devices', // proven by the account key's signature
  'POST /v1/accounts/{username}/devices/{deviceId}/revoke', // proven by the account key's signature
  'POST /v1/auth/challenge', // the way to authenticate
  'POST /v1/auth/session', // proven by the device key's signature on a one-time challenge
  'GET /v1/lawful-access', // the public trust configuration
  'POST /v1/lawful-access/warrants', // signed by an agency key from the trust configuration
  'POST /v1/lawful-access/intercepts', // signed by an agency key
  'POST /v1/lawful-access/cancellations', // signed by a Secretary of State key
  'POST /v1/lawful-access/decisions', // signed by a Judicial Commissioner key
  'POST /v1/lawful-access/releases', // signed by a custodian key
  'POST /v1/lawful-access/unsealings', // an opening (the signed warrant and its nonce) authenticates itself
  // public channels are readable without an account (a session, when offered, must be valid: below)
  'GET /v1/channels',
  'GET /v1/channels/{handle}',
  'GET /v1/channels/{handle}/posts',
  'GET /v1/posts/{id}',
  'GET /v1/posts/{id}/replies',
  'GET /v1/hashtags/{tag}',
  'GET /v1/media/{id}',
  // notice and action (cases.test.ts, casesSecurity.test.ts check each of these)
  'POST /v1/notices', // DSA Art. 16: anyone may notify (rate-limited); a session, when offered, must be valid
  'POST /v1/notices/status', // proven by the notice's receipt token
  'POST /v1/notices/complaint', // proven by the notice's receipt token
  'POST /v1/moderation/removal-orders', // signed by a registered authority's key, fresh, used once
  'POST /v1/moderation/removal-orders/status', // signed by the order's authority
  'POST /v1/moderation/preservation', // signed by the order's authority
]);
export const isPublic = (method: string, path: string) => PUBLIC.has(`${method} ${path}`) || path.startsWith('/v1/log/'); // the transparency log is public by design
