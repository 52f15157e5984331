/** @doublelock/hub: the hash-sharing hub (members, signals, opinions, incidents, its log) and, in platform/, a platform's side of it. */
export * from './entry.ts';
export * from './members.ts';
export * from './hub.ts';
export * from './webhooks.ts';
export * from './formats.ts';
export * from './report.ts';
