import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { createCheckerSecret, createSweep, finished, readSweep, startSweepCluster, SWEEPS_PATH, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-suspend-suite-3a8c55';
const UNITS = 12;

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let checker: FakeChecker;
let operator: SweepOperator;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-suspend'));
  await createCheckerSecret(cluster, HMAC_KEY);
  checker = await startFakeChecker({ key: HMAC_KEY, delayMs: 250 });
  operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
});
afterAll(async () => {
  await operator?.stop();
  await checker?.close();
  await stopCluster();
});

async function setSuspend(name: string, suspend: boolean): Promise<void> {
  const patched = await cluster.request('PATCH', `${SWEEPS_PATH(cluster.namespace)}/${name}`, { body: { spec: { suspend } }, contentType: 'application/merge-patch+json' });
  if (patched.status !== 200) throw new Error(`patching Sweep ${name}: ${patched.status} ${patched.text}`);
}

describe('suspending a Sweep mid-run', () => {
  it('starts no new unit while suspended and says so; resuming carries on with the same run, each unit checked once', async () => {
    await createSweep(cluster, 'paused', {
      repositories: Array.from({ length: UNITS }, (_, i) => ({ name: `p-${i}`, url: `https://github.com/acme/p-${i}` })),
      checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 }],
      concurrency: 2,
    });
    const running = await waitForSweep(cluster, 'paused', (status) => (status?.progress?.completed ?? 0) >= 2, 15_000);
    const runId = running.status?.workflow?.id;
    await setSuspend('paused', true);
    const suspended = await waitForSweep(cluster, 'paused', (status) => status?.phase === 'Suspended', 15_000);
    expect(suspended.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended', observedGeneration: 2 });
    // The checks asked before the suspension was seen finish; after that, nothing more is asked.
    await delay(600);
    const callsWhileSuspended = checker.totalCalls;
    expect(callsWhileSuspended).toBeLessThan(UNITS);
    await delay(1_500);
    expect(checker.totalCalls).toBe(callsWhileSuspended);
    const held = await readSweep(cluster, 'paused');
    expect(held.status?.phase).toBe('Suspended');
    expect(held.status?.workflow?.id).toBe(runId);
    const finishedBefore = (held.status?.results ?? []).filter((result) => result.state === 'Passed').map((result) => result.repository);

    await setSuspend('paused', false);
    const done = await waitForSweep(cluster, 'paused', finished, 30_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.observedGeneration).toBe(3);
    // Only suspend changed: the same run, no unit checked twice, the units finished before kept as they were.
    expect(done.status?.workflow?.id).toBe(runId);
    expect(checker.totalCalls).toBe(UNITS);
    expect(new Set(checker.requests.map((body) => body.repository.name)).size).toBe(UNITS);
    expect((done.status?.results ?? []).every((result) => result.state === 'Passed' && result.attempts === 1)).toBe(true);
    expect(finishedBefore.length).toBeGreaterThanOrEqual(2);
    expect(done.status?.history ?? []).toEqual([]);
  }, 60_000);
});
