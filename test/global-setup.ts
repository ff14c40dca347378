/**
 * Makes `npm test` self-contained: if no PostgreSQL/Redis test servers are configured, start the
 * project's own on 127.0.0.1 (scripts/services.sh, which installs them with apt when missing) and stop
 * them afterwards. CI starts them itself and sets the URLs, so nothing happens here then.
 * Set SIGNLEDGER_NO_SERVICES=1 to skip (those suites then report themselves as skipped).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

let started = false;

export function setup(): void {
  if (process.env.SIGNLEDGER_TEST_POSTGRES_URL || process.env.SIGNLEDGER_NO_SERVICES) return;
  try {
    execFileSync('bash', ['scripts/services.sh', 'start'], { stdio: ['ignore', 'inherit', 'inherit'] });
    // Stop them afterwards only if this run started them (not when it reused running ones).
    started = !existsSync('.tmp/services.reused');
  } catch (err) {
    console.warn(
      `[signledger] could not start PostgreSQL/Redis (${(err as Error).message}); their suites will be skipped`,
    );
    return;
  }
  if (existsSync('.tmp/services.env')) {
    for (const line of readFileSync('.tmp/services.env', 'utf8').split('\n')) {
      const m = /^export (\w+)=(.*)$/.exec(line);
      if (m) process.env[m[1]!] = m[2]!;
    }
  }
}

export function teardown(): void {
  if (started) execFileSync('bash', ['scripts/services.sh', 'stop'], { stdio: 'inherit' });
}
