/**
 * Global setup: one real PostgreSQL for the whole test run, on loopback in a temp directory. Suites ask
 * for a fresh database on it (see @doublelock/store/testing). Missing PostgreSQL: loud skip locally,
 * failure with CI=true.
 */
import type { TestProject } from 'vitest/node';
import { findPostgresBin, requireBinary, startPostgres, type RunningPostgres } from './packages/store/src/test-postgres.ts';

let postgres: RunningPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (requireBinary('PostgreSQL', findPostgresBin() !== undefined)) {
    postgres = await startPostgres();
    project.provide('postgresUrl', postgres.url);
  } else {
    project.provide('postgresUrl', '');
  }
}

export async function teardown(): Promise<void> {
  await postgres?.stop();
}
