// Prometheus metrics of workflow runs and step durations, on an injected registry.
import { Counter, Histogram, type Registry } from 'prom-client';

/** How a run ended: it succeeded, failed for good, or was abandoned for a newer generation. */
export type RunResultLabel = 'succeeded' | 'failed' | 'abandoned';

/** How one run of a step (or unit) ended. */
export type StepResultLabel = 'succeeded' | 'waiting' | 'retrying' | 'failed';

/** Workflow metrics; one per registry, created in the composition root. */
export class WorkflowMetrics {
  readonly #runs: Counter<'workflow' | 'result'>;
  readonly #stepDuration: Histogram<'workflow' | 'step' | 'result'>;

  constructor(registry: Registry) {
    this.#runs = new Counter({
      name: 'blackroad_workflow_runs_total',
      help: 'Workflow runs that ended, by workflow and result (succeeded, failed, abandoned).',
      labelNames: ['workflow', 'result'],
      registers: [registry],
    });
    this.#stepDuration = new Histogram({
      name: 'blackroad_workflow_step_duration_seconds',
      help: 'Duration of one run of a workflow step (a fan-out unit counts under its group), by result.',
      labelNames: ['workflow', 'step', 'result'],
      buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
  }

  runEnded(workflow: string, result: RunResultLabel): void {
    this.#runs.inc({ workflow, result });
  }

  stepRan(workflow: string, step: string, result: StepResultLabel, seconds: number): void {
    this.#stepDuration.observe({ workflow, step, result }, seconds);
  }
}
