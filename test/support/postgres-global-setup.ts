// vitest globalSetup: one PostgreSQL for the whole run (test/support/postgres.ts), its URL
// provided to every worker as `etdiPostgresUrl`. With ETDI_TEST_DATABASE_URL set, that server is
// used and nothing is started.
import type { TestProject } from 'vitest/node';
import { DATABASE_URL_ENV, startTestPostgres } from './postgres.js';

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const external = process.env[DATABASE_URL_ENV];
  if (external) {
    project.provide('etdiPostgresUrl', external);
    return undefined;
  }
  const server = await startTestPostgres();
  if (process.env.ETDI_TEST_POSTGRES_TIMING) console.log(`test PostgreSQL started in ${server.startupMs} ms`);
  project.provide('etdiPostgresUrl', server.url);
  return () => server.stop();
}
