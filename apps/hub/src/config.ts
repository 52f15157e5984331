/** Hub settings, with the defaults `doublelock hub serve` runs on. */
export interface HubConfig {
  host: string;
  port: number;
  /** Data folder for the embedded default (SQLite at <dataDir>/doublelock.sqlite). */
  dataDir: string;
  /** postgres://… to use PostgreSQL instead of SQLite. */
  databaseUrl?: string | undefined;
  /** The hub log's origin (first line of its checkpoints), e.g. `hub.example.org/log`. */
  origin: string;
  /** Requests per minute per member, unless the member has its own limit. */
  rateLimit: number;
  /** Largest request body (imports are the largest). */
  bodyLimit: number;
  /** Members whose negative opinion or false-positive feedback marks a signal disputed. */
  disputeThreshold: number;
  webhookTimeoutMs: number;
  logLevel: string;
}

export function defaultHubConfig(overrides: Partial<HubConfig> = {}): HubConfig {
  return {
    host: '127.0.0.1',
    port: 8090,
    dataDir: './hub-data',
    origin: 'hub.doublelock.localhost/log',
    rateLimit: 600,
    bodyLimit: 16 * 1024 * 1024,
    disputeThreshold: 2,
    webhookTimeoutMs: 5000,
    logLevel: 'info',
    ...overrides,
  };
}
