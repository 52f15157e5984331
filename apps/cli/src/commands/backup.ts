/** `doublelock backup` and `doublelock restore`: a consistent copy of a running deployment, and its way back (docs/OPERATIONS.md). */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('backup')
    .description('back up a running server: its database (SQLite online backup, or pg_dump) and data folder')
    .requiredOption('--out <dir>', 'a new, empty folder for the backup')
    .option('--data <dir>', 'the server\'s data folder', process.env.DOUBLELOCK_DATA ?? './data')
    .option('--database-url <url>', 'the PostgreSQL database to dump (else the SQLite database in --data)', process.env.DATABASE_URL)
    .option('--blob-dir <dir>', 'the blob store folder, when it is not <data>/blobs')
    .action(async (options: { out: string; data: string; databaseUrl?: string; blobDir?: string }) => {
      const { backup } = await import('@doublelock/store/backup');
      const started = Date.now();
      await backup({ dataDir: options.data, out: options.out, databaseUrl: options.databaseUrl, blobDir: options.blobDir });
      console.log(`Backed up ${options.databaseUrl ? 'the PostgreSQL database' : 'the SQLite database'} and ${options.data} to ${options.out} in ${Date.now() - started} ms.`);
    });
  program
    .command('restore')
    .description('restore a backup into a new data folder (and an empty PostgreSQL database)')
    .requiredOption('--from <dir>', 'the backup folder')
    .requiredOption('--data <dir>', 'a new, empty data folder')
    .option('--database-url <url>', 'an empty PostgreSQL database to restore a PostgreSQL backup into')
    .option('--blob-dir <dir>', 'where the blobs go, when not <data>/blobs')
    .action(async (options: { from: string; data: string; databaseUrl?: string; blobDir?: string }) => {
      const { restore } = await import('@doublelock/store/backup');
      await restore({ from: options.from, dataDir: options.data, databaseUrl: options.databaseUrl, blobDir: options.blobDir });
      console.log(`Restored ${options.from} into ${options.data}${options.databaseUrl ? ' and the PostgreSQL database' : ''}. Start the server on it with: doublelock serve --data ${options.data}${options.databaseUrl ? ' --database-url …' : ''}`);
    });
}
