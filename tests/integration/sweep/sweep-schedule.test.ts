import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepStatus } from '../../../src/api/sweep.ts';
import { SweepJobs } from '../../../src/controllers/sweep/sweep-jobs.ts';
import { SweepMetrics } from '../../../src/controllers/sweep/sweep-metrics.ts';
import { SweepReconciler } from '../../../src/controllers/sweep/sweep-reconciler.ts';
import type { SweepObject } from '../../../src/controllers/sweep/sweep-resource.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { Job } from '../../../src/providers/checks/job-check-manifest.ts';
import { ManualClock } from '../../../src/resilience/clock.ts';
import type { Action } from '../../../src/runtime/reconciler.ts';
import { Store } from '../../../src/runtime/store.ts';
import type { ClusterHarness } from '../../support/cluster.ts';
import { sweepContext } from './sweep-operator.ts';
import { createSweep, finished, finishJob, jobCheck, JobWatch, readSweep, startSweepCluster } from './sweep-suite.ts';

const at = (iso: string): number => Date.parse(iso);
const HOUR = 3_600_000;

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-schedule'));
});
afterAll(async () => {
  await stopCluster();
});

/**
 * The Sweep reconciler on a manual clock, called as the controller would call it. Jobs finish in real time
 * (the simulator, or the test); the schedule's time is the manual clock's.
 */
describe('a scheduled Sweep on a manual clock', () => {
  it('runs at creation, then at each tick; after an outage only the latest tick runs; a tick late past its deadline is skipped; a tick during a run waits for it', async () => {
    const clock = new ManualClock(at('2026-01-01T01:00:00Z'));
    const { context, close } = sweepContext(cluster.kubeconfigPath, clock);
    const jobs = new Store<Job>();
    jobs.replace(new Map());
    const reconciler = new SweepReconciler(context, { jobs: new SweepJobs({ store: jobs, kube: context.client, logger: context.logger }), metrics: new SweepMetrics(context.registry), tuning: { jobPollMs: 1_000 } });
    const watch = await JobWatch.start(cluster);
    const logger = createLogger({ level: 'silent' });
    const reconcile = async (): Promise<{ action: Action; status: SweepStatus | undefined }> => {
      const object = (await readSweep(cluster, 'nightly')) as unknown as SweepObject;
      const action = await reconciler.reconcile(object, { signal: new AbortController().signal, logger, reconcileID: 'test', controller: 'sweep', key: `${cluster.namespace}/nightly` });
      return { action, status: (await readSweep(cluster, 'nightly')).status };
    };
    /** Reconciles (the clock stands still) until the run in status has finished. */
    const runToEnd = async (): Promise<{ action: Action; status: SweepStatus | undefined }> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const outcome = await reconcile();
        if (finished(outcome.status)) return outcome;
        if (Date.now() > deadline) throw new Error(`the run did not finish: ${JSON.stringify(outcome.status?.results)}`);
        await delay(30);
      }
    };
    const job = jobCheck('lint', 'succeed');
    const repositories = [
      { name: 'api', url: 'https://github.com/acme/api' },
      { name: 'web', url: 'https://github.com/acme/web' },
    ];
    try {
      await createSweep(cluster, 'nightly', { repositories, checks: [job], schedule: '0 3 * * *' });

      // Created at 01:00: it runs at once, then waits for 03:00.
      const first = await runToEnd();
      expect(first.status?.phase).toBe('Succeeded');
      expect(first.status?.workflow?.id).toMatch(/\/1\/[0-9a-f]{10}$/);
      expect(first.action.requeueAfterMs).toBe(2 * HOUR);
      expect(first.status?.nextScheduleTime).toBe('2026-01-01T03:00:00.000Z');
      expect(first.status?.lastScheduleTime).toBeUndefined();

      // 03:00: a new run, with its own Jobs and keys; the first run goes to the history.
      clock.set(at('2026-01-01T03:00:00Z'));
      const second = await runToEnd();
      expect(second.status?.workflow?.id).toMatch(/\/1\/[0-9a-f]{10}-20260101T0300Z$/);
      expect(second.status?.lastScheduleTime).toBe('2026-01-01T03:00:00.000Z');
      expect(second.status?.nextScheduleTime).toBe('2026-01-02T03:00:00.000Z');
      expect(second.status?.history?.map((run) => run.phase)).toEqual(['Succeeded']);
      expect(second.action.requeueAfterMs).toBe(24 * HOUR);
      expect(watch.created).toHaveLength(4);

      // Down until the 4th at 09:00: the ticks of the 2nd and 3rd are dropped; the 4th's runs, once.
      clock.set(at('2026-01-04T09:00:00Z'));
      const third = await runToEnd();
      expect(third.status?.workflow?.id).toMatch(/-20260104T0300Z$/);
      expect(third.status?.lastScheduleTime).toBe('2026-01-04T03:00:00.000Z');
      expect(third.status?.history).toHaveLength(2);
      expect(watch.created).toHaveLength(6);
      const again = await reconcile();
      expect(again.status?.workflow?.id).toBe(third.status?.workflow?.id);

      // Back at 15:00:01 on the 5th: the 5th's tick is late by more than half a day, so it is skipped.
      clock.set(at('2026-01-05T15:00:01Z'));
      const skipped = await reconcile();
      expect(skipped.status?.workflow?.id).toBe(third.status?.workflow?.id);
      expect(skipped.action.requeueAfterMs).toBe(at('2026-01-06T03:00:00Z') - at('2026-01-05T15:00:01Z'));
      expect(skipped.status?.nextScheduleTime).toBe('2026-01-06T03:00:00.000Z');
      expect(watch.created).toHaveLength(6);

      // A spec change at 02:59 on the 6th starts a run of the new work that outlasts the 03:00 tick.
      clock.set(at('2026-01-06T02:59:00Z'));
      const slow = jobCheck('lint', 'hold');
      const patched = await cluster.request('PATCH', `/apis/operator.blackroad.io/v1alpha1/namespaces/${cluster.namespace}/sweeps/nightly`, { body: { spec: { checks: [slow] } }, contentType: 'application/merge-patch+json' });
      expect(patched.status).toBe(200);
      const changed = await reconcile();
      expect(changed.status?.workflow?.id).toMatch(/\/2\/[0-9a-f]{10}$/);
      expect(changed.status?.history).toHaveLength(3);
      clock.set(at('2026-01-06T03:00:00Z'));
      const during = await reconcile();
      expect(during.status?.workflow?.id).toBe(changed.status?.workflow?.id);
      // The run ends at 03:10; the 03:00 tick, ten minutes late, runs then.
      clock.set(at('2026-01-06T03:10:00Z'));
      await Promise.all(watch.created.slice(6).map((name) => finishJob(cluster, name, 'Complete')));
      const ended = await runToEnd();
      expect(ended.status?.workflow?.id).toBe(changed.status?.workflow?.id);
      expect(ended.action.requeueAfterMs).toBe(1);
      const after = await reconcile();
      expect(after.status?.workflow?.id).toMatch(/\/2\/[0-9a-f]{10}-20260106T0300Z$/);
      expect(after.status?.lastScheduleTime).toBe('2026-01-06T03:00:00.000Z');
    } finally {
      await watch.stop();
      await close();
    }
  }, 90_000);
});
