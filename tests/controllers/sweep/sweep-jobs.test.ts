import { describe, expect, it } from 'vitest';
import { sweepSpecSchema } from '../../../src/api/sweep.ts';
import { SweepJobs } from '../../../src/controllers/sweep/sweep-jobs.ts';
import { builtinResources, type KubeObject } from '../../../src/kube/client.ts';
import { NotFoundError } from '../../../src/kube/errors.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { CheckUnit } from '../../../src/providers/checks/check-runner.ts';
import { jobCheckManifest, labelValue, RUN_LABEL, type Job } from '../../../src/providers/checks/job-check-manifest.ts';
import { JobCheckRunner } from '../../../src/providers/checks/job-check-runner.ts';
import { ManualClock } from '../../../src/resilience/clock.ts';
import { Store } from '../../../src/runtime/store.ts';

const SWEEP = { name: 'nightly', namespace: 'ci', uid: 'sweep-uid' };
const spec = sweepSpecSchema.parse({ repositories: [{ name: 'a', url: 'https://github.com/acme/a' }, { name: 'b', url: 'https://github.com/acme/b' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] });
const unitOf = (repository: number, runId = '1-a1b2c3d4e5'): CheckUnit => ({ sweep: SWEEP, runId, repository: spec.repositories[repository] as CheckUnit['repository'], check: spec.checks[0] as CheckUnit['check'], ttlSecondsAfterFinished: 0 });

function jobOf(unit: CheckUnit, state: 'running' | 'Complete' | 'Failed' | 'deleting', uid = 'job-uid'): Job {
  const manifest = jobCheckManifest(unit, 'key');
  const conditions = state === 'Complete' || state === 'Failed' ? [{ type: state, status: 'True', reason: state === 'Failed' ? 'BackoffLimitExceeded' : 'CompletionsReached' }] : [];
  return { ...manifest, metadata: { ...manifest.metadata, uid, resourceVersion: '5', ...(state === 'deleting' ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) }, status: { startTime: '2026-01-01T00:00:00Z', conditions } };
}

/** The API server's side: the Jobs it has, and every call made to it. */
class JobsApi {
  readonly jobs = new Map<string, Job>();
  readonly calls: string[] = [];

  get<T extends KubeObject>(_resource: unknown, name: string): Promise<T> {
    this.calls.push(`get ${name}`);
    const job = this.jobs.get(name);
    return job === undefined ? Promise.reject(new NotFoundError(404, 'NotFound', `jobs.batch "${name}" not found`)) : Promise.resolve(job as unknown as T);
  }

  create<T extends KubeObject>(_resource: unknown, object: T): Promise<T> {
    this.calls.push(`create ${object.metadata.name ?? ''}`);
    return Promise.resolve(object);
  }

  delete<T extends KubeObject>(_resource: unknown, name: string, options: { propagationPolicy?: string; preconditions?: { uid?: string } } = {}): Promise<T> {
    this.calls.push(`delete ${name} ${options.propagationPolicy ?? ''} ${options.preconditions?.uid ?? ''}`);
    const job = this.jobs.get(name);
    if (job === undefined || !this.jobs.delete(name)) return Promise.reject(new NotFoundError(404, 'NotFound', `jobs.batch "${name}" not found`));
    return Promise.resolve(job as unknown as T);
  }
}

function setup(remembered?: number) {
  const store = new Store<Job>();
  store.replace(new Map());
  const api = new JobsApi();
  const jobs = new SweepJobs({ store, kube: api, logger: createLogger({ level: 'silent' }), ...(remembered === undefined ? {} : { remembered }) });
  const runner = new JobCheckRunner({ kube: jobs.runnerClient, clock: new ManualClock(), logger: createLogger({ level: 'silent' }) });
  return { store, api, jobs, runner };
}

const handleOf = (job: Job) => ({ runner: 'job' as const, namespace: SWEEP.namespace, jobName: job.metadata.name ?? '', uid: job.metadata.uid ?? '' });

describe('the Jobs of Sweeps as the controller reads them', () => {
  it('reads a cached Job without asking the API server, and an uncached one from it', async () => {
    const { store, api, runner } = setup();
    const cached = jobOf(unitOf(0), 'Complete');
    store.apply(cached);
    await expect(runner.observe({ unit: unitOf(0), handle: handleOf(cached) })).resolves.toMatchObject({ state: 'passed' });
    expect(api.calls).toEqual([]);
    const uncached = jobOf(unitOf(1), 'running');
    api.jobs.set(uncached.metadata.name ?? '', uncached);
    await expect(runner.observe({ unit: unitOf(1), handle: handleOf(uncached) })).resolves.toMatchObject({ state: 'running' });
    expect(api.calls).toEqual([`get ${uncached.metadata.name ?? ''}`]);
  });

  it('a Job deleted right after it finished (ttlSecondsAfterFinished: 0) keeps its verdict; one deleted unfinished is missing', async () => {
    const { jobs, runner } = setup();
    const failed = jobOf(unitOf(0), 'Failed');
    jobs.deleted(failed);
    await expect(runner.observe({ unit: unitOf(0), handle: handleOf(failed) })).resolves.toMatchObject({ state: 'failed' });
    const running = jobOf(unitOf(1), 'running');
    jobs.deleted(running);
    await expect(runner.observe({ unit: unitOf(1), handle: handleOf(running) })).resolves.toMatchObject({ state: 'missing' });
  });

  it('remembers a bounded number of deleted Jobs, forgetting the oldest', async () => {
    const { jobs, runner } = setup(1);
    const first = jobOf(unitOf(0), 'Complete');
    const second = jobOf(unitOf(1), 'Complete');
    jobs.deleted(first);
    jobs.deleted(second);
    await expect(runner.observe({ unit: unitOf(0), handle: handleOf(first) })).resolves.toMatchObject({ state: 'missing' });
    await expect(runner.observe({ unit: unitOf(1), handle: handleOf(second) })).resolves.toMatchObject({ state: 'passed' });
  });

  it('says a unit should look at its Job when the cache shows it finished, being deleted or absent', () => {
    const { store, jobs } = setup();
    const running = jobOf(unitOf(0), 'running');
    store.apply(running);
    expect(jobs.settled(SWEEP.namespace, running.metadata.name ?? '')).toBe(false);
    store.apply(jobOf(unitOf(0), 'Complete'));
    expect(jobs.settled(SWEEP.namespace, running.metadata.name ?? '')).toBe(true);
    store.apply(jobOf(unitOf(0), 'deleting'));
    expect(jobs.settled(SWEEP.namespace, running.metadata.name ?? '')).toBe(true);
    expect(jobs.settled(SWEEP.namespace, 'nightly-unknown')).toBe(true);
  });

  it('deletes the unfinished Jobs of other runs of the Sweep, in the background, and keeps everything else', async () => {
    const { store, api, jobs } = setup();
    const stale = jobOf(unitOf(0, '1-0000000000'), 'running', 'uid-stale');
    const staleDone = jobOf(unitOf(1, '1-0000000000'), 'Complete', 'uid-stale-done');
    const current = jobOf(unitOf(0, '2-a1b2c3d4e5'), 'running', 'uid-current');
    const otherSweep = jobOf({ ...unitOf(1, '1-0000000000'), sweep: { name: 'other', namespace: SWEEP.namespace, uid: 'other-sweep' } }, 'running', 'uid-other');
    for (const job of [stale, staleDone, current, otherSweep]) {
      store.apply(job);
      api.jobs.set(job.metadata.name ?? '', job);
    }
    expect(current.metadata.labels?.[RUN_LABEL]).toBe(labelValue('2-a1b2c3d4e5'));
    expect(await jobs.deleteStrays(SWEEP.uid, '2-a1b2c3d4e5')).toBe(1);
    expect(api.calls).toEqual([`delete ${stale.metadata.name ?? ''} Background uid-stale`]);
    // A Job already gone is not an error; without a run to keep, every unfinished Job of the Sweep goes.
    api.jobs.delete(stale.metadata.name ?? '');
    expect(await jobs.deleteStrays(SWEEP.uid, undefined)).toBe(1);
    expect(api.calls.at(-1)).toBe(`delete ${current.metadata.name ?? ''} Background uid-current`);
  });

  it('passes creations to the API server', async () => {
    const { api, jobs } = setup();
    const job = jobCheckManifest(unitOf(0), 'key');
    await jobs.runnerClient.create(builtinResources.jobs, job, { namespace: SWEEP.namespace });
    expect(api.calls).toEqual([`create ${job.metadata.name ?? ''}`]);
  });
});
