import { describe, expect, it } from 'vitest';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import type { KubeEvent, KubeEventPublisher } from '../../src/events/kube-event-publisher.ts';
import { KubeEventSink, truncateUtf8 } from '../../src/events/kube-event-sink.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { SecretMask } from '../../src/observability/redact.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { CANARY, captureLogger, deployRef, metricValue, settle, sweepRef } from './event-fixtures.ts';

/** A recorder that keeps what it is asked to publish, and can be told to refuse. */
class FakePublisher implements KubeEventPublisher {
  readonly published: KubeEvent[] = [];
  failWith: Error | undefined;

  publish(event: KubeEvent): Promise<void> {
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    this.published.push(event);
    return Promise.resolve();
  }
}

function setup(secretMask?: SecretMask) {
  const registry = createMetricsRegistry({ processMetrics: false });
  const bus = new EventBus({ clock: new ManualClock(), registry, logger: captureLogger().logger, ...(secretMask === undefined ? {} : { secretMask }) });
  const publisher = new FakePublisher();
  bus.addSink(new KubeEventSink(publisher));
  return { registry, bus, publisher, events: new DomainEvents(bus) };
}

const deploy = { service: 'api', version: '1.42.0', provider: 'kubernetes' };

describe('Kubernetes Events sink', () => {
  it('records a Deploy’s events on the Deploy, with type, reason, action and note', async () => {
    const { events, publisher } = setup();
    events.emit('deploy.started', { resource: deployRef() }, deploy);
    events.emit('deploy.failed', { resource: deployRef() }, { ...deploy, step: 'verify', message: 'health check failed 3 times' });
    await settle();
    const regarding = { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'api', uid: 'uid-prod-api' };
    expect(publisher.published).toEqual([
      { regarding, type: 'Normal', reason: 'DeployStarted', action: 'Deploy', note: 'Deploying api 1.42.0 with kubernetes' },
      { regarding, type: 'Warning', reason: 'DeployFailed', action: 'Deploy', note: 'Deploy of api 1.42.0 failed at step verify: health check failed 3 times' },
    ]);
  });

  it('skips events that have no Kubernetes view (progress, agents)', async () => {
    const { events, publisher } = setup();
    events.emit('sweep.progress', { resource: sweepRef() }, { total: 4, completed: 1, passed: 1, failed: 0, errored: 0, skipped: 0 });
    events.emit('agent.registered', {}, { agentId: 'sweep-bot', name: 'Sweep Bot', category: 'quality', capabilities: ['sweep'], operatorLevel: true });
    events.emit('sweep.started', { resource: sweepRef() }, { repositories: 2, checks: 2, total: 4, concurrency: 2 });
    await settle();
    expect(publisher.published.map((e) => e.reason)).toEqual(['SweepStarted']);
  });

  it('keeps notes within the 1 kB limit without splitting a character, and never carries a secret value', async () => {
    const mask = new SecretMask();
    mask.add(CANARY);
    const { events, publisher } = setup(mask);
    events.emit('workflow.failed', { resource: deployRef() }, { workflow: 'deploy', generation: 1, message: `token ${CANARY} rejected; ${'é'.repeat(1000)}` });
    await settle();
    const note = publisher.published[0]?.note ?? '';
    expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(1024);
    expect(note.endsWith('é…')).toBe(true);
    expect(note).not.toContain(CANARY);
    expect(truncateUtf8('short', 1024)).toBe('short');
  });

  it('counts a refusing API server as sink failures, not as errors of the emitter', async () => {
    const { events, publisher, registry } = setup();
    publisher.failWith = new Error('events is forbidden: User cannot create resource "events"');
    expect(() => events.emit('deploy.started', { resource: deployRef() }, deploy)).not.toThrow();
    await settle();
    expect(await metricValue(registry, 'blackroad_domain_event_sink_failures_total', { sink: 'kubernetes' })).toBe(1);
  });
});
