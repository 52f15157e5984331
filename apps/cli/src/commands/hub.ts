/**
 * `doublelock hub …`: run the hash-sharing hub and operate it.
 *   serve                       the hub (SQLite in --data, or PostgreSQL with --database-url)
 *   member add|list|revoke|key  the operator's member and key management, on the hub's database
 *   incident declare|close      the crisis protocol, on the hub's database (members' webhooks alerted)
 *   audit                       a member checks the hub's log: every entry, the signed root, and that
 *                               it only grew since the last audit (a rewritten history fails)
 *   publish                     a platform publishes one of its own banks to the hub
 * Modules are loaded per command (dynamic import), so `doublelock --help` stays fast.
 */
import type { Command } from 'commander';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { integerOption } from '@doublelock/protocol/cliOptions';

interface DbOptions {
  data: string;
  databaseUrl?: string;
  origin: string;
}

function addDbOptions(command: Command): Command {
  return command
    .option('--data <dir>', "the hub's data folder (SQLite)", process.env.DOUBLELOCK_HUB_DATA ?? './hub-data')
    .option('--database-url <url>', 'the hub database on PostgreSQL instead', process.env.HUB_DATABASE_URL)
    .option('--origin <name>', "the hub log's origin", 'hub.doublelock.localhost/log');
}

async function withHub<T>(options: DbOptions, fn: (hub: import('@doublelock/hub').Hub) => Promise<T>): Promise<T> {
  const { openHub } = await import('@doublelock/hub-server');
  const { hub, db } = await openHub({ dataDir: options.data, databaseUrl: options.databaseUrl, origin: options.origin, disputeThreshold: 2, webhookTimeoutMs: 5000 });
  try {
    return await fn(hub);
  } finally {
    await db.close();
  }
}

export function register(program: Command): void {
  const hub = program.command('hub').description('the hash-sharing hub: run it, manage its members, audit it');

  addDbOptions(hub.command('serve'))
    .description('run the hash-sharing hub')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on', integerOption('--port'), Number(process.env.PORT ?? 8090))
    .option('--rate-limit <n>', 'requests per minute per member (unless the member has its own)', integerOption('--rate-limit', 1), 600)
    .option('--dispute-threshold <n>', 'members disagreeing (negative opinion or false-positive feedback) that mark a signal disputed', integerOption('--dispute-threshold', 1), 2)
    .option('--log-level <level>', 'pino log level', process.env.LOG_LEVEL ?? 'info')
    .action(async (options: DbOptions & { host: string; port: number; rateLimit: number; disputeThreshold: number; logLevel: string }) => {
      const { startHub } = await import('@doublelock/hub-server');
      const running = await startHub({ host: options.host, port: options.port, dataDir: options.data, databaseUrl: options.databaseUrl, origin: options.origin, rateLimit: options.rateLimit, disputeThreshold: options.disputeThreshold, logLevel: options.logLevel });
      const store = options.databaseUrl ? 'PostgreSQL' : `SQLite in ${options.data}`;
      console.log(`Doublelock hub is running at ${running.url} (${store}).`);
      console.log(`Hub log key (members pin it: --hub-log-key): ${running.hub.logKey}`);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        running.close().then(
          () => process.exit(0),
          (error: unknown) => {
            console.error(error);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  const member = hub.command('member').description("manage the hub's members and their API keys");
  addDbOptions(member.command('add <name>'))
    .description('add a member (an organisation) and print its first API key (shown once)')
    .option('--scopes <list>', 'comma-separated: submit, read, admin', 'submit,read')
    .option('--webhook <url>', 'where incident alerts are POSTed')
    .option('--rate-limit <n>', 'requests per minute for this member', integerOption('--rate-limit', 1))
    .action(async (name: string, options: DbOptions & { scopes: string; webhook?: string; rateLimit?: number }) => {
      await withHub(options, async (h) => {
        const added = await h.members.add(name, { scopes: options.scopes.split(','), ...(options.webhook && { webhookUrl: options.webhook }), ...(options.rateLimit && { rateLimit: options.rateLimit }) });
        await h.memberEvent(name, true);
        console.log(`member ${name} added (scopes ${options.scopes}).`);
        console.log(`API key (shown once; give it to ${name}): ${added.key}`);
        console.log(`webhook secret (alerts carry x-hub-signature-256 HMAC with it): ${added.webhookSecret}`);
      });
    });
  addDbOptions(member.command('key <name>'))
    .description('issue another API key to a member')
    .option('--scopes <list>', 'comma-separated: submit, read, admin', 'submit,read')
    .action(async (name: string, options: DbOptions & { scopes: string }) => {
      await withHub(options, async (h) => console.log(`API key (shown once): ${await h.members.createKey(name, options.scopes.split(','))}`));
    });
  addDbOptions(member.command('list'))
    .description('list members and their keys')
    .action(async (options: DbOptions) => {
      await withHub(options, async (h) => {
        for (const m of await h.members.list()) {
          console.log(`${m.name}\t${m.revokedAt ? `revoked ${new Date(m.revokedAt).toISOString()}` : 'active'}\twebhook ${m.webhookUrl ?? '-'}\trate ${m.rateLimit ?? 'default'}/min`);
          for (const k of m.keys) console.log(`  key #${k.id}\t${k.scopes.join(',')}\t${k.revokedAt ? 'revoked' : 'active'}\tcreated ${new Date(k.createdAt).toISOString()}`);
        }
      });
    });
  addDbOptions(member.command('revoke [name]'))
    .description('revoke a member and all its keys, or one key with --key')
    .option('--key <id>', 'revoke only this key', integerOption('--key', 1))
    .action(async (name: string | undefined, options: DbOptions & { key?: number }) => {
      await withHub(options, async (h) => {
        if (options.key !== undefined) {
          if (!(await h.members.revokeKey(options.key))) throw new Error(`no active key #${options.key}`);
          console.log(`key #${options.key} revoked.`);
          return;
        }
        if (!name) throw new Error('name a member, or give --key');
        if (!(await h.members.revoke(name))) throw new Error(`no active member named "${name}"`);
        await h.memberEvent(name, false);
        console.log(`member ${name} and all its keys revoked.`);
      });
    });

  const incident = hub.command('incident').description('the crisis protocol');
  addDbOptions(incident.command('declare <name>'))
    .description("declare an incident: logged, every member's webhook alerted; signals submitted with it carry its label")
    .option('--label <label>', 'incident:cip or incident:cir', 'incident:cip')
    .action(async (name: string, options: DbOptions & { label: string }) => {
      if (options.label !== 'incident:cip' && options.label !== 'incident:cir') throw new Error('--label must be incident:cip or incident:cir');
      await withHub(options, async (h) => {
        const { incident: i, alerts } = await h.declareIncident('operator', name, options.label as 'incident:cip');
        console.log(`incident ${i.id} declared (${i.label}); alerts: ${alerts.map((a) => `${a.member} ${a.status ?? a.error}`).join(', ') || 'no webhooks'}`);
      });
    });
  addDbOptions(incident.command('close <id>'))
    .description('close an incident')
    .action(async (id: string, options: DbOptions) => {
      await withHub(options, async (h) => {
        const { incident: i } = await h.closeIncident('operator', integerOption('id', 1)(id));
        console.log(`incident ${i.id} closed.`);
      });
    });

  hub
    .command('audit')
    .description("check the hub's log as a member: every entry hashes to the signed root, and the log only grew since the last audit")
    .requiredOption('--hub-url <url>', 'the hub', process.env.DOUBLELOCK_HUB_URL)
    .requiredOption('--hub-key <key>', 'your member API key', process.env.DOUBLELOCK_HUB_KEY)
    .requiredOption('--log-key <vkey>', "the hub log's verifier key (pinned)", process.env.DOUBLELOCK_HUB_LOG_KEY)
    .option('--state <file>', 'file remembering the last checkpoint seen', join(homedir(), '.doublelock', 'hub-log-state.json'))
    .action(async (options: { hubUrl: string; hubKey: string; logKey: string; state: string }) => {
      const { auditLog, AuditError, FileWitnessState } = await import('@doublelock/log');
      const { parseVerifierKey, toHex } = await import('@doublelock/log/verifier');
      const { HubClient } = await import('@doublelock/hub/platform');
      const { rememberCheckpoint } = await import('../auditProgress.ts');
      const client = new HubClient(options.hubUrl, options.hubKey);
      const state = new FileWitnessState(options.state);
      const seen = (await state.load())[parseVerifierKey(options.logKey).name];
      try {
        const result = await auditLog(client.log, { logKey: options.logKey, seen });
        await rememberCheckpoint(state, result.checkpoint);
        console.log(`hub audit OK: ${result.entries} entries hash to the signed root ${toHex(result.checkpoint.rootHash)}${seen ? `, consistent with size ${seen.size} seen before` : ''}.`);
      } catch (error) {
        if (error instanceof AuditError) throw new Error(`HUB AUDIT FAILED: ${error.message}`);
        throw error;
      }
    });

  hub
    .command('publish <bank>')
    .description('publish one of your own banks to the hub (new signals submitted, removed ones withdrawn); run again to send what changed')
    .requiredOption('--hub-url <url>', 'the hub', process.env.DOUBLELOCK_HUB_URL)
    .requiredOption('--hub-key <key>', 'your member API key', process.env.DOUBLELOCK_HUB_KEY)
    .option('--as <name>', 'the bank name on the hub (default: the same)')
    .option('--data <dir>', "your server's data folder", process.env.DOUBLELOCK_DATA ?? './data')
    .option('--database-url <url>', "your server's PostgreSQL instead", process.env.DATABASE_URL)
    .action(async (bank: string, options: { hubUrl: string; hubKey: string; as?: string; data: string; databaseUrl?: string }) => {
      const { openDb } = await import('@doublelock/store');
      const { HubClient, publishBank } = await import('@doublelock/hub/platform');
      const db = await openDb({ dataDir: options.data, databaseUrl: options.databaseUrl });
      try {
        const r = await publishBank(db, new HubClient(options.hubUrl, options.hubKey), bank, { ...(options.as && { hubBank: options.as }), syncedPrefix: 'hub-' });
        console.log(`published ${bank}: ${r.submitted} signal(s) submitted, ${r.withdrawn} withdrawn.`);
      } finally {
        await db.close();
      }
    });
}
