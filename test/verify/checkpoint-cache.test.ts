/**
 * Opened checkpoint notes are cached (the signature check is the costly part), but never shared: a
 * caller that changes the object it got back must not change what later verifications see.
 */
import { expect, it } from 'vitest';
import { ProofError } from '../../src/errors.js';
import { generateLogKey, Ledger, openSignedCheckpoint, verifyInclusion } from '../../src/index.js';

it('a root buffer changed through a returned checkpoint object does not reach the cache', async () => {
  const key = generateLogKey('cache.example/log');
  const genuine = new Ledger({ logKey: key });
  for (let i = 0; i < 4; i++) await genuine.append({ i });
  const cp = await genuine.checkpoint();
  // Another log under the same key name, holding the entry to forge.
  const other = new Ledger({ logKey: generateLogKey('cache.example/log') });
  for (let i = 0; i < 4; i++) await other.append({ i, forged: true });
  const ocp = await other.checkpoint();
  const forged = (await other.getEntryAt(2))!;
  const proof = await other.proveInclusion(2, ocp);
  expect(() => verifyInclusion(forged, proof, cp.text, key.verifierKey)).toThrow(ProofError);

  for (const form of [cp.text, cp]) {
    const opened = openSignedCheckpoint(form, key.verifierKey);
    Buffer.from(ocp.rootHash, 'hex').copy(opened.rootHash);
    (opened as { size: number }).size = 99;
    expect(() => verifyInclusion(forged, proof, cp.text, key.verifierKey)).toThrow(ProofError);
    expect(openSignedCheckpoint(cp.text, key.verifierKey)).toMatchObject({ size: 4 });
    expect(openSignedCheckpoint(cp.text, key.verifierKey).rootHash.toString('hex')).toBe(cp.rootHash);
  }
  const own = await genuine.proveInclusion(2, cp);
  expect(verifyInclusion((await genuine.getEntryAt(2))!, own, cp.text, key.verifierKey)).toBe(true);
});
