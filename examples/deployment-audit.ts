/**
 * Use case 4, software deployment audit: production deployments with their approvals, a signed
 * checkpoint, and an inclusion proof an outside party checks offline with only the log's public key.
 *
 *   npx tsx examples/deployment-audit.ts
 */
import { pathToFileURL } from 'node:url';
import { generateLogKey, Ledger, verifyInclusion } from '../src/index.js';

export async function main(options: { log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const logKey = generateLogKey('deploy.example.com/audit');
  const ledger = await Ledger.open({ logKey });
  try {
    const deployment = await ledger.append({
      deployment_id: 'DEPLOY-2024-042',
      application: 'api-service',
      version: 'v2.3.1',
      environment: 'production',
      deployed_by: 'deploy_bot',
      approved_by: ['alice@company.com', 'bob@company.com'],
      commit_sha: 'a1b2c3d4',
      rollback_plan: 'automatic',
      health_check: 'PASSED',
    });
    await ledger.append({
      deployment_id: 'DEPLOY-2024-043',
      application: 'web',
      version: 'v1.9.0',
      environment: 'staging',
      deployed_by: 'carol',
      approved_by: [],
    });

    // A policy check over the log: every production deployment needs two approvals.
    const production = await ledger.query({ where: { 'data.environment': 'production' } });
    const unapproved = production.filter(
      (e) => ((e.data?.approved_by as string[] | undefined) ?? []).length < 2,
    );
    log(`Production deployments: ${production.length}, without two approvals: ${unapproved.length}`);

    // Publish a signed checkpoint; hand out the entry, its proof and the checkpoint.
    const checkpoint = await ledger.checkpoint();
    const proof = await ledger.proveInclusion(deployment.id);
    const included = verifyInclusion(deployment, proof, checkpoint, ledger.verifierKey!);
    log(
      `Checkpoint ${checkpoint.size} signed by ${checkpoint.origin}; DEPLOY-2024-042 included: ${included}`,
    );
    log(checkpoint.text);
    await ledger.verifyIntegrity();
    return {
      production: production.length,
      unapproved: unapproved.length,
      included,
      checkpointSize: checkpoint.size,
    };
  } finally {
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
