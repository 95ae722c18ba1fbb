import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHarness } from '../../support/cluster.ts';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.ts';
import { startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { createSweep, eventually, finished, finishJob, jobCheck, JOBS_PATH, JobWatch, startSweepCluster, sweepEventReasons, SWEEPS_PATH, waitForSweep } from './sweep-suite.ts';

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let operator: SweepOperator | undefined;
let watch: JobWatch | undefined;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-jobs'));
});
afterEach(async () => {
  await watch?.stop();
  await operator?.stop();
  watch = undefined;
  operator = undefined;
});
afterAll(async () => {
  await stopCluster();
});

/** How the test finishes each `audit` Job: repository index % 5 == 0 fails, % 7 == 0 times out, the rest complete. */
function auditOutcome(index: number): 'Failed' | 'DeadlineExceeded' | 'Complete' {
  if (index % 5 === 0) return 'Failed';
  if (index % 7 === 0) return 'DeadlineExceeded';
  return 'Complete';
}

describe('a Sweep of Jobs against the API server', () => {
  it('100 repositories × 3 checks at concurrency 10: never more than 10 Jobs running, results and summary exact', async () => {
    watch = await JobWatch.start(cluster);
    const finishing: Promise<void>[] = [];
    watch.onCreated = ({ name, repository, check }) => {
      if (check === 'audit') finishing.push(finishJob(cluster, name, auditOutcome(Number(repository.slice('repo-'.length)))));
    };
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    const repositories = Array.from({ length: 100 }, (_, i) => ({ name: `repo-${i}`, url: `https://github.com/acme/repo-${i}` }));
    await createSweep(cluster, 'fleet', {
      repositories,
      checks: [
        jobCheck('lint', 'succeed'),
        jobCheck('test', 'fail'),
        // These never end on their own; the test finishes them, each repository its own way.
        jobCheck('audit', 'hold'),
      ],
      concurrency: 10,
    });

    const done = await waitForSweep(cluster, 'fleet', finished, 120_000);
    await Promise.all(finishing);
    const status = done.status;
    expect(watch.peakActive).toBeLessThanOrEqual(10);
    expect(watch.peakActive).toBeGreaterThanOrEqual(5);
    expect(watch.created).toHaveLength(300);
    expect(new Set(watch.created).size).toBe(300);

    const expected = repositories.flatMap((repository, index) => [
      `${repository.name}/lint=Passed`,
      `${repository.name}/test=Failed`,
      `${repository.name}/audit=${{ Complete: 'Passed', Failed: 'Failed', DeadlineExceeded: 'Errored' }[auditOutcome(index)]}`,
    ]);
    expect(status?.results?.map((r) => `${r.repository}/${r.check}=${r.state}`)).toEqual(expected);
    const auditFailed = repositories.filter((_, i) => auditOutcome(i) === 'Failed').length;
    const auditErrored = repositories.filter((_, i) => auditOutcome(i) === 'DeadlineExceeded').length;
    expect(status?.summary).toEqual({ passed: 100 + (100 - auditFailed - auditErrored), failed: 100 + auditFailed, errored: auditErrored, skipped: 0 });
    expect(status?.progress).toEqual({ total: 300, completed: 300, text: '300/300' });
    expect(status?.phase).toBe('Failed');
    expect(status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'ChecksFailed' });
    expect(status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    expect(status?.results?.every((r) => r.attempts === 1 && r.jobName !== undefined && r.durationMs !== undefined)).toBe(true);
    expect(status?.results?.find((r) => r.state === 'Errored')?.message).toMatch(/timed out/);
    expect(status?.observedGeneration).toBe(done.metadata.generation);

    // What the operator exports and records about it: each unit counted once; failed checks are no reconcile error.
    const families = parsePrometheusText(await operator.metrics());
    const units = (check: string, result: string) => sampleValue(families, 'blackroad_sweep_units_total', { check, result });
    expect([units('lint', 'passed'), units('test', 'failed'), units('audit', 'passed'), units('audit', 'failed'), units('audit', 'errored')]).toEqual([100, 100, 100 - auditFailed - auditErrored, auditFailed, auditErrored]);
    expect(sampleValue(families, 'blackroad_sweep_units_running')).toBe(0);
    expect(sampleValue(families, 'controller_runtime_reconcile_errors_total', { controller: 'sweep' })).toBe(0);
    await eventually(async () => {
      const reasons = await sweepEventReasons(cluster, 'fleet');
      return reasons.includes('SweepStarted') && reasons.includes('SweepCompleted');
    });
  }, 150_000);

  it('with failFast, no unit starts after the first failure is seen, and the units never started are skipped', async () => {
    watch = await JobWatch.start(cluster);
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    const repositories = Array.from({ length: 10 }, (_, i) => ({ name: `ff-${i}`, url: `https://github.com/acme/ff-${i}` }));
    await createSweep(cluster, 'fail-fast', {
      repositories,
      checks: [
        jobCheck('lint', 'succeed', 50),
        jobCheck('test', 'fail', 50),
      ],
      concurrency: 2,
      failFast: true,
    });
    const done = await waitForSweep(cluster, 'fail-fast', finished, 60_000);
    const results = done.status?.results ?? [];
    const started = results.filter((r) => r.state !== 'Skipped');
    // ff-0/lint and ff-0/test start together; at most the next unit starts in the same pass as the failure.
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started.length).toBeLessThanOrEqual(4);
    expect(watch.created).toHaveLength(started.length);
    expect(results.slice(0, started.length).map((r) => r.state)).toContain('Failed');
    expect(results.slice(started.length).every((r) => r.state === 'Skipped' && r.attempts === 0 && /fail-fast/.test(r.message ?? ''))).toBe(true);
    expect(done.status?.summary?.skipped).toBe(20 - started.length);
    expect(done.status?.phase).toBe('Failed');
  }, 90_000);

  it('a Job deleted by someone else is created again once; deleted a second time, its unit is errored', async () => {
    watch = await JobWatch.start(cluster);
    const deletions = new Map<string, number>();
    const remove = async (name: string): Promise<void> => {
      const deleted = await cluster.request('DELETE', `${JOBS_PATH(cluster.namespace)}/${name}`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      if (deleted.status !== 200 && deleted.status !== 202) throw new Error(`deleting Job ${name}: ${deleted.status} ${deleted.text}`);
    };
    const acting: Promise<void>[] = [];
    watch.onCreated = ({ name, repository }) => {
      const count = (deletions.get(name) ?? 0) + 1;
      deletions.set(name, count);
      // twice-deleted loses both of its Jobs; once-deleted loses its first, and its second one passes.
      if (repository === 'twice-deleted' || count === 1) acting.push(remove(name));
      else acting.push(finishJob(cluster, name, 'Complete'));
    };
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    await createSweep(cluster, 'deleted-jobs', {
      repositories: [
        { name: 'twice-deleted', url: 'https://github.com/acme/a' },
        { name: 'once-deleted', url: 'https://github.com/acme/b' },
      ],
      checks: [jobCheck('lint', 'hold')],
      concurrency: 2,
    });
    const done = await waitForSweep(cluster, 'deleted-jobs', finished, 60_000);
    await Promise.all(acting);
    const [twice, once] = done.status?.results ?? [];
    expect(twice).toMatchObject({ repository: 'twice-deleted', state: 'Errored', attempts: 1, message: expect.stringMatching(/not found; it had been created again once already/) as unknown });
    expect(once).toMatchObject({ repository: 'once-deleted', state: 'Passed', attempts: 1 });
    // Each unit's Job name was created exactly twice: the first, and the one created again.
    expect([...deletions.values()]).toEqual([2, 2]);
    expect(watch.created).toHaveLength(4);
  }, 90_000);

  it('a Job still running at its deadline (the check\'s timeoutSeconds) ends DeadlineExceeded and its unit is errored', async () => {
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    // Nobody finishes these Jobs: the Job controller (the simulator on the devcluster) stops them at activeDeadlineSeconds.
    await createSweep(cluster, 'overdue', {
      repositories: [{ name: 'slow', url: 'https://github.com/acme/slow' }],
      checks: [{ ...jobCheck('soak', 'hold'), timeoutSeconds: 1 }, jobCheck('lint', 'succeed')],
      concurrency: 2,
    });
    const done = await waitForSweep(cluster, 'overdue', finished, 60_000);
    const [soak, lint] = done.status?.results ?? [];
    expect(soak).toMatchObject({ check: 'soak', state: 'Errored', attempts: 1, message: expect.stringMatching(/timed out/) as unknown });
    expect(lint).toMatchObject({ check: 'lint', state: 'Passed' });
    expect(done.status?.summary).toEqual({ passed: 1, failed: 0, errored: 1, skipped: 0 });
    const job = await cluster.request('GET', `${JOBS_PATH(cluster.namespace)}/${soak?.jobName ?? ''}`);
    expect(job.json<{ status: { conditions: { type: string; reason: string }[] } }>().status.conditions.find((c) => c.type === 'Failed')?.reason).toBe('DeadlineExceeded');
  }, 90_000);

  it('deleted mid-run, the Sweep goes once its finalizer deleted its unfinished Jobs, and no other Job starts', async () => {
    watch = await JobWatch.start(cluster);
    operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
    await createSweep(cluster, 'doomed', {
      repositories: Array.from({ length: 4 }, (_, i) => ({ name: `d-${i}`, url: `https://github.com/acme/d-${i}` })),
      checks: [jobCheck('lint', 'hold')],
      concurrency: 2,
    });
    const running = await waitForSweep(cluster, 'doomed', (status) => (status?.results ?? []).filter((r) => r.state === 'Running').length === 2);
    expect(running.metadata.finalizers).toEqual(['operator.blackroad.io/finalizer']);
    await eventually(async () => watch?.active === 2);
    const jobs = [...(watch?.created ?? [])];
    expect(jobs).toHaveLength(2);

    const deleted = await cluster.request('DELETE', `${SWEEPS_PATH(cluster.namespace)}/doomed`);
    expect(deleted.status).toBeLessThan(300);
    await eventually(async () => (await cluster.request('GET', `${SWEEPS_PATH(cluster.namespace)}/doomed`)).status === 404);
    await eventually(async () => watch?.active === 0, 5_000);
    for (const name of jobs) {
      const job = await cluster.request('GET', `${JOBS_PATH(cluster.namespace)}/${name}`);
      expect(job.status === 404 || job.json<{ metadata: { deletionTimestamp?: string } }>().metadata.deletionTimestamp !== undefined).toBe(true);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(watch.created).toEqual(jobs);
  }, 60_000);
});
