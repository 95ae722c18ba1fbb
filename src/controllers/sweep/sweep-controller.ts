// The Sweep controller as the composition root runs it: the Sweep and Job caches and the runtime controller around the reconciler.
import { builtinResources } from '../../kube/client.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, type Job } from '../../providers/checks/job-check-manifest.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { Store } from '../../runtime/store.ts';
import type { ControllerContext, ControllerSettings, ResourceController } from '../controller-context.ts';
import { SweepJobs } from './sweep-jobs.ts';
import { SweepMetrics } from './sweep-metrics.ts';
import { SweepReconciler, type SweepReconcilerOptions } from './sweep-reconciler.ts';
import { SWEEPS, type SweepObject } from './sweep-resource.ts';
import { isRunning } from './sweep-status.ts';

/**
 * How long one reconcile of a Sweep may take. An http check holds the reconcile while the checker answers,
 * for up to the check's `timeoutSeconds` (at most a day); the reconcile starts no new check after its pass
 * budget (10 s), so this bounds a reconcile stuck in something else, not a normal one.
 */
export const SWEEP_RECONCILE_TIMEOUT_MS = 86_400_000 + 5 * 60_000;

/** Units running now across the cached Sweeps. */
function runningUnits(sweeps: Store<SweepObject>): number {
  let running = 0;
  for (const sweep of sweeps.list()) for (const result of sweep.status?.results ?? []) if (isRunning(result)) running += 1;
  return running;
}

export type SweepControllerOptions = Pick<SweepReconcilerOptions, 'tuning' | 'runners'>;

/**
 * Reconciles every Sweep of the watched namespaces. It owns the check Jobs (those labelled
 * `app.kubernetes.io/managed-by: blackroad-os-operator`, cached by one watch), so a Job that changes or
 * disappears wakes its Sweep at once. The runtime controller gets no status writer: the reconciler writes
 * Stalled itself, with the phase, so each change is one write.
 */
export class SweepController implements ResourceController {
  readonly name = 'sweep';
  readonly component = 'sweep-controller' as const;
  readonly #context: ControllerContext;
  readonly #options: SweepControllerOptions;
  readonly #metrics: SweepMetrics;

  constructor(context: ControllerContext, options: SweepControllerOptions = {}) {
    this.#context = context;
    this.#options = options;
    this.#metrics = new SweepMetrics(context.registry);
  }

  register(manager: Manager, settings: ControllerSettings): Controller<SweepObject> {
    const sweeps = manager.reflector<SweepObject>(SWEEPS);
    const jobCache = manager.reflector<Job>(builtinResources.jobs, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` });
    const jobs = new SweepJobs({ store: jobCache.store, kube: this.#context.client, logger: this.#context.logger.child({ component: 'sweep-jobs' }) });
    jobCache.subscribe({ onDelete: (job) => jobs.deleted(job) });
    // Only the leader runs units; a standby's cache shows the same Sweeps and would count them twice.
    this.#metrics.countRunningWith(() => (manager.isLeader ? runningUnits(sweeps.store) : 0));
    return manager.controller<SweepObject>({
      name: this.name,
      for: sweeps,
      owns: [{ reflector: jobCache }],
      reconciler: new SweepReconciler(this.#context, { ...this.#options, jobs, metrics: this.#metrics, sweeps: sweeps.store }),
      maxConcurrentReconciles: settings.workers,
      resyncPeriodMs: settings.resyncPeriodMs,
      reconcileTimeoutMs: SWEEP_RECONCILE_TIMEOUT_MS,
    });
  }
}
