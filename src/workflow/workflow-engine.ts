// The durable step engine: drives a resource's workflow one reconcile at a time, with its progress in status.workflow.
import type { Logger } from '../observability/logger.ts';
import type { CircuitBreakerRegistry } from '../resilience/circuit-breaker-registry.ts';
import type { Clock } from '../resilience/clock.ts';
import type { IdempotencyStore } from '../resilience/idempotency-store.ts';
import { WorkflowRun, type RunRequest, type RunResult } from './workflow-run.ts';
import type { WorkflowEventEmitter } from './workflow-events.ts';
import type { WorkflowMetrics } from './workflow-metrics.ts';
import type { Workflow } from './workflow.ts';

export type { RunRequest, RunResult } from './workflow-run.ts';

export interface WorkflowEngineOptions {
  /**
   * Who claims idempotency keys: unique per process (e.g. the replica's identity and a random id made at
   * start-up), so a restarted process waits out a dead one's claims instead of taking them over.
   */
  readonly owner: string;
  readonly clock: Clock;
  readonly idempotency: IdempotencyStore;
  readonly breakers: CircuitBreakerRegistry;
  /**
   * TTL of the claim on a call without a timeout; 5 min by default. A call with a timeout is claimed for that
   * timeout plus 30 s, no longer: a process killed during the call then holds the next one up only for as long as
   * its call could have run (a rollback whose claim outlived its own deadline failed for want of it).
   */
  readonly claimTtlMs?: number;
  readonly events?: WorkflowEventEmitter;
  readonly metrics?: WorkflowMetrics;
  readonly logger?: Logger;
}

/**
 * Runs workflows durably. A reconcile calls {@link WorkflowEngine.run} with the resource's persisted
 * snapshot; the engine advances the run as far as it can without sleeping and says when to come back.
 *
 * Expected flow (one reconcile): load the snapshot, or start a new run when the resource's generation
 * has changed (abandoning the old one); skip steps that succeeded; run the next step if it is due;
 * save each transition through the `WorkflowStatusStore`; return `running` with `requeueAfterMs`, or
 * the run's final state.
 *
 * Guarantees:
 * - A step that succeeded for a generation is never run again for it, in this process or any other.
 * - Every side effect goes through breaker + claim → call with key → complete (ADR 005), so it takes
 *   effect once per (uid, generation, step, unit) across crashes, given a provider that honours the key.
 * - Nothing sleeps: waits, backoffs, open breakers and held claims become `requeueAfterMs`.
 *
 * Assumptions: one reconcile of a resource at a time (the work queue's guarantee); the snapshot passed
 * in is at least as new as the last one this process saved for the resource.
 */
export class WorkflowEngine {
  readonly #options: WorkflowEngineOptions;

  constructor(options: WorkflowEngineOptions) {
    this.#options = options;
  }

  async run<Input>(workflow: Workflow<Input>, request: RunRequest<Input>): Promise<RunResult> {
    const { owner, clock, idempotency, breakers, claimTtlMs, events, metrics, logger } = this.#options;
    return new WorkflowRun({ owner, clock, idempotency, breakers, claimTtlMs: claimTtlMs ?? 5 * 60_000, events, metrics, logger }, workflow, request).execute();
  }
}
