import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepRun, workHash } from '../../../src/controllers/sweep/sweep-run.ts';
import { DEFERRED_TO_NEXT_PASS, HELD_WHILE_SUSPENDED, tally } from '../../../src/controllers/sweep/sweep-status.ts';
import { ServerError } from '../../../src/kube/errors.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { HttpCheckRunner } from '../../../src/providers/checks/http-check-runner.ts';
import { IDEMPOTENCY_KEY_ANNOTATION, REPOSITORY_LABEL, CHECK_LABEL } from '../../../src/providers/checks/job-check-manifest.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { world } from '../../support/workflow-fakes.ts';
import { realFetch, startSecretsApi, type SecretsApi } from '../../providers/provider-fixtures.ts';
import { SWEEP, SweepRig, sweepSpec } from './sweep-rig.ts';

/** Finishes every active Job: `lint` of repository b fails, `test` of c times out, the rest complete. */
function mixedOutcomes(rig: SweepRig): void {
  for (const job of rig.jobs.active()) {
    const repository = job.metadata.labels?.[REPOSITORY_LABEL];
    const check = job.metadata.labels?.[CHECK_LABEL];
    rig.jobs.finish(job.metadata.name ?? '', repository === 'b' && check === 'lint' ? 'Failed' : repository === 'c' && check === 'test' ? 'DeadlineExceeded' : 'Complete');
  }
}

/** `unit#attempt` of each job.started of a unit, in order. */
const unitsStarted = (rig: SweepRig): string[] => rig.world.events.events.flatMap((event) => (event.type === 'job.started' && event.unit !== undefined ? [`${event.unit}#${event.attempt}`] : []));

const countBy = (names: readonly string[]): Map<string, number> => names.reduce((counts, name) => counts.set(name, (counts.get(name) ?? 0) + 1), new Map<string, number>());

describe('the Sweep workflow with the job runner', () => {
  it('creates one Job per unit, never more than `concurrency` unfinished at once, and records each verdict', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec();
    const run = SweepRig.firstRun(spec);
    const { results, peakActive } = await rig.drive(spec, run, mixedOutcomes);

    expect(results.at(-1)?.state).toBe('failed');
    expect(peakActive).toBe(3);
    expect(rig.jobs.created).toHaveLength(8);
    expect([...countBy(rig.jobs.created).values()].every((count) => count === 1)).toBe(true);
    expect(rig.status?.results?.map((r) => `${r.repository}/${r.check}=${r.state}`)).toEqual([
      'a/lint=Passed',
      'a/test=Passed',
      'b/lint=Failed',
      'b/test=Passed',
      'c/lint=Passed',
      'c/test=Errored',
      'd/lint=Passed',
      'd/test=Passed',
    ]);
    const failed = rig.status?.results?.[2];
    expect(failed).toMatchObject({ attempts: 1, durationMs: 4000, jobName: rig.jobName(run, 'b', 'lint'), message: expect.stringContaining('failed (BackoffLimitExceeded)') as unknown });
    expect(rig.status?.results?.[5]?.message).toMatch(/timed out/);
    expect(tally(rig.status?.results ?? []).summary).toEqual({ passed: 6, failed: 1, errored: 1, skipped: 0 });
    // Each Job carries the idempotency key of its unit's start.
    const job = rig.jobs.jobs.get(rig.jobName(run, 'a', 'lint'));
    expect(job?.metadata.annotations?.[IDEMPOTENCY_KEY_ANNOTATION]).toBe(`${encodeURIComponent(rig.status?.workflow?.id.split('/')[0] ?? '')}/1/${run.label}/checks/${encodeURIComponent('a/lint:start')}`);
  });

  it('with failFast, starts no unit after the first failure and skips the units never started', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ failFast: true, concurrency: 1 });
    const { results } = await rig.drive(spec, SweepRig.firstRun(spec), mixedOutcomes);
    expect(results.at(-1)?.state).toBe('failed');
    // a/lint, a/test, b/lint (fails) ran; the five after it never started.
    expect(rig.jobs.created).toHaveLength(3);
    expect(rig.status?.results?.map((r) => r.state)).toEqual(['Passed', 'Passed', 'Failed', 'Skipped', 'Skipped', 'Skipped', 'Skipped', 'Skipped']);
    expect(rig.status?.results?.[3]?.message).toMatch(/fail-fast/);
  });

  it('a Job deleted before it finished is created again once; deleted again, its unit is errored', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ repositories: [{ name: 'a', url: 'https://github.com/acme/a' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] });
    const run = SweepRig.firstRun(spec);
    const name = rig.jobName(run, 'a', 'lint');
    let deletions = 0;
    const { results } = await rig.drive(spec, run, (r) => {
      if (r.jobs.jobs.has(name) && deletions < 2) {
        r.jobs.remove(name);
        deletions += 1;
      }
    });
    expect(results.at(-1)?.state).toBe('failed');
    expect(rig.jobs.created).toEqual([name, name]);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Errored', jobName: name, message: expect.stringMatching(/not found; it had been created again once already/) as unknown });
  });

  it('a Job deleted once and then finished gives its verdict', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ repositories: [{ name: 'a', url: 'https://github.com/acme/a' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] });
    const run = SweepRig.firstRun(spec);
    const name = rig.jobName(run, 'a', 'lint');
    let deleted = false;
    await rig.drive(spec, run, (r) => {
      if (!deleted) {
        r.jobs.remove(name);
        deleted = true;
      } else mixedOutcomes(r);
    });
    expect(rig.jobs.created).toEqual([name, name]);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Passed', attempts: 1 });
  });

  it('a restarted operator continues the run from status: no second Job for any unit, every verdict recorded once', async () => {
    const first = new SweepRig();
    const spec = sweepSpec();
    const run = SweepRig.firstRun(spec);
    await first.reconcile(spec, run);
    expect(first.jobs.created).toHaveLength(3);
    // The process dies; Jobs run on. A new process (another owner, same idempotency store) takes over.
    mixedOutcomes(first);
    const second = first.restarted('process-2');
    const { results } = await second.drive(spec, run, mixedOutcomes);
    expect(results.at(-1)?.state).toBe('failed');
    expect(second.jobs.created).toHaveLength(8);
    expect([...countBy(second.jobs.created).values()].every((count) => count === 1)).toBe(true);
    expect(second.status?.results?.every((r) => r.attempts === 1)).toBe(true);
  });

  it('a process that died while creating a Job leaves a claim that does not hold the unit up: creating is idempotent by name', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ repositories: [{ name: 'a', url: 'https://github.com/acme/a' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] });
    const run = SweepRig.firstRun(spec);
    // The dead process claimed the unit's start key, created the Job, and died before recording it.
    const key = `${encodeURIComponent('0c5b2a1e-3f4d-4e5f-8a9b-1c2d3e4f5a6b')}/1/${run.label}/checks/${encodeURIComponent('a/lint:start')}`;
    await rig.world.idempotency.claim(key, 'dead-process', 60_000);
    const result = await rig.reconcile(spec, run);
    expect(result).toMatchObject({ state: 'running', requeueAfterMs: 30_000 });
    expect(rig.jobs.created).toEqual([rig.jobName(run, 'a', 'lint')]);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Running', attempts: 1 });
  });

  it('a scheduled run of the same spec creates new Jobs under new names and idempotency keys', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ schedule: '0 3 * * *' });
    const first = SweepRig.firstRun(spec);
    await rig.drive(spec, first, mixedOutcomes);
    const firstId = rig.status?.workflow?.id;
    const tick = sweepRun(1, workHash(spec), Date.UTC(2026, 0, 2, 3));
    const { results } = await rig.drive(spec, tick, mixedOutcomes);
    expect(results.at(-1)?.state).toBe('failed');
    expect(rig.status?.workflow?.id).not.toBe(firstId);
    expect(rig.jobs.created).toHaveLength(16);
    expect(new Set(rig.jobs.created).size).toBe(16);
    expect(rig.jobs.jobs.get(rig.jobName(tick, 'a', 'lint'))?.metadata.annotations?.[IDEMPOTENCY_KEY_ANNOTATION]).toContain(tick.label);
  });

  it('while suspended no unit starts and units in flight finish; resuming continues the same run', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ concurrency: 2 });
    const run = SweepRig.firstRun(spec);
    await rig.reconcile(spec, run);
    expect(rig.jobs.created).toHaveLength(2);

    const suspended = { ...spec, suspend: true };
    const finishAll = (r: SweepRig): void => mixedOutcomes(r);
    for (let i = 0; i < 5; i += 1) {
      finishAll(rig);
      await rig.reconcile(suspended, run);
      rig.world.clock.advance(1_000);
    }
    expect(rig.jobs.created).toHaveLength(2);
    const states = rig.status?.results?.map((r) => r.state);
    expect(states?.slice(0, 2)).toEqual(['Passed', 'Passed']);
    // Every unit not started is held, none started: no attempt, no startedAt, no Job named, no job.started.
    const held = rig.status?.results?.slice(2) ?? [];
    expect(held.map((r) => [r.state, r.attempts, r.message, r.startedAt, r.jobName])).toEqual(Array.from({ length: 6 }, () => ['Pending', 0, HELD_WHILE_SUSPENDED, undefined, undefined]));
    expect(unitsStarted(rig)).toEqual(['a/lint#1', 'a/test#1']);

    const { results } = await rig.drive(spec, run, mixedOutcomes);
    expect(results.at(-1)?.state).toBe('failed');
    expect(rig.jobs.created).toHaveLength(8);
    expect(rig.status?.results?.every((r) => r.attempts === 1)).toBe(true);
    expect(unitsStarted(rig).sort()).toEqual(['a/lint', 'a/test', 'b/lint', 'b/test', 'c/lint', 'c/test', 'd/lint', 'd/test'].map((unit) => `${unit}#1`));
  });

  it('a unit due for a retry while the Sweep is suspended creates no Job, held within its attempt, and resumed, creates it once', async () => {
    const rig = new SweepRig();
    const spec = sweepSpec({ repositories: [{ name: 'a', url: 'https://github.com/acme/a' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] });
    const run = SweepRig.firstRun(spec);
    const name = rig.jobName(run, 'a', 'lint');
    // Creating the Job fails once (the API server answers 500): the unit is due for a retry, its check not started.
    const create = rig.jobs.create.bind(rig.jobs);
    let failures = 1;
    rig.jobs.create = (resource, object) => (failures-- > 0 ? Promise.reject(new ServerError(500, 'InternalError', 'etcd leader changed')) : create(resource, object));
    await rig.reconcile(spec, run);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Pending', attempts: 1 });

    const suspended = { ...spec, suspend: true };
    rig.world.clock.advance(1_000);
    await rig.reconcile(suspended, run);
    expect(rig.jobs.created).toEqual([]);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Running', attempts: 2, message: HELD_WHILE_SUSPENDED });

    const { results } = await rig.drive(spec, run, mixedOutcomes);
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(rig.jobs.created).toEqual([name]);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Passed', attempts: 2 });
  });
});

describe('the Sweep workflow with the http runner and a checker service', () => {
  const HMAC_KEY = 'sweep-checker-key-41f0';
  let checker: FakeChecker;
  let api: SecretsApi;

  beforeEach(async () => {
    checker = await startFakeChecker({ key: HMAC_KEY });
    api = await startSecretsApi();
    api.put('ci', 'checker', { hmac: HMAC_KEY });
  });
  afterEach(async () => {
    await checker.close();
    await api.close();
  });

  const httpRig = (): SweepRig => {
    const w = world();
    return new SweepRig({ world: w, http: new HttpCheckRunner({ fetch: realFetch, clock: w.clock, logger: createLogger({ level: 'silent' }), secrets: api.secrets }), secrets: api.secrets });
  };
  const httpSpec = (repositories: readonly string[]) =>
    sweepSpec({
      repositories: repositories.map((name) => ({ name, url: `https://github.com/acme/${name}` })),
      checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 30 }],
      concurrency: 2,
    });

  it('posts each unit once, signed with the Secret, and records the verdicts with their details', async () => {
    checker.setVerdict('b', 'merge-ready', { status: 'fail', details: '2 unresolved review threads' });
    const rig = httpRig();
    const spec = httpSpec(['a', 'b', 'c']);
    const { results } = await rig.drive(spec, SweepRig.firstRun(spec), () => undefined);
    expect(results.map((r) => r.state)).toEqual(['failed']);
    expect(checker.rejectedSignatures).toBe(0);
    expect(checker.totalCalls).toBe(3);
    expect(checker.maxInFlight).toBeLessThanOrEqual(2);
    expect(rig.status?.results?.map((r) => [r.repository, r.state, r.attempts, r.message])).toEqual([
      ['a', 'Passed', 1, 'all good'],
      ['b', 'Failed', 1, '2 unresolved review threads'],
      ['c', 'Passed', 1, 'all good'],
    ]);
    expect(rig.status?.results?.[0]?.jobName).toBeUndefined();
  });

  it('an answer outside the protocol errors its unit at once, with a message saying what came back', async () => {
    const rig = httpRig();
    const spec = httpSpec(['a', 'b']);
    checker.misbehaveNext('not-json');
    checker.misbehaveNext('bad-request');
    const { results } = await rig.drive(spec, SweepRig.firstRun(spec), () => undefined);
    expect(results.map((r) => r.state)).toEqual(['failed']);
    expect(checker.totalCalls).toBe(2);
    const [first, second] = rig.status?.results ?? [];
    expect([first?.state, first?.attempts, second?.state, second?.attempts]).toEqual(['Errored', 1, 'Errored', 1]);
    const messages = [first?.message, second?.message].join('\n');
    expect(messages).toMatch(/HTTP 200 .*not JSON|not JSON.*HTTP 200|Checker maintenance/);
    expect(messages).toMatch(/400/);
  });

  it('a checker failing for a while (5xx) is retried with the key of the unit, then its verdict counts', async () => {
    const rig = httpRig();
    const spec = httpSpec(['a']);
    checker.misbehaveNext('server-error');
    const { results } = await rig.drive(spec, SweepRig.firstRun(spec), () => undefined);
    expect(results.map((r) => r.state)).toEqual(['running', 'succeeded']);
    expect(rig.status?.results?.[0]).toMatchObject({ state: 'Passed', attempts: 2 });
    const key = `${encodeURIComponent(SWEEP.uid)}/1/${SweepRig.firstRun(spec).label}/checks/${encodeURIComponent('a/merge-ready:start')}`;
    expect(checker.calls(key)).toBe(2);
  });

  it('reads the signing Secret once per reconcile, however many units sign with it', async () => {
    const rig = httpRig();
    const spec = httpSpec(['a', 'b', 'c', 'd', 'e']);
    const readsBefore = api.reads;
    const result = await rig.reconcile(spec, SweepRig.firstRun(spec));
    expect(result.state).toBe('succeeded');
    expect(checker.totalCalls).toBe(5);
    expect(api.reads - readsBefore).toBe(1);
  });

  it('a missing Secret or key stops the run in validate, naming them, with no check started and no retry', async () => {
    const rig = httpRig();
    const spec = sweepSpec({
      repositories: [{ name: 'a', url: 'https://github.com/acme/a' }],
      checks: [
        { name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'signing' }, timeoutSeconds: 30 },
        { name: 'licence', runner: 'http', url: checker.url, secretRef: { name: 'absent', key: 'hmac' }, timeoutSeconds: 30 },
        { name: 'lint', runner: 'job', image: 'node:24' },
      ],
    });
    const result = await rig.reconcile(spec, SweepRig.firstRun(spec));
    expect(result.state).toBe('failed');
    expect(checker.totalCalls).toBe(0);
    expect(rig.jobs.created).toEqual([]);
    const validate = rig.status?.workflow?.steps.find((step) => step.name === 'validate');
    expect(validate).toMatchObject({ state: 'Failed', attempts: 1 });
    expect(validate?.message).toBe(
      'The http checks\' signing keys are missing, so no check was started: check "merge-ready": Secret ci/checker has no key "signing" (its keys are "hmac"); check "licence": Secret ci/absent not found',
    );
    expect(JSON.stringify(rig.status)).not.toContain(HMAC_KEY);
    expect(rig.status?.results?.every((r) => r.state === 'Pending' && r.attempts === 0)).toBe(true);
  });

  it('a pass past its time budget starts no more checks; the next reconcile starts them at once', async () => {
    const rig = httpRig();
    const spec = httpSpec(['a', 'b', 'c']);
    const run = SweepRig.firstRun(spec);
    const first = await rig.reconcile(spec, run, { startChecksUntilMs: rig.world.clock.now() });
    expect(first).toEqual(expect.objectContaining({ state: 'running', requeueAfterMs: 1 }));
    expect(checker.totalCalls).toBe(0);
    // Deferred before they started: no attempt, no startedAt, no job.started, and no slot held.
    expect(rig.status?.results?.map((r) => [r.state, r.attempts, r.message, r.startedAt])).toEqual(Array.from({ length: 3 }, () => ['Pending', 0, DEFERRED_TO_NEXT_PASS, undefined]));
    expect(unitsStarted(rig)).toEqual([]);
    rig.world.clock.advance(1);
    const second = await rig.reconcile(spec, run);
    expect(second.state).toBe('succeeded');
    expect(checker.totalCalls).toBe(3);
    expect(rig.status?.results?.every((r) => r.state === 'Passed' && r.attempts === 1)).toBe(true);
    expect(unitsStarted(rig)).toEqual(['a/merge-ready#1', 'b/merge-ready#1', 'c/merge-ready#1']);
  });

  it('http units deferred to the next pass hold no slot: the job units behind them start in this pass', async () => {
    const rig = httpRig();
    const spec = sweepSpec({
      repositories: ['a', 'b'].map((name) => ({ name, url: `https://github.com/acme/${name}` })),
      checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 30 }, { name: 'lint', runner: 'job', image: 'node:24' }],
      concurrency: 2,
    });
    const run = SweepRig.firstRun(spec);
    await rig.reconcile(spec, run, { startChecksUntilMs: rig.world.clock.now() });
    expect(checker.totalCalls).toBe(0);
    expect(rig.jobs.created).toEqual([rig.jobName(run, 'a', 'lint'), rig.jobName(run, 'b', 'lint')]);
    expect(rig.status?.results?.map((r) => [r.repository, r.check, r.state, r.attempts])).toEqual([
      ['a', 'merge-ready', 'Pending', 0],
      ['a', 'lint', 'Running', 1],
      ['b', 'merge-ready', 'Pending', 0],
      ['b', 'lint', 'Running', 1],
    ]);
    const { results } = await rig.drive(spec, run, (r) => {
      for (const job of r.jobs.active()) r.jobs.finish(job.metadata.name ?? '', 'Complete');
    });
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(checker.totalCalls).toBe(2);
    expect(rig.status?.results?.every((r) => r.state === 'Passed' && r.attempts === 1)).toBe(true);
  });
});
