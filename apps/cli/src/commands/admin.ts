/** `doublelock admin …`: operator commands that read the server's store directly. */
import { createStores, openDb } from '@doublelock/store';
import type { Command } from 'commander';

interface StoreOptions {
  data: string;
  databaseUrl?: string;
}

async function withStores<T>(options: StoreOptions, fn: (stores: ReturnType<typeof createStores>) => Promise<T>): Promise<T> {
  const db = await openDb({ dataDir: options.data, databaseUrl: options.databaseUrl });
  try {
    return await fn(createStores(db));
  } finally {
    await db.close();
  }
}

export function register(program: Command): void {
  const admin = program.command('admin').description('operator commands on a server’s store');
  const storeOptions = (command: Command) =>
    command
      .option('--data <dir>', 'data folder of an embedded (SQLite) server', process.env.DOUBLELOCK_DATA ?? './data')
      .option('--database-url <url>', 'PostgreSQL URL of the server', process.env.DATABASE_URL);

  storeOptions(admin.command('reports').description('list verified reports from private chats, newest first'))
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'one JSON object a line')
    .action(async (options: StoreOptions & { limit: string; json?: boolean }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, not "${options.limit}"`);
      const reports = await withStores(options, (stores) => stores.reports.list(limit));
      if (options.json) for (const r of reports) console.log(JSON.stringify(r));
      else if (reports.length === 0) console.log('No reports.');
      else for (const r of reports) console.log(`#${r.id}  ${new Date(r.createdAt).toISOString()}  sender ${r.sender}  group ${r.groupId} seq ${r.seq}  ${r.reason}`);
    });

  storeOptions(admin.command('account').description('show an account and its devices').argument('<username>')).action(async (username: string, options: StoreOptions) => {
    const account = await withStores(options, (stores) => stores.accounts.get(username));
    if (!account) throw new Error(`no account "${username}"`);
    console.log(`${account.username}`);
    for (const d of account.devices) console.log(`  ${d.deviceId}  ${d.name}  added ${new Date(d.createdAt).toISOString()}${d.revokedAt ? `  revoked ${new Date(d.revokedAt).toISOString()}` : ''}`);
  });
}
