import { describe, expect, it } from 'vitest';
import { auditRecordHash, GENESIS_HASH } from '../../src/events/audit-record.ts';
import { parseCloudEvent, isInvalidCloudEventError } from '../../src/events/cloud-event.ts';
import { DomainEvents, EVENT_KINDS, eventType, type EventData, type EventKind } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { apiPath } from '../../src/events/resource-ref.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { captureLogger, deployRef, sweepRef } from './event-fixtures.ts';

function setup() {
  const bus = new EventBus({ clock: new ManualClock(), registry: createMetricsRegistry({ processMetrics: false }), logger: captureLogger().logger });
  return { bus, events: new DomainEvents(bus) };
}

const auditContent = {
  chain: apiPath(deployRef()),
  sequence: 1,
  time: '2026-01-01T00:00:00.000Z',
  actor: 'operator/blackroad-0',
  action: 'step.deploy',
  step: 'deploy',
  outcome: 'Running',
  resource: { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'api', uid: 'uid-prod-api' },
  previousHash: GENESIS_HASH,
};

/** One valid data value per kind; `satisfies` makes a new kind without a sample a compile error. */
const SAMPLES = {
  'job.started': { workflow: 'deploy', step: 'verify', attempt: 1 },
  'job.completed': { workflow: 'deploy', step: 'verify', attempt: 2, durationMs: 1234 },
  'job.failed': { workflow: 'deploy', step: 'verify', attempt: 3, retryable: true, message: 'health check failed' },
  'workflow.started': { workflow: 'deploy', generation: 3, steps: ['validate', 'deploy', 'verify', 'finalize'] },
  'workflow.completed': { workflow: 'deploy', generation: 3, durationMs: 60_000 },
  'workflow.failed': { workflow: 'deploy', generation: 3, step: 'deploy', message: 'provider unavailable' },
  'agent.registered': { agentId: 'deploy-bot', name: 'Deploy Bot', category: 'delivery', capabilities: ['deploy', 'rollback'], operatorLevel: true },
  'agent.deregistered': { agentId: 'deploy-bot', name: 'Deploy Bot', reason: 'shutdown' },
  'deploy.started': { service: 'api', version: '1.42.0', provider: 'kubernetes', previousVersion: '1.41.0' },
  'deploy.succeeded': { service: 'api', version: '1.42.0', provider: 'kubernetes', providerRef: 'api-7f9c', durationMs: 42_000 },
  'deploy.failed': { service: 'api', version: '1.42.0', provider: 'railway', step: 'deploy', message: 'breaker open' },
  'deploy.rolledback': { service: 'api', version: '1.42.0', provider: 'kubernetes', restoredVersion: '1.41.0', reason: 'HealthCheckFailed', message: '3 failed probes' },
  'approval.requested': { service: 'api', version: '1.42.0', category: 'finance' },
  'approval.granted': { service: 'api', version: '1.42.0', approvedBy: 'alice@example.com' },
  'sweep.started': { repositories: 80, checks: 2, total: 160, concurrency: 5 },
  'sweep.progress': { total: 160, completed: 40, passed: 38, failed: 1, errored: 1, skipped: 0 },
  'sweep.completed': { total: 160, completed: 160, passed: 150, failed: 8, errored: 2, skipped: 0, durationMs: 900_000 },
  'sweep.failed': { total: 160, completed: 12, passed: 11, failed: 1, errored: 0, skipped: 0, message: 'failFast: api/lint failed' },
  'audit.recorded': { ...auditContent, hash: auditRecordHash(auditContent) },
} satisfies { [K in EventKind]: EventData<K> };

describe('domain events: the catalog', () => {
  it('has a sample for every kind, and every kind makes a valid CloudEvent of type io.blackroad.operator.<kind>', () => {
    const { events } = setup();
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(EVENT_KINDS).sort());
    for (const kind of Object.keys(EVENT_KINDS) as EventKind[]) {
      const resource = kind.startsWith('sweep.') ? sweepRef() : deployRef();
      const event = events.emit(kind, { resource, correlationId: 'uid-prod-api/3' }, SAMPLES[kind] as never);
      const parsed = parseCloudEvent(JSON.parse(JSON.stringify(event.cloudEvent)));
      expect(parsed.type).toBe(eventType(kind));
      expect(parsed.type).toBe(`io.blackroad.operator.${kind}`);
      expect(parsed.data).toEqual(SAMPLES[kind]);
    }
  });

  it('uses the resource’s API path as the source, the workflow id as correlationid, and the kind’s subject', () => {
    const { events } = setup();
    const event = events.emit('job.failed', { resource: deployRef(), correlationId: 'uid-prod-api/3' }, { ...SAMPLES['job.failed'], unit: 'api/lint' });
    expect(event.cloudEvent).toMatchObject({
      source: '/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api',
      correlationid: 'uid-prod-api/3',
      subject: 'verify api/lint',
    });
    expect(events.emit('deploy.started', { resource: deployRef(), subject: 'custom' }, SAMPLES['deploy.started']).cloudEvent.subject).toBe('custom');
    expect(apiPath({ apiVersion: 'v1', kind: 'Namespace', resource: 'namespaces', name: 'prod' })).toBe('/api/v1/namespaces/prod');
  });

  it('gives agent events their agent path as source and no Kubernetes Event', () => {
    const { events } = setup();
    const event = events.emit('agent.registered', {}, SAMPLES['agent.registered']);
    expect(event.cloudEvent.source).toBe('/agents/deploy-bot');
    expect(event.cloudEvent.subject).toBe('deploy-bot');
    expect(event.kubeEvent).toBeUndefined();
  });

  it('describes each resource event for kubectl describe: Warning for failures and rollbacks, none for progress, audit and units that went well', () => {
    const { events } = setup();
    const resource = deployRef();
    expect(events.emit('deploy.rolledback', { resource }, SAMPLES['deploy.rolledback']).kubeEvent).toEqual({
      regarding: { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'api', uid: 'uid-prod-api' },
      type: 'Warning',
      reason: 'RolledBack',
      action: 'Rollback',
      note: 'Rolled api back from 1.42.0 to 1.41.0 (HealthCheckFailed): 3 failed probes',
    });
    expect(events.emit('deploy.started', { resource }, SAMPLES['deploy.started']).kubeEvent).toMatchObject({ type: 'Normal', reason: 'DeployStarted', action: 'Deploy' });
    expect(events.emit('sweep.progress', { resource: sweepRef() }, SAMPLES['sweep.progress']).kubeEvent).toBeUndefined();
    expect(events.emit('audit.recorded', { resource }, SAMPLES['audit.recorded']).kubeEvent).toBeUndefined();
    expect(events.emit('job.completed', { resource: sweepRef() }, { ...SAMPLES['job.completed'], unit: 'api/lint' }).kubeEvent).toBeUndefined();
    expect(events.emit('job.failed', { resource: sweepRef() }, { ...SAMPLES['job.failed'], unit: 'api/lint' }).kubeEvent).toMatchObject({ type: 'Warning', reason: 'StepFailed' });
    expect(events.emit('sweep.completed', { resource: sweepRef() }, SAMPLES['sweep.completed']).kubeEvent?.type).toBe('Warning');
    expect(events.emit('sweep.completed', { resource: sweepRef() }, { ...SAMPLES['sweep.completed'], failed: 0, errored: 0, passed: 160 }).kubeEvent?.type).toBe('Normal');
  });

  it('cuts long messages to 1,024 characters', () => {
    const { events } = setup();
    const event = events.emit('workflow.failed', { resource: deployRef() }, { ...SAMPLES['workflow.failed'], message: 'x'.repeat(5000) });
    expect((event.cloudEvent.data as { message: string }).message).toHaveLength(1024);
  });

  it('rejects data that breaks its kind’s schema, and a resource event without a resource, emitting nothing', () => {
    const { events, bus } = setup();
    const wrong = { ...SAMPLES['deploy.started'], version: '' };
    let thrown: unknown;
    try {
      events.emit('deploy.started', { resource: deployRef() }, wrong);
    } catch (error) {
      thrown = error;
    }
    expect(isInvalidCloudEventError(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(/version/);
    expect(() => events.emit('deploy.started', { resource: deployRef() }, { ...SAMPLES['deploy.started'], extra: 1 } as never)).toThrow(/extra/);
    expect(() => events.emit('deploy.started', {}, SAMPLES['deploy.started'])).toThrow(/source: a resource is required/);
    expect(bus.size).toBe(0);
  });
});
