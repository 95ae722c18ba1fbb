import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitResult } from '../../../src/api/sweep.ts';
import { SseReader } from '../../events/sse-reader.ts';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { createCheckerSecret, createSweep, eventually, finished, readSweep, startSweepCluster, sweepEventReasons, SWEEPS_PATH, waitForSweep } from './sweep-suite.ts';

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
  // The probe server serves /events, the domain events as they are emitted.
  operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace, { env: { HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0' } });
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

  it('units not started when the suspension is seen stay Pending with no attempt, no startedAt, no job.started and no call; resumed, each runs once in one attempt', async () => {
    const events = await SseReader.open(`${operator.endpoints.probes ?? ''}/events`);
    try {
      const repositories = Array.from({ length: UNITS }, (_, i) => ({ name: `h-${i}`, url: `https://github.com/acme/h-${i}` }));
      const callsFor = (result: UnitResult): number => checker.requests.filter((request) => request.repository.name === result.repository).length;
      /** `unit#attempt` of each job.started the Sweep's units were announced with. */
      const unitsStarted = (): string[] =>
        events.messages
          .map((message) => JSON.parse(message.data) as { type: string; source: string; data: { unit?: string; attempt?: number } })
          .filter((event) => event.type === 'io.blackroad.operator.job.started' && event.source.endsWith('/sweeps/held') && event.data.unit !== undefined)
          .map((event) => `${event.data.unit ?? ''}#${event.data.attempt ?? 0}`);
      await createSweep(cluster, 'held', {
        repositories,
        checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 }],
        concurrency: 2,
      });
      await waitForSweep(cluster, 'held', (status) => (status?.progress?.completed ?? 0) >= 2, 15_000);
      await setSuspend('held', true);
      // Once the units in flight have finished, the Sweep says it holds every other one.
      const quiet = await waitForSweep(cluster, 'held', (status) => status?.phase === 'Suspended' && status.conditions?.find((c) => c.type === 'Ready')?.message === 'spec.suspend is true', 15_000);
      const calls = checker.totalCalls;
      await delay(1_000);
      expect(checker.totalCalls).toBe(calls);
      const held = await readSweep(cluster, 'held');
      expect(held.metadata.resourceVersion).toBe(quiet.metadata.resourceVersion);
      const results = held.status?.results ?? [];
      const ran = results.filter((result) => callsFor(result) > 0);
      const notRun = results.filter((result) => callsFor(result) === 0);
      expect(notRun.length).toBeGreaterThan(0);
      expect(ran.map((result) => [result.repository, result.state, result.attempts, callsFor(result)])).toEqual(ran.map((result) => [result.repository, 'Passed', 1, 1]));
      // A unit whose check never started is not reported as started, in status or in events.
      expect(notRun.map((result) => [result.repository, result.state, result.attempts, result.startedAt])).toEqual(notRun.map((result) => [result.repository, 'Pending', 0, undefined]));
      expect(notRun.filter((result) => result.message === 'not started: the Sweep is suspended').map((result) => result.repository)).toEqual(notRun.map((result) => result.repository));
      expect(held.status?.progress).toMatchObject({ total: UNITS, completed: ran.length });
      await eventually(async () => unitsStarted().length >= ran.length);
      expect(unitsStarted().sort()).toEqual(ran.map((result) => `${result.repository}/merge-ready#1`).sort());
      // A unit's start is no Kubernetes Event: the StepStarted ones are the validate step's and the checks group's.
      expect((await sweepEventReasons(cluster, 'held')).filter((reason) => reason === 'StepStarted')).toEqual(['StepStarted', 'StepStarted']);

      await setSuspend('held', false);
      const done = await waitForSweep(cluster, 'held', finished, 30_000);
      expect(done.status?.phase).toBe('Succeeded');
      expect(done.status?.workflow?.id).toBe(held.status?.workflow?.id);
      expect((done.status?.results ?? []).map((result) => [result.repository, result.state, result.attempts, callsFor(result)])).toEqual(repositories.map(({ name }) => [name, 'Passed', 1, 1]));
      await eventually(async () => unitsStarted().length >= UNITS);
      expect(unitsStarted().sort()).toEqual(repositories.map(({ name }) => `${name}/merge-ready#1`).sort());
    } finally {
      events.close();
    }
  }, 60_000);
});
