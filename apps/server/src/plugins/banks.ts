/**
 * Moderation banks and text rules over HTTP, for the moderation console (docs/WEB.md):
 * - admin: create a bank; import a ThreatExchange/HMA file (CSV, JSON, TXT) in pieces of up to 1M
 *   characters, so the console can show a progress bar; the last piece queues one retro-sweep of
 *   published posts over everything the import added (what `doublelock bank import` does);
 * - moderator or admin: list banks with their signal counts; test a text against the live banks' rules
 *   and against candidate rules that are not stored (what `doublelock rules test` does).
 * Roles are checked before the body is read, as on every /v1/moderation route.
 */
import type { Role } from '@doublelock/cases';
import { BankStore, FormatError, readBankSignals, SweepStore, TextRules, parseTextRule, type SignalInput } from '@doublelock/moderation';
import { bankCreateRequest, bankImportRequest, bankName, ErrorCode, rulesTestRequest, type BankImportResult } from '@doublelock/protocol';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deviceOf, type Authenticator } from '../auth.ts';
import type { ServerContext } from '../context.ts';
import { fail } from '../errors.ts';

/** The bank code says what is wrong with a value by throwing TypeError or FormatError: a 400 here. */
async function asInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TypeError || error instanceof FormatError) return fail(ErrorCode.validation, error.message);
    throw error;
  }
}

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

export function bankRoutes(ctx: ServerContext, auth: Authenticator): FastifyPluginAsyncZod {
  const banks = new BankStore(ctx.stores.db);
  const as = (...roles: Role[]) => ({
    onRequest: auth.require,
    preValidation: async (request: FastifyRequest) => {
      await ctx.cases.roles.require(deviceOf(request).username, ...roles);
    },
  });
  const tag = (summary: string) => ({ tags: ['banks'], summary });
  const name = z.object({ name: bankName });

  return async (app) => {
    app.get('/v1/moderation/banks', { ...as('admin', 'moderator'), schema: tag('Banks with their live and removed signals by type') }, async () => ({ banks: await banks.listBanks() }));

    app.post('/v1/moderation/banks', { ...as('admin'), schema: { ...tag('Create a bank'), body: bankCreateRequest } }, async (request, reply) => {
      if (await banks.getBank(request.body.name)) fail(ErrorCode.conflict, `A bank named ${request.body.name} exists already.`);
      return reply.code(201).send(await asInput(() => banks.createBank(request.body.name, request.body.description)));
    });

    app.post(
      '/v1/moderation/banks/:name/import',
      { ...as('admin'), schema: { ...tag('Import one piece of a ThreatExchange/HMA file (CSV pieces repeat the header); the last piece may queue a retro-sweep'), params: name, body: bankImportRequest } },
      async (request): Promise<BankImportResult> => {
        const bank = request.params.name;
        const body = request.body;
        if (!(await banks.getBank(bank))) fail(ErrorCode.notFound, `No bank named ${bank}.`);
        const skipped: BankImportResult['skipped'] = [];
        const beforeSignalId = await banks.maxSignalId();
        if (body.sweepAfter !== undefined && body.sweepAfter > beforeSignalId) fail(ErrorCode.validation, `sweepAfter ${body.sweepAfter} is past the newest signal (${beforeSignalId}).`);
        async function* signals(): AsyncGenerator<Required<SignalInput>> {
          for await (const row of readBankSignals(once(body.text), body.format)) {
            if ('signal' in row) yield row.signal;
            else if (body.skipInvalid) skipped.push(row);
            else fail(ErrorCode.validation, `Line ${row.line}: ${row.error} (nothing of this piece was imported; skip malformed rows to import the rest).`);
          }
        }
        const imported = await asInput(() => banks.importSignals(bank, signals()));
        let sweepId: number | null = null;
        if (body.sweep) {
          const after = body.sweepAfter ?? beforeSignalId;
          const upto = await banks.maxSignalId();
          if (upto > after) sweepId = (await new SweepStore(ctx.stores.db).create({ bank, afterSignalId: after, uptoSignalId: upto })).id;
        }
        await ctx.moderation.banks.refresh();
        return { imported, skipped: skipped.slice(0, 100), beforeSignalId, sweepId };
      },
    );

    app.post('/v1/moderation/rules/test', { ...as('admin', 'moderator'), schema: { ...tag('What the live banks’ text rules, and candidate rules, catch in a text (with offsets)'), body: rulesTestRequest } }, async (request) => {
      const { text, rules } = request.body;
      const candidates = new TextRules();
      rules.forEach((rule, i) => {
        try {
          parseTextRule(rule);
        } catch (error) {
          fail(ErrorCode.validation, `Rule ${i + 1}: ${error instanceof Error ? error.message : String(error)}`);
        }
        candidates.add({ id: -(i + 1), bank: '(candidate)', value: rule, action: 'block', severity: null, labels: [] });
      });
      const live = await ctx.moderation.banks.matchText(text);
      const view = (m: { rule: { value: string; bank: string; action: string; labels: string[] }; start: number; end: number; text: string; allowed: boolean }, candidate: boolean) => ({
        rule: m.rule.value,
        bank: m.rule.bank,
        action: m.rule.action,
        labels: m.rule.labels,
        start: m.start,
        end: m.end,
        text: m.text,
        allowed: m.allowed,
        candidate,
      });
      return { matches: [...live.map((m) => view(m, false)), ...candidates.match(text).map((m) => view(m, true))] };
    });
  };
}
