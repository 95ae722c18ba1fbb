// In-memory stand-ins for the workflow engine's seams (status store, event emitter) and a driver that reconciles until a run ends.
import { workflowStatusSchema } from '../../src/api/status.ts';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import type { IdempotencyStore } from '../../src/resilience/idempotency-store.ts';
import { exponentialBackoff } from '../../src/resilience/backoff.ts';
import { RetryPolicy } from '../../src/resilience/retry.ts';
import { WorkflowEngine, type RunResult } from '../../src/workflow/workflow-engine.ts';
import type { WorkflowEvent, WorkflowEventEmitter } from '../../src/workflow/workflow-events.ts';
import type { WorkflowSnapshot, WorkflowStatusStore } from '../../src/workflow/workflow-status-store.ts';
import type { Workflow, WorkflowResource } from '../../src/workflow/workflow.ts';

/** Keeps every saved snapshot, as the API server would keep the last; checks each against the status schema. */
export class FakeStatusStore implements WorkflowStatusStore {
  readonly saved: WorkflowSnapshot[] = [];

  get latest(): WorkflowSnapshot | undefined {
    return this.saved.at(-1);
  }

  async save(snapshot: WorkflowSnapshot): Promise<void> {
    workflowStatusSchema.parse(snapshot.workflow);
    this.saved.push(snapshot);
  }

  /** The states of every saved version of one step, in order, without repeats. */
  history(step: string): string[] {
    const states = this.saved.map((snapshot) => snapshot.workflow.steps.find((entry) => entry.name === step)?.state ?? 'absent');
    return states.filter((state, index) => index === 0 || states[index - 1] !== state);
  }
}

export class RecordingEvents implements WorkflowEventEmitter {
  readonly events: WorkflowEvent[] = [];

  emit(event: WorkflowEvent): void {
    this.events.push(event);
  }

  /** `type step/unit` of each event, for compact assertions. */
  summary(): string[] {
    return this.events.map((event) => (event.type.startsWith('job.') && 'attempt' in event ? `${event.type} ${[event.step, event.unit].filter((part) => part !== undefined).join('/')}` : event.type));
  }
}

export function resource(generation = 1, uid = '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10'): WorkflowResource {
  return { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'api', uid, generation };
}

/** Retries without jitter, so tests can state exact times: 1 s, 2 s, 4 s between 4 attempts. */
export function exactRetry(clock: ManualClock, maxAttempts = 4): RetryPolicy {
  return new RetryPolicy({ name: 'test', maxAttempts, backoff: exponentialBackoff({ initialDelayMs: 1_000, maxDelayMs: 60_000, jitter: 'none' }), maxInCallWaitMs: 0, clock });
}

export interface World {
  readonly clock: ManualClock;
  readonly idempotency: IdempotencyStore;
  readonly breakers: CircuitBreakerRegistry;
  readonly status: FakeStatusStore;
  readonly events: RecordingEvents;
}

export function world(overrides: Partial<World> = {}): World {
  const clock = overrides.clock ?? new ManualClock(Date.UTC(2026, 0, 1));
  return {
    clock,
    idempotency: overrides.idempotency ?? new IdempotencyMemoryStore({ clock }),
    breakers: overrides.breakers ?? new CircuitBreakerRegistry({ clock }),
    status: overrides.status ?? new FakeStatusStore(),
    events: overrides.events ?? new RecordingEvents(),
  };
}

export function engineFor(w: World, owner = 'process-1', extra: Partial<ConstructorParameters<typeof WorkflowEngine>[0]> = {}): WorkflowEngine {
  return new WorkflowEngine({ owner, clock: w.clock, idempotency: w.idempotency, breakers: w.breakers, events: w.events, ...extra });
}

/**
 * Reconciles until the run ends, as the work queue would: each `running` result is a requeue after its
 * delay, and the manual clock jumps to it. Returns every result; throws after `maxReconciles`.
 */
export async function drive<Input>(engine: WorkflowEngine, workflow: Workflow<Input>, w: World, input: Input, options: { generation?: number; maxReconciles?: number; retry?: RetryPolicy } = {}): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (let i = 0; i < (options.maxReconciles ?? 200); i += 1) {
    const result = await engine.run(workflow, { resource: resource(options.generation ?? 1), input, persisted: w.status.latest, store: w.status, retry: options.retry ?? exactRetry(w.clock) });
    results.push(result);
    if (result.state !== 'running') return results;
    w.clock.advance(result.requeueAfterMs);
  }
  throw new Error('the run did not end');
}
