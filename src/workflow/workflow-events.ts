// The engine's event seam: job.* and workflow.* domain events, adapted to the domain event bus by the wiring.
import type { WorkflowResource } from './workflow.ts';

export type WorkflowEventType = 'workflow.started' | 'workflow.completed' | 'workflow.failed' | 'job.started' | 'job.completed' | 'job.failed';

export interface WorkflowEvent {
  readonly type: WorkflowEventType;
  readonly resource: WorkflowResource;
  /** The run's id (`<uid>/<generation>`), the events' correlation id. */
  readonly correlationId: string;
  readonly workflow: string;
  /** The step (job.* events). */
  readonly step?: string;
  /** The fan-out unit (job.* events of a unit). */
  readonly unit?: string;
  /** RFC 3339 time of the transition. */
  readonly time: string;
  /** Details for consumers: attempt, outcome message, reason; never secrets. */
  readonly data: Readonly<Record<string, unknown>>;
}

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
