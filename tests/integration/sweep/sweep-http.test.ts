import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { createCheckerSecret, createSweep, finished, readSweep, startSweepCluster, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-http-suite-4c1e9a';

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let checker: FakeChecker;
let operator: SweepOperator | undefined;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-http'));
  await createCheckerSecret(cluster, HMAC_KEY);
});
afterEach(async () => {
  await operator?.stop();
  operator = undefined;
  await checker.close();
});
afterAll(async () => {
  await stopCluster();
});

const httpCheck = (url: string) => ({ name: 'merge-ready', runner: 'http', url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 });
const repositories = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, url: `https://github.com/acme/${prefix}-${i}`, ref: 'main' }));

describe('a Sweep of http checks against a checker service', () => {
  it('signs every request with the Secret, asks once per unit, and records verdicts with their details', async () => {
    checker = await startFakeChecker({ key: HMAC_KEY, delayMs: 20 });
    checker.setVerdict('svc-3', 'merge-ready', { status: 'fail', details: { reasons: ['2 unresolved review threads'] } });
    checker.setVerdict('svc-7', 'merge-ready', { status: 'fail', details: 'branch is behind main' });
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    await createSweep(cluster, 'merge-ready', { repositories: repositories('svc', 12), checks: [httpCheck(checker.url)], concurrency: 4 });
    const done = await waitForSweep(cluster, 'merge-ready', finished);

    expect(checker.rejectedSignatures).toBe(0);
    expect(checker.totalCalls).toBe(12);
    expect(checker.maxInFlight).toBeLessThanOrEqual(4);
    expect(checker.requests.find((body) => body.repository.name === 'svc-0')).toEqual({ repository: { name: 'svc-0', url: 'https://github.com/acme/svc-0' }, ref: 'main', check: 'merge-ready' });
    const results = done.status?.results ?? [];
    expect(results.map((r) => r.state)).toEqual(results.map((r) => (r.repository === 'svc-3' || r.repository === 'svc-7' ? 'Failed' : 'Passed')));
    expect(results[3]?.message).toBe('{"reasons":["2 unresolved review threads"]}');
    expect(results[7]?.message).toBe('branch is behind main');
    expect(results.every((r) => r.attempts === 1 && r.jobName === undefined)).toBe(true);
    expect(done.status?.summary).toEqual({ passed: 10, failed: 2, errored: 0, skipped: 0 });
  }, 90_000);

  it('answers outside the protocol error their units at once with a message; a 5xx is retried', async () => {
    checker = await startFakeChecker({ key: HMAC_KEY });
    checker.misbehaveNext('not-json');
    checker.misbehaveNext('bad-request');
    checker.misbehaveNext('server-error');
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    // One at a time, so the three misbehaving answers go to the first three units in order.
    await createSweep(cluster, 'misbehaving', { repositories: repositories('bad', 4), checks: [httpCheck(checker.url)], concurrency: 1 });
    const done = await waitForSweep(cluster, 'misbehaving', finished);

    const results = done.status?.results ?? [];
    expect(results.map((r) => [r.repository, r.state, r.attempts])).toEqual([
      ['bad-0', 'Errored', 1],
      ['bad-1', 'Errored', 1],
      ['bad-2', 'Passed', 2],
      ['bad-3', 'Passed', 1],
    ]);
    expect(results[0]?.message).toMatch(/^checker answered POST http:\/\/127\.0\.0\.1:\d+\/check \(HTTP 200\) with a body that is not JSON: <html>/);
    expect(results[1]?.message).toMatch(/^checker answered POST .* with HTTP 400: \{"error":"unknown check"\}$/);
    expect(checker.totalCalls).toBe(5);
    expect(done.status?.phase).toBe('Failed');
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'ChecksFailed', message: '2 units errored; 2 of 4 passed' });
  }, 90_000);

  it('a Secret or key the http checks need that does not exist stalls the Sweep with InvalidSpec before any check, and it is not retried', async () => {
    checker = await startFakeChecker({ key: HMAC_KEY });
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    const checks = [
      { ...httpCheck(checker.url), secretRef: { name: 'checker', key: 'signing' } },
      { ...httpCheck(checker.url), name: 'licence', secretRef: { name: 'no-such-secret', key: 'hmac' } },
    ];
    await createSweep(cluster, 'unsigned', { repositories: repositories('uns', 3), checks, concurrency: 2 });
    const stalled = await waitForSweep(cluster, 'unsigned', (status) => status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True') === true);

    expect(stalled.status?.phase).toBe('Failed');
    const condition = stalled.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(condition?.reason).toBe('InvalidSpec');
    expect(condition?.message).toBe(
      `The http checks' signing keys are missing, so no check was started: check "merge-ready": Secret ${cluster.namespace}/checker has no key "signing" (its keys are "hmac"); check "licence": Secret ${cluster.namespace}/no-such-secret not found`,
    );
    expect(stalled.status?.workflow?.steps.map((step) => [step.name, step.state, step.attempts])).toEqual([
      ['validate', 'Failed', 1],
      ['checks', 'Skipped', 0],
    ]);
    expect(stalled.status?.results?.every((result) => result.state === 'Pending' && result.attempts === 0)).toBe(true);
    // Not retried: a while later nothing has moved and the checker was never asked.
    await delay(1_500);
    const later = await readSweep(cluster, 'unsigned');
    expect(later.status?.workflow?.steps.find((step) => step.name === 'validate')?.attempts).toBe(1);
    expect(checker.totalCalls).toBe(0);
    const events = await cluster.request('GET', `/apis/events.k8s.io/v1/namespaces/${cluster.namespace}/events`);
    expect(`${JSON.stringify(later.status)}${events.text}`).not.toContain(HMAC_KEY);
  }, 60_000);
});
