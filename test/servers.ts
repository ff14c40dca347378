/**
 * The real PostgreSQL and Redis servers tests run against (started by test/global-setup.ts unless
 * their URLs are given). When one is missing its tests are skipped, and this says so plainly.
 */
const warned = new Set<string>();

function server(variable: string, what: string, where: string): string | undefined {
  const url = process.env[variable];
  if (!url && !warned.has(where)) {
    warned.add(where);
    console.warn(`[signledger] ${where}: ${what} tests SKIPPED: ${variable} is not set`);
  }
  return url || undefined;
}

/** URL of the test PostgreSQL server, or undefined (and a warning naming `where`). */
export const postgresUrl = (where: string) => server('SIGNLEDGER_TEST_POSTGRES_URL', 'PostgreSQL', where);
/** URL of the test Redis server, or undefined (and a warning naming `where`). */
export const redisUrl = (where: string) => server('SIGNLEDGER_TEST_REDIS_URL', 'Redis', where);
