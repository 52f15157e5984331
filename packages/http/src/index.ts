/**
 * @doublelock/http: the Fastify pieces every Doublelock API process shares (the server, the hub): every
 * failure as `{ code, message }` (errors.ts) and the transparency log's routes (logRoutes.ts).
 */
export * from './errors.ts';
export * from './logRoutes.ts';
