/** @doublelock/moderation: hashers (content → signals), the matcher (signals → matches), banks. */
export * from './errors.ts';
export * from './pdq.ts';
export * from './pdqHash.ts';
export * from './pdqIndex.ts';
export * from './image.ts';
export * from './exact.ts';
export * from './url.ts';
export * from './vpdqFormat.ts';
export * from './vpdq.ts';
export * from './hasher.ts';
export * from './signal.ts';
export * from './taxonomy.ts';
export * from './bank.ts';
export * from './bankFormats.ts';
export * from './matcher.ts';
export * from './opinions.ts';
