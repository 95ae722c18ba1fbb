import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { WorkflowEventRelay } from '../../src/controllers/workflow-event-relay.ts';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import type { WorkflowEvent } from '../../src/workflow/workflow-events.ts';
import { captureLogger } from '../events/event-fixtures.ts';
import { resource } from '../support/workflow-fakes.ts';

function setUp() {
  const clock = new ManualClock(Date.parse('2026-11-27T12:00:00Z'));
  const { logger, records } = captureLogger();
  const bus = new EventBus({ clock, logger, registry: new Registry() });
  const relay = new WorkflowEventRelay({ events: new DomainEvents(bus), plurals: { Deploy: 'deploys' }, logger });
  return { bus, relay, records };
}

const base = { resource: resource(2), correlationId: '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/2', workflow: 'deploy', generation: 2, time: '2026-11-27T12:00:00.000Z' };

describe('WorkflowEventRelay', () => {
  it('puts every engine event on the bus about the run’s resource, with the run id as correlation id', () => {
    const { bus, relay } = setUp();
    const events: WorkflowEvent[] = [
      { ...base, type: 'workflow.started', steps: ['validate', 'deploy'] },
      { ...base, type: 'job.started', step: 'deploy', attempt: 1 },
      { ...base, type: 'job.failed', step: 'deploy', attempt: 1, durationMs: 12, retryable: true, message: 'HTTP 503', nextAttemptAt: '2026-11-27T12:00:02.000Z' },
      { ...base, type: 'job.completed', step: 'deploy', attempt: 2, durationMs: 40 },
      { ...base, type: 'workflow.failed', step: 'verify', durationMs: 900, message: 'health check failed' },
      { ...base, type: 'workflow.completed', durationMs: 1000 },
    ];
    for (const event of events) relay.emit(event);
    const emitted = bus.since(0).map((event) => event.cloudEvent);
    expect(emitted.map((event) => event.type)).toEqual(events.map((event) => `io.blackroad.operator.${event.type}`));
    for (const event of emitted) {
      expect(event.source).toBe('/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api');
      expect(event.correlationid).toBe(base.correlationId);
    }
    expect(emitted[2]?.data).toEqual({ workflow: 'deploy', step: 'deploy', attempt: 1, durationMs: 12, retryable: true, message: 'HTTP 503', nextAttemptAt: '2026-11-27T12:00:02.000Z' });
    expect(bus.since(0)[2]?.kubeEvent).toMatchObject({ type: 'Warning', reason: 'StepFailed', regarding: { kind: 'Deploy', name: 'api', namespace: 'prod' } });
  });

  it('never throws: an event of a kind it cannot place is logged and dropped', () => {
    const { bus, relay, records } = setUp();
    expect(() => relay.emit({ ...base, resource: { ...base.resource, kind: 'Widget' }, type: 'workflow.completed', durationMs: 1 })).not.toThrow();
    expect(bus.since(0)).toHaveLength(0);
    expect(records().some((record) => record['msg'] === 'workflow event dropped')).toBe(true);
  });
});
