// What changed between two saved statuses of a Sweep, told as sweep.* domain events and unit metrics.
import type { SweepStatus, UnitResult, UnitState } from '../../api/sweep.ts';
import type { DomainEvents } from '../../events/domain-events.ts';
import type { ResourceRef } from '../../events/resource-ref.ts';
import type { Logger } from '../../observability/logger.ts';
import type { SweepMetrics, UnitResultLabel } from './sweep-metrics.ts';
import { CHECKS_STEP, FINISHED_UNIT_STATES, tally, type SweepProgress, type SweepSummary } from './sweep-status.ts';

/** Progress events per run: one each time another tenth of the units has finished (every unit when fewer than ten). */
const PROGRESS_STEPS = 10;

const RESULT_LABEL: Partial<Record<UnitState, UnitResultLabel>> = { Passed: 'passed', Failed: 'failed', Errored: 'errored', Skipped: 'skipped' };

/** What a save changed, in the terms of the sweep.* events. */
export interface SweepChanges {
  /** A new run started: its size and concurrency. */
  readonly started: { readonly repositories: number; readonly checks: number; readonly total: number; readonly concurrency: number } | undefined;
  /** Units that finished with this save, by check and result. */
  readonly finishedUnits: readonly { readonly check: string; readonly result: UnitResultLabel }[];
  /** The run's tally, when it crossed another tenth of its units (and did not finish). */
  readonly progress: (SweepSummary & SweepProgress) | undefined;
  /** The run finished: `completed` (every unit ran) or `failed` (it stopped early: failFast). */
  readonly finished: { readonly kind: 'completed' | 'failed'; readonly durationMs: number; readonly message: string } | undefined;
}

const key = (result: UnitResult): string => `${result.repository}/${result.check}`;

/**
 * Compares the status before a save with the status saved. Units of another run (a new run started)
 * count as not finished before, so every unit finishes once per run; a run finishes once.
 */
export function sweepChanges(previous: SweepStatus | undefined, next: SweepStatus, shape: { readonly repositories: number; readonly checks: number; readonly concurrency: number }): SweepChanges {
  const sameRun = previous?.workflow?.id !== undefined && previous.workflow.id === next.workflow?.id;
  const before = new Map((sameRun ? (previous.results ?? []) : []).map((result) => [key(result), result.state]));
  const results = next.results ?? [];
  const finishedUnits = results.flatMap((result) => {
    const label = RESULT_LABEL[result.state];
    const was = before.get(key(result));
    return label !== undefined && (was === undefined || !FINISHED_UNIT_STATES.has(was)) ? [{ check: result.check, result: label }] : [];
  });
  const started = !sameRun && next.workflow !== undefined ? { ...shape, total: results.length } : undefined;
  const { summary, progress } = tally(results);
  const workflow = next.workflow;
  const ended = workflow?.finishedAt !== undefined && !(sameRun && previous.workflow?.finishedAt !== undefined);
  if (ended) {
    const durationMs = Math.max(0, Date.parse(workflow.finishedAt ?? '') - Date.parse(workflow.startedAt ?? workflow.finishedAt ?? '')) || 0;
    // failFast skipped units, or the run stopped before its checks (validate failed).
    const stoppedEarly = summary.skipped > 0 || workflow.steps.some((step) => step.name !== CHECKS_STEP && step.state === 'Failed');
    const message = workflow.steps.find((step) => step.state === 'Failed')?.message ?? '';
    return { started, finishedUnits, progress: undefined, finished: { kind: stoppedEarly ? 'failed' : 'completed', durationMs, message } };
  }
  const step = (completed: number): number => (progress.total === 0 ? 0 : Math.floor((completed * PROGRESS_STEPS) / progress.total));
  const completedBefore = sameRun ? tally(previous.results ?? []).progress.completed : 0;
  const crossed = progress.completed > 0 && step(progress.completed) > step(completedBefore);
  return { started, finishedUnits, progress: crossed ? { ...summary, ...progress } : undefined, finished: undefined };
}

/**
 * Tells a Sweep's changes: `sweep.started`, `sweep.progress`, `sweep.completed` or `sweep.failed` on the
 * event bus (CloudEvents, with the run id as correlation id; the bus also records start and finish as
 * Kubernetes Events on the Sweep) and `blackroad_sweep_units_total`. At most once, after the save that
 * made the change (ADR 007): a crash between the two loses them, never invents them.
 */
export class SweepAnnouncer {
  readonly #events: DomainEvents | undefined;
  readonly #metrics: SweepMetrics | undefined;
  readonly #logger: Logger;

  constructor(options: { readonly events?: DomainEvents; readonly metrics?: SweepMetrics; readonly logger: Logger }) {
    this.#events = options.events;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  announce(resource: ResourceRef, correlationId: string, changes: SweepChanges, tallied: SweepSummary & SweepProgress): void {
    for (const unit of changes.finishedUnits) this.#metrics?.unitFinished(unit.check, unit.result);
    const about = { resource, correlationId };
    const counts = { total: tallied.total, completed: tallied.completed, passed: tallied.passed, failed: tallied.failed, errored: tallied.errored, skipped: tallied.skipped };
    this.#emit(() => {
      if (changes.started !== undefined) this.#events?.emit('sweep.started', about, changes.started);
      if (changes.progress !== undefined) this.#events?.emit('sweep.progress', about, counts);
      const finished = changes.finished;
      if (finished?.kind === 'completed') this.#events?.emit('sweep.completed', about, { ...counts, durationMs: finished.durationMs });
      if (finished?.kind === 'failed') this.#events?.emit('sweep.failed', about, { ...counts, message: finished.message || 'stopped after a failed unit (failFast)' });
    });
  }

  #emit(emit: () => void): void {
    try {
      emit();
    } catch (error) {
      // An event the catalog refuses is a bug to log, never a reason to fail a reconcile whose status is saved.
      this.#logger.error({ err: error }, 'sweep event not emitted');
    }
  }
}
