/**
 * The route plugins `doublelock matcher serve` runs beside the internal API (which is always on). Add a
 * MatcherPlugin here to serve more from the matcher process, e.g. HMA-compatible public routes or the
 * hub's sync: each gets the MatcherContext and its own Fastify scope, and brings its own auth.
 */
import type { MatcherPlugin } from './service.ts';

export const matcherPlugins: MatcherPlugin[] = [];
