// The seam through which the engine persists a run's progress: the wiring plugs the runtime's status writer in (ADR 002).
import type { StepState, WorkflowStatus } from '../api/status.ts';

/**
 * The compact record of one fan-out unit. The controller keeps these in its own status (Sweep:
 * `status.results[]`) and hands them back in the next snapshot.
 */
export interface WorkflowUnit {
  /** The unit's stable id (e.g. `api/lint`). */
  readonly id: string;
  readonly state: StepState;
  readonly attempts: number;
  readonly startedAt?: string | undefined;
  readonly finishedAt?: string | undefined;
  readonly nextAttemptAt?: string | undefined;
  readonly message?: string | undefined;
  /** The small JSON result of a unit that finished (a verdict), for fan-in. */
  readonly result?: unknown;
}

/** Everything the engine needs to continue a run after a restart. */
export interface WorkflowSnapshot {
  /** `status.workflow` of the resource. */
  readonly workflow: WorkflowStatus;
  /** Unit records of each fan-out group, by group name; a unit never started has no record. */
  readonly units: Readonly<Record<string, readonly WorkflowUnit[]>>;
}

/**
 * Persists a snapshot, typically as a merge patch of the resource's `/status`.
 *
 * Guarantees expected of an implementation: when `save` resolves, the snapshot is durable (a later
 * reconcile, in this process or another, reads it back); a rejected save may or may not have landed.
 */
export interface WorkflowStatusStore {
  save(snapshot: WorkflowSnapshot): Promise<void>;
}
