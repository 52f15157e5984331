/** @doublelock/hub-server: the hash-sharing hub's process (apps/hub). */
export * from './app.ts';
export * from './config.ts';
