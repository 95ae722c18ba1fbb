import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sweep, SweepStatus } from '../../../src/api/sweep.ts';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { parsePrometheusText } from '../../support/prometheus-text.ts';
import { startSweepOperator, SWEEP_TEST_TUNING, type SweepOperator } from './sweep-operator.ts';
import { createCheckerSecret, createSweep, finished, jobCheck, readSweep, startSweepCluster, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-breaker-suite-9d27e1';
/** SWEEP_TEST_TUNING's retry presets allow this many attempts. */
const MAX_ATTEMPTS = 4;
const WAITING = 'waiting for a dependency: ';

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-breaker'));
  await createCheckerSecret(cluster, HMAC_KEY);
});
afterAll(async () => {
  await stopCluster();
});

const condition = (status: SweepStatus | undefined, type: string) => status?.conditions?.find((c) => c.type === type);
const httpCheck = (checker: FakeChecker, name = 'merge-ready') => ({ name, runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 });
const repositories = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, url: `https://github.com/acme/${prefix}-${i}` }));

/** A fresh checker (its own breaker) and an operator whose breakers open after 3 failures in a row and half-open after `halfOpenMs`. */
function checkerAndOperator(halfOpenMs: number): { checker: () => FakeChecker; operator: () => SweepOperator } {
  let checker: FakeChecker | undefined;
  let operator: SweepOperator | undefined;
  beforeAll(async () => {
    checker = await startFakeChecker({ key: HMAC_KEY });
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace, { tuning: { ...SWEEP_TEST_TUNING, breakers: { consecutiveFailures: 3, halfOpenAfterMs: halfOpenMs } } });
  });
  afterAll(async () => {
    await operator?.stop();
    await checker?.close();
  });
  return { checker: () => checker as FakeChecker, operator: () => operator as SweepOperator };
}

/** The checker's breaker as the operator's metrics show it: its state gauge (2 open) and how often it has half-opened. */
async function breakerSeen(operator: SweepOperator, checker: FakeChecker): Promise<{ state: number | undefined; halfOpened: number }> {
  const breaker = `checker:${new URL(checker.url).host}`;
  const samples = [...parsePrometheusText(await operator.metrics()).values()].flatMap((family) => family.samples).filter((sample) => sample.labels['breaker'] === breaker);
  const state = samples.find((sample) => sample.name === 'blackroad_circuit_breaker_state')?.value;
  const halfOpened = samples.find((sample) => sample.name === 'blackroad_circuit_breaker_transitions_total' && sample.labels['to'] === 'half-open')?.value ?? 0;
  return { state, halfOpened };
}

describe('a checker answering 5xx', () => {
  const HALF_OPEN_MS = 1_500;
  const { checker } = checkerAndOperator(HALF_OPEN_MS);

  it('opens its breaker: the Sweep shows DependencyUnavailable, waits for half-open without using attempts, and succeeds once the checker recovers', async () => {
    checker().misbehaveNext('server-error', 5);
    await createSweep(cluster, 'storm', {
      repositories: repositories('storm', 6),
      checks: [httpCheck(checker())],
      concurrency: 2,
    });

    const blocked = await waitForSweep(cluster, 'storm', (status) => condition(status, 'Reconciling')?.reason === 'DependencyUnavailable', 20_000);
    const seenAtMs = Date.now();
    expect(blocked.status?.phase).toBe('Running');
    expect(condition(blocked.status, 'Ready')).toMatchObject({ status: 'False', reason: 'DependencyUnavailable' });
    expect(condition(blocked.status, 'Reconciling')?.message).toMatch(/is waiting for a dependency: circuit breaker checker:127\.0\.0\.1:\d+ (is open|opened on this failure: checker answered .* with HTTP 500)/);
    const waiting = (blocked.status?.results ?? []).filter((result) => result.message?.startsWith(WAITING) === true);
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
    expect(checker().totalCalls - 5).toBe(6);
  }, 60_000);
});

describe('a checker whose breaker is open', () => {
  // Long enough for the test to look at both Sweeps while the breaker is still open.
  const HALF_OPEN_MS = 5_000;
  const { checker, operator } = checkerAndOperator(HALF_OPEN_MS);
  const callsFor = (repository: string): number => checker().requests.filter((request) => request.repository.name === repository).length;
  const results = (sweep: Sweep) => sweep.status?.results ?? [];

  it('gets no call until the breaker half-opens: units not started stay Pending, units due for a retry wait without an attempt, and all pass once it is back', async () => {
    checker().misbehaveNext('server-error', 3);
    // Three calls at once, all failing: the third opens the breaker, the other two units are due for a retry.
    await createSweep(cluster, 'trip', { repositories: repositories('trip', 3), checks: [httpCheck(checker())], concurrency: 3 });
    await waitForSweep(cluster, 'trip', (status) => status?.results?.length === 3 && status.results.every((result) => result.message?.startsWith(WAITING) === true), 20_000);
    // A Sweep created while the breaker is open: none of its units may start.
    await createSweep(cluster, 'later', { repositories: repositories('later', 4), checks: [httpCheck(checker())], concurrency: 2 });
    await waitForSweep(cluster, 'later', (status) => condition(status, 'Reconciling')?.reason === 'DependencyUnavailable', 20_000);
    const trip = await readSweep(cluster, 'trip');
    const later = await readSweep(cluster, 'later');
    expect(await breakerSeen(operator(), checker()), 'the breaker was still open when the Sweeps were read').toEqual({ state: 2, halfOpened: 0 });

    expect(checker().totalCalls).toBe(3);
    // An attempt is counted only when it calls the checker.
    for (const result of [...results(trip), ...results(later)]) expect(result.attempts, `attempts of ${result.repository}`).toBeLessThanOrEqual(callsFor(result.repository));
    expect(results(trip).map((result) => [result.state, result.attempts])).toEqual([
      ['Pending', 1],
      ['Pending', 1],
      ['Running', 1],
    ]);
    expect(results(later).map((result) => [result.state, result.attempts, result.startedAt])).toEqual(Array.from({ length: 4 }, () => ['Pending', 0, undefined]));
    expect(later.status?.phase).toBe('Pending');
    expect(condition(later.status, 'Ready')).toMatchObject({ status: 'False', reason: 'DependencyUnavailable' });
    expect(condition(later.status, 'Reconciling')?.message).toMatch(/later-0\/merge-ready is waiting for a dependency: circuit breaker checker:127\.0\.0\.1:\d+ is open; retry in \d+ ms/);

    const laterDone = await waitForSweep(cluster, 'later', finished, 30_000);
    const tripDone = await waitForSweep(cluster, 'trip', finished, 30_000);
    expect([tripDone.status?.phase, laterDone.status?.phase]).toEqual(['Succeeded', 'Succeeded']);
    // The three failures, then one verdict per unit.
    expect(checker().totalCalls).toBe(3 + 3 + 4);
    for (const result of results(laterDone)) expect([result.state, result.attempts, callsFor(result.repository)]).toEqual(['Passed', 1, 1]);
    for (const result of results(tripDone)) expect(result.attempts).toBeLessThanOrEqual(callsFor(result.repository));
  }, 60_000);
});

describe('a Sweep mixing http checks through a failing checker with job checks', () => {
  // Long enough for the Jobs to run while the breaker is open, on a real cluster too.
  const HALF_OPEN_MS = 15_000;
  const { checker, operator } = checkerAndOperator(HALF_OPEN_MS);
  const isJob = (result: { check: string }) => result.check === 'build';
  const callsFor = (result: { repository: string; check: string }): number => checker().requests.filter((request) => request.repository.name === result.repository && request.check === result.check).length;

  it('runs its job units while the breaker is open: http units waiting for the breaker hold no slot, and they pass once it is back', async () => {
    checker().misbehaveNext('server-error', 3);
    // Each repository's three http checks come first: mixed-0's start together and all fail, the third failure
    // opening the breaker. Only that unit keeps its slot (it waits within its attempt); the Jobs take the others.
    const checks = [httpCheck(checker(), 'merge-ready'), httpCheck(checker(), 'license'), httpCheck(checker(), 'deps'), jobCheck('build', 'succeed')];
    await createSweep(cluster, 'mixed', { repositories: repositories('mixed', 2), checks, concurrency: 3 });

    const jobsDone = await waitForSweep(cluster, 'mixed', (status) => (status?.results ?? []).filter((result) => isJob(result) && result.state === 'Passed').length === 2, HALF_OPEN_MS);
    expect(await breakerSeen(operator(), checker()), 'the breaker was still open when the Jobs had finished').toEqual({ state: 2, halfOpened: 0 });
    expect(checker().totalCalls).toBe(3);
    const results = jobsDone.status?.results ?? [];
    expect(results.filter(isJob).map((result) => [result.repository, result.state, result.attempts])).toEqual([
      ['mixed-0', 'Passed', 1],
      ['mixed-1', 'Passed', 1],
    ]);
    // mixed-1's http units were deferred before they started: no attempt, no call.
    expect(results.filter((result) => result.repository === 'mixed-1' && !isJob(result)).map((result) => [result.state, result.attempts, result.startedAt, callsFor(result)])).toEqual(Array.from({ length: 3 }, () => ['Pending', 0, undefined, 0]));
    for (const result of results) expect(result.attempts, `attempts of ${result.repository}/${result.check}`).toBeLessThanOrEqual(isJob(result) ? 1 : callsFor(result));
    expect(jobsDone.status?.phase).toBe('Running');
    expect(condition(jobsDone.status, 'Ready')).toMatchObject({ status: 'False', reason: 'DependencyUnavailable' });

    const done = await waitForSweep(cluster, 'mixed', finished, HALF_OPEN_MS + 20_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.summary).toEqual({ passed: 8, failed: 0, errored: 0, skipped: 0 });
    // The three failures, then one verdict per http unit.
    expect(checker().totalCalls).toBe(3 + 6);
    for (const result of done.status?.results ?? []) {
      if (isJob(result)) continue;
      expect(result.attempts, `attempts of ${result.repository}/${result.check}`).toBeLessThan(MAX_ATTEMPTS);
      if (result.repository === 'mixed-1') expect([result.state, result.attempts, callsFor(result)]).toEqual(['Passed', 1, 1]);
    }
  }, HALF_OPEN_MS + 60_000);
});
