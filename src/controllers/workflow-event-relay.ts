// The workflow engine's event seam over the domain event bus: job.* and workflow.* events about the resource a run belongs to.
import type { DomainEvents } from '../events/domain-events.ts';
import type { ResourceRef } from '../events/resource-ref.ts';
import type { Logger } from '../observability/logger.ts';
import type { WorkflowEvent, WorkflowEventEmitter } from '../workflow/workflow-events.ts';
import type { WorkflowResource } from '../workflow/workflow.ts';

/** The reference events carry for a run's resource (its plural names the API path). */
export function resourceRefOf(resource: WorkflowResource, plural: string): ResourceRef {
  return { apiVersion: resource.apiVersion, kind: resource.kind, namespace: resource.namespace, name: resource.name, uid: resource.uid, resource: plural };
}

export interface WorkflowEventRelayOptions {
  readonly events: DomainEvents;
  /** The plural of each kind whose runs emit events (`Deploy` → `deploys`). */
  readonly plurals: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

/**
 * Relays the engine's events to the bus, with the resource's API path as source and the run id as correlation id.
 *
 * Guarantees: `emit` never throws and never blocks (the bus queues per sink); an event the catalog rejects (a
 * programming error) or a kind without a plural is logged and dropped.
 */
export class WorkflowEventRelay implements WorkflowEventEmitter {
  readonly #options: WorkflowEventRelayOptions;

  constructor(options: WorkflowEventRelayOptions) {
    this.#options = options;
  }

  emit(event: WorkflowEvent): void {
    const { events, plurals, logger } = this.#options;
    try {
      const plural = plurals[event.resource.kind];
      if (plural === undefined) throw new Error(`no plural known for kind ${event.resource.kind}`);
      const about = { resource: resourceRefOf(event.resource, plural), correlationId: event.correlationId };
      const run = { workflow: event.workflow, generation: event.generation };
      const job = { workflow: event.workflow, step: event.type.startsWith('job.') && 'step' in event ? event.step : '', ...('unit' in event && event.unit !== undefined ? { unit: event.unit } : {}) };
      switch (event.type) {
        case 'workflow.started':
          events.emit('workflow.started', about, { ...run, steps: [...event.steps] });
          break;
        case 'workflow.completed':
          events.emit('workflow.completed', about, { ...run, durationMs: event.durationMs });
          break;
        case 'workflow.failed':
          events.emit('workflow.failed', about, { ...run, message: event.message, ...(event.step === undefined ? {} : { step: event.step }), ...(event.durationMs === undefined ? {} : { durationMs: event.durationMs }) });
          break;
        case 'job.started':
          events.emit('job.started', about, { ...job, attempt: event.attempt });
          break;
        case 'job.completed':
          events.emit('job.completed', about, { ...job, attempt: event.attempt, durationMs: event.durationMs });
          break;
        case 'job.failed':
          events.emit('job.failed', about, {
            ...job,
            attempt: event.attempt,
            durationMs: event.durationMs,
            retryable: event.retryable,
            message: event.message,
            ...(event.nextAttemptAt === undefined ? {} : { nextAttemptAt: event.nextAttemptAt }),
          });
          break;
      }
    } catch (error) {
      logger.error({ err: error, type: event.type, correlationId: event.correlationId }, 'workflow event dropped');
    }
  }
}
