/** @doublelock/channels: public channels, posts through the upload check, follows, feeds, media, adverts. */
export * from './store.ts';
export * from './postText.ts';
export * from './media.ts';
export * from './actioner.ts';
export * from './service.ts';
export * from './ads/adStore.ts';
export * from './ads/sensitiveTopics.ts';
