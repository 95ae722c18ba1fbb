// The engine's event seam: job.* and workflow.* domain events, adapted to the domain event bus by the wiring.
import type { WorkflowResource } from './workflow.ts';

interface EventBase {
  readonly resource: WorkflowResource;
  /** The run's id (`<uid>/<generation>`), the events' correlation id. */
  readonly correlationId: string;
  readonly workflow: string;
  /** The generation the run belongs to (an abandoned run's is older than the resource's). */
  readonly generation: number;
  /** RFC 3339 time of the transition. */
  readonly time: string;
}

interface JobBase extends EventBase {
  readonly step: string;
  /** The fan-out unit, when the job is one unit of a group. */
  readonly unit?: string;
  readonly attempt: number;
}

/**
 * One event per saved transition. The fields are those of the `job.*` and `workflow.*` kinds of the
 * domain event catalog, so the wiring's adapter copies them; messages are already redacted.
 */
export type WorkflowEvent =
  | (EventBase & { readonly type: 'workflow.started'; readonly steps: readonly string[] })
  | (EventBase & { readonly type: 'workflow.completed'; readonly durationMs: number })
  /** `step` is the step that failed for good; absent when the run was superseded by a newer generation. */
  | (EventBase & { readonly type: 'workflow.failed'; readonly step?: string; readonly durationMs?: number; readonly message: string })
  | (JobBase & { readonly type: 'job.started' })
  | (JobBase & { readonly type: 'job.completed'; readonly durationMs: number })
  /** `retryable`: the step will be tried again at `nextAttemptAt`; otherwise it failed for good. */
  | (JobBase & { readonly type: 'job.failed'; readonly durationMs: number; readonly retryable: boolean; readonly message: string; readonly nextAttemptAt?: string });

export type WorkflowEventType = WorkflowEvent['type'];

/** The fields every event of a run shares. */
export type WorkflowEventBase = Pick<WorkflowEvent, 'resource' | 'correlationId' | 'workflow' | 'generation' | 'time'>;

/** An event without the fields every event of the run shares (distributed over the union). */
export type WorkflowEventFields = WorkflowEvent extends infer E ? (E extends unknown ? Omit<E, keyof WorkflowEventBase> : never) : never;

/**
 * Receives the engine's events.
 *
 * Assumptions: `emit` returns at once and never throws (the bus queues per sink and drops, counting,
 * rather than block a reconcile). Events are emitted after the state they describe has been saved, so
 * one may be lost when the process dies between the two, never emitted for a state that was not saved.
 */
export interface WorkflowEventEmitter {
  emit(event: WorkflowEvent): void;
}
