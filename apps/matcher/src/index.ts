export { buildMatcher, startMatcher, MIN_TOKEN_LENGTH, type MatcherContext, type MatcherOptions, type MatcherPlugin, type RunningMatcher } from './service.ts';
export { internalApi, hasToken, toQuerySignals } from './internalApi.ts';
export { hmaRoutes, type HmaOptions } from './hma.ts';
export { hubSyncPlugin, type MatcherHubOptions } from './hubSync.ts';
