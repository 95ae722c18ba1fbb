import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepStatus } from '../../../src/api/sweep.ts';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { startSweepOperator, SWEEP_TEST_TUNING, type SweepOperator } from './sweep-operator.ts';
import { createCheckerSecret, createSweep, finished, startSweepCluster, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-breaker-suite-9d27e1';
const HALF_OPEN_MS = 1_500;
/** SWEEP_TEST_TUNING's retry presets allow this many attempts. */
const MAX_ATTEMPTS = 4;

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let checker: FakeChecker;
let operator: SweepOperator;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-breaker'));
  await createCheckerSecret(cluster, HMAC_KEY);
  checker = await startFakeChecker({ key: HMAC_KEY });
  operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace, { tuning: { ...SWEEP_TEST_TUNING, breakers: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_MS } } });
});
afterAll(async () => {
  await operator?.stop();
  await checker?.close();
  await stopCluster();
});

const condition = (status: SweepStatus | undefined, type: string) => status?.conditions?.find((c) => c.type === type);

describe('a checker answering 5xx', () => {
  it('opens its breaker: the Sweep shows DependencyUnavailable, waits for half-open without using attempts, and succeeds once the checker recovers', async () => {
    checker.misbehaveNext('server-error', 5);
    await createSweep(cluster, 'storm', {
      repositories: Array.from({ length: 6 }, (_, i) => ({ name: `storm-${i}`, url: `https://github.com/acme/storm-${i}` })),
      checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 }],
      concurrency: 2,
    });

    const blocked = await waitForSweep(cluster, 'storm', (status) => condition(status, 'Reconciling')?.reason === 'DependencyUnavailable', 20_000);
    const seenAtMs = Date.now();
    expect(blocked.status?.phase).toBe('Running');
    expect(condition(blocked.status, 'Ready')).toMatchObject({ status: 'False', reason: 'DependencyUnavailable' });
    expect(condition(blocked.status, 'Reconciling')?.message).toMatch(/is waiting for a dependency: circuit breaker checker:127\.0\.0\.1:\d+ (is open|opened on this failure: checker answered .* with HTTP 500)/);
    const waiting = (blocked.status?.results ?? []).filter((result) => result.message?.startsWith('waiting for a dependency: ') === true);
    expect(waiting.length).toBeGreaterThan(0);
    // The unit comes back when the breaker half-opens, not on the retry policy's schedule.
    for (const result of waiting) expect(Date.parse(result.nextAttemptAt ?? '') - seenAtMs).toBeLessThanOrEqual(HALF_OPEN_MS + 250);

    const done = await waitForSweep(cluster, 'storm', finished, 30_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(condition(done.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    const results = done.status?.results ?? [];
    expect(results.map((result) => result.state)).toEqual(Array.from({ length: 6 }, () => 'Passed'));
    // The open breaker was the outage's: no unit ran out of attempts, and each was answered once with a verdict.
    for (const result of results) expect(result.attempts).toBeLessThan(MAX_ATTEMPTS);
    expect(checker.totalCalls - 5).toBe(6);
  }, 60_000);
});
