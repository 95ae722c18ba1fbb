import { describe, expect, it } from 'vitest';
import { parseCloudEvent, isInvalidCloudEventError } from '../../src/events/cloud-event.ts';
import { EventBus, type EventDraft } from '../../src/events/event-bus.ts';
import type { DomainEvent, EventSink } from '../../src/events/event-sink.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { REDACTED, SecretMask } from '../../src/observability/redact.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { CANARY, captureLogger, metricValue, settle } from './event-fixtures.ts';

const SOURCE = '/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api';

function draft(index: number, overrides: Partial<EventDraft> = {}): EventDraft {
  return { type: 'io.blackroad.operator.job.started', source: SOURCE, subject: 'deploy', correlationId: 'uid-1/3', data: { index }, ...overrides };
}

function setup(options: { secretMask?: SecretMask; bufferCapacity?: number } = {}) {
  const clock = new ManualClock();
  const registry = createMetricsRegistry({ processMetrics: false });
  const logs = captureLogger(options.secretMask);
  const bus = new EventBus({ clock, registry, logger: logs.logger, ...options });
  return { clock, registry, logs, bus };
}

/** A sink that records what it receives. */
function recordingSink(name = 'recording'): EventSink & { received: DomainEvent[] } {
  const received: DomainEvent[] = [];
  return {
    name,
    received,
    deliver(event) {
      received.push(event);
      return Promise.resolve();
    },
  };
}

/** A sink whose deliveries never settle unless aborted. */
function blockedSink(name = 'blocked'): EventSink & { started: DomainEvent[]; aborted: number } {
  const sink = {
    name,
    started: [] as DomainEvent[],
    aborted: 0,
    deliver(event: DomainEvent, signal: AbortSignal) {
      sink.started.push(event);
      return new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          sink.aborted += 1;
          reject(signal.reason as Error);
        });
      });
    },
  };
  return sink;
}

describe('event bus: the CloudEvents it emits', () => {
  it('stamps each event as a valid CloudEvents 1.0 JSON object with the draft’s attributes', () => {
    const { bus, clock } = setup();
    const event = bus.emit(draft(1));
    const json: unknown = JSON.parse(JSON.stringify(event.cloudEvent));
    expect(parseCloudEvent(json)).toEqual({
      specversion: '1.0',
      id: String(clock.now() * 1000),
      source: SOURCE,
      type: 'io.blackroad.operator.job.started',
      subject: 'deploy',
      time: new Date(clock.now()).toISOString(),
      datacontenttype: 'application/json',
      correlationid: 'uid-1/3',
      data: { index: 1 },
    });
    expect(event.sequence).toBe(Number(event.cloudEvent.id));
  });

  it('gives strictly increasing ids while the clock stands still or goes backwards, and follows the clock when it moves on', () => {
    const { bus, clock } = setup();
    const first = bus.emit(draft(1)).sequence;
    const second = bus.emit(draft(2)).sequence;
    clock.set(clock.now() - 60_000);
    const third = bus.emit(draft(3)).sequence;
    expect([second - first, third - second]).toEqual([1, 1]);
    clock.advance(120_000);
    const fourth = bus.emit(draft(4)).sequence;
    expect(fourth).toBe(clock.now() * 1000);
  });

  it('gives a restarted process ids above those of the process before it', () => {
    const before = setup();
    const last = Array.from({ length: 50 }, (_, i) => before.bus.emit(draft(i))).at(-1)?.sequence ?? 0;
    const after = setup();
    after.clock.set(before.clock.now() + 1);
    expect(after.bus.emit(draft(0)).sequence).toBeGreaterThan(last);
  });

  it('redacts secret values and credential fields from data and subject before keeping the event', () => {
    const mask = new SecretMask();
    mask.add(CANARY);
    const { bus } = setup({ secretMask: mask });
    const event = bus.emit(draft(1, { subject: `step ${CANARY}`, data: { message: `provider said ${CANARY}`, token: 'abc123', url: 'https://user:hunter22@example.com/hook' } }));
    const text = JSON.stringify(bus.since(0));
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('hunter22');
    expect(event.cloudEvent.data).toEqual({ message: `provider said ${REDACTED}`, token: REDACTED, url: 'https://user:********@example.com/hook' });
  });

  it('refuses a draft that cannot make a valid CloudEvent and keeps nothing', () => {
    const { bus } = setup();
    let thrown: unknown;
    try {
      bus.emit(draft(1, { source: 'has spaces' }));
    } catch (error) {
      thrown = error;
    }
    expect(isInvalidCloudEventError(thrown)).toBe(true);
    expect((thrown as Error).message).toMatch(/source/);
    expect(() => bus.emit(draft(1, { data: { notJson: Number.NaN } }))).toThrow(/data/);
    expect(bus.size).toBe(0);
  });

  it('counts emitted events by type', async () => {
    const { bus, registry } = setup();
    bus.emit(draft(1));
    bus.emit(draft(2));
    bus.emit(draft(3, { type: 'io.blackroad.operator.job.completed' }));
    expect(await metricValue(registry, 'blackroad_domain_events_total', { type: 'io.blackroad.operator.job.started' })).toBe(2);
    expect(await metricValue(registry, 'blackroad_domain_events_total', { type: 'io.blackroad.operator.job.completed' })).toBe(1);
  });
});

describe('event bus: the buffer of recent events', () => {
  it('keeps exactly the last 1,000 events, oldest first', () => {
    const { bus } = setup();
    const emitted = Array.from({ length: 1_500 }, (_, i) => bus.emit(draft(i)));
    expect(bus.size).toBe(1_000);
    const kept = bus.since(0);
    expect(kept).toHaveLength(1_000);
    expect(kept[0]).toBe(emitted[500]);
    expect(kept.at(-1)).toBe(emitted[1_499]);
    expect(bus.oldest()).toBe(emitted[500]);
    expect(bus.newest()).toBe(emitted[1_499]);
    expect(bus.evictedThrough()).toBe(emitted[499]?.sequence);
  });

  it('returns the events after a given id, whether it is buffered, evicted, or unknown', () => {
    const { bus } = setup({ bufferCapacity: 10 });
    const emitted = Array.from({ length: 25 }, (_, i) => bus.emit(draft(i)));
    const at = (i: number) => emitted[i]?.sequence ?? -1;
    expect(bus.since(at(20)).map((e) => e.sequence)).toEqual([at(21), at(22), at(23), at(24)]);
    expect(bus.since(at(24))).toEqual([]);
    expect(bus.since(at(3))).toHaveLength(10);
    expect(bus.since(at(20) + 0.5).map((e) => e.sequence)).toEqual([at(21), at(22), at(23), at(24)]);
  });
});

describe('event bus: sink isolation', () => {
  it('delivers every event to a sink in emission order, never inside emit()', async () => {
    const { bus } = setup();
    const sink = recordingSink();
    bus.addSink(sink);
    const emitted = Array.from({ length: 20 }, (_, i) => bus.emit(draft(i)));
    expect(sink.received).toHaveLength(0);
    await settle();
    expect(sink.received).toEqual(emitted);
  });

  it('a sink that never settles does not delay emit(); it overflows into the dropped counter while other sinks get everything', async () => {
    const { bus, registry, logs } = setup();
    const blocked = blockedSink();
    const healthy = recordingSink('healthy');
    bus.addSink(blocked, { queueCapacity: 100 });
    bus.addSink(healthy);
    for (let i = 0; i < 250; i += 1) bus.emit(draft(i));
    // Nothing has run yet: the 100 queued are held, the other 150 were dropped at once.
    expect(await metricValue(registry, 'blackroad_domain_events_dropped_total', { sink: 'blocked' })).toBe(150);
    await settle();
    expect(blocked.started).toHaveLength(1);
    expect(await metricValue(registry, 'blackroad_domain_event_sink_queue_depth', { sink: 'blocked' })).toBe(99);
    for (let i = 0; i < 250; i += 1) bus.emit(draft(i));
    expect(await metricValue(registry, 'blackroad_domain_events_dropped_total', { sink: 'blocked' })).toBe(150 + 249);
    await settle();
    expect(healthy.received).toHaveLength(500);
    expect(await metricValue(registry, 'blackroad_domain_events_dropped_total', { sink: 'healthy' })).toBe(0);
    const warnings = logs.records().filter((r) => r['msg'] === 'domain event sink queue full, dropping events');
    expect(warnings).toEqual([expect.objectContaining({ level: 'warn', sink: 'blocked', capacity: 100 })]);
  });

  it('abandons a delivery that outlives its timeout, counts it as failed, and goes on with the next event', async () => {
    const { bus, registry, clock } = setup();
    const blocked = blockedSink();
    bus.addSink(blocked, { deliveryTimeoutMs: 1_000 });
    bus.emit(draft(1));
    bus.emit(draft(2));
    await settle();
    expect(blocked.started).toHaveLength(1);
    clock.advance(999);
    await settle();
    expect(blocked.started).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(blocked.aborted).toBe(1);
    expect(blocked.started.map((e) => e.cloudEvent.data)).toEqual([{ index: 1 }, { index: 2 }]);
    expect(await metricValue(registry, 'blackroad_domain_event_sink_failures_total', { sink: 'blocked' })).toBe(1);
  });

  it('counts and logs a failing sink’s errors instead of throwing them, and logs its recovery once', async () => {
    const { bus, registry, logs } = setup();
    let mode: 'throw' | 'reject' | 'ok' = 'throw';
    const delivered: DomainEvent[] = [];
    bus.addSink({
      name: 'flaky',
      deliver(event) {
        if (mode === 'throw') throw new Error('sink exploded synchronously');
        if (mode === 'reject') return Promise.reject(new Error('sink rejected'));
        delivered.push(event);
        return Promise.resolve();
      },
    });
    expect(() => bus.emit(draft(1))).not.toThrow();
    bus.emit(draft(2));
    await settle();
    mode = 'reject';
    bus.emit(draft(3));
    await settle();
    mode = 'ok';
    bus.emit(draft(4));
    await settle();
    expect(delivered.map((e) => e.cloudEvent.data)).toEqual([{ index: 4 }]);
    expect(await metricValue(registry, 'blackroad_domain_event_sink_failures_total', { sink: 'flaky' })).toBe(3);
    const records = logs.records();
    const failing = records.filter((r) => r['msg'] === 'domain event sink failing');
    expect(failing).toHaveLength(1);
    expect(failing[0]).toMatchObject({ level: 'warn', sink: 'flaky', eventType: 'io.blackroad.operator.job.started', err: { type: 'Error', message: 'sink exploded synchronously' } });
    expect(records.filter((r) => r['msg'] === 'domain event delivery failed')).toHaveLength(2);
    expect(records.filter((r) => r['msg'] === 'domain event sink recovered')).toEqual([expect.objectContaining({ level: 'info', sink: 'flaky', failedDeliveries: 3 })]);
  });

  it('refuses two sinks with one name', () => {
    const { bus } = setup();
    bus.addSink(recordingSink('same'));
    expect(() => bus.addSink(recordingSink('same'))).toThrow(/already added/);
  });
});

describe('event bus: close', () => {
  it('lets queues drain, then closes every sink', async () => {
    const { bus } = setup();
    const sink = recordingSink();
    let closed = 0;
    bus.addSink({ ...sink, deliver: sink.deliver, close: () => Promise.resolve(void (closed += 1)) });
    for (let i = 0; i < 10; i += 1) bus.emit(draft(i));
    await bus.close(1_000);
    expect(sink.received).toHaveLength(10);
    expect(closed).toBe(1);
  });

  it('drops what a stuck sink still holds at the deadline, aborts its delivery, and stops fanning out', async () => {
    const { bus, clock, registry } = setup();
    const blocked = blockedSink();
    bus.addSink(blocked);
    for (let i = 0; i < 5; i += 1) bus.emit(draft(i));
    await settle();
    const closing = bus.close(2_000);
    await settle();
    clock.advance(2_000);
    await closing;
    expect(blocked.aborted).toBe(1);
    // Four were queued behind the one in flight, which was abandoned too.
    expect(await metricValue(registry, 'blackroad_domain_events_dropped_total', { sink: 'blocked' })).toBe(5);
    bus.emit(draft(6));
    await settle();
    expect(blocked.started).toHaveLength(1);
    expect(bus.newest()?.cloudEvent.data).toEqual({ index: 6 });
    expect(() => bus.addSink(recordingSink())).toThrow(/closed/);
  });
});
