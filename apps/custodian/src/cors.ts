/**
 * Browsers may call a custodian from another origin (the web app's agency console asks for shares and
 * epoch certificates; the messenger fetches certificates). Every request here is authenticated by a
 * signature in its body, never by cookies or an ambient credential, so any origin may send one: the
 * custodian's checks are the same whoever's page carries it (Fetch standard, CORS protocol).
 */
import type { FastifyInstance } from 'fastify';

export function allowBrowserOrigins(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers.origin) reply.header('access-control-allow-origin', '*');
  });
  // The preflight a browser sends before a JSON POST.
  app.options('/*', async (_request, reply) =>
    reply.code(204).header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', 'content-type').header('access-control-max-age', '600').send(),
  );
}
