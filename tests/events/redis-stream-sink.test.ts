import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCloudEvent } from '../../src/events/cloud-event.ts';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { RedisStreamSink } from '../../src/events/redis-stream-sink.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { SecretMask } from '../../src/observability/redact.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { probeRedis } from '../support/redis.ts';
import { CANARY, captureLogger, deployRef, metricValue } from './event-fixtures.ts';
import { deleteKeys, uniquePrefix } from './redis-keys.ts';

const probe = await probeRedis('events: Redis Stream sink');
const prefix = uniquePrefix('events-stream');
let redis: Redis;

beforeAll(() => {
  if (probe.available) redis = new Redis(probe.url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  if (!probe.available) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

function setup(keyPrefix: string, options: { maxLength?: number; secretMask?: SecretMask; client?: Redis } = {}) {
  const registry = createMetricsRegistry({ processMetrics: false });
  const bus = new EventBus({ clock: new ManualClock(), registry, logger: captureLogger().logger, ...(options.secretMask === undefined ? {} : { secretMask: options.secretMask }) });
  const sink = new RedisStreamSink({ redis: options.client ?? redis, keyPrefix, ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }) });
  bus.addSink(sink);
  return { bus, sink, registry, events: new DomainEvents(bus) };
}

describe.skipIf(!probe.available)('Redis Stream sink (real Redis)', () => {
  it('appends each event under <prefix>events with its id, type, and the CloudEvent as JSON, in order', async () => {
    const keyPrefix = `${prefix}order:`;
    const { events, sink, bus } = setup(keyPrefix);
    expect(sink.key).toBe(`${keyPrefix}events`);
    const emitted = [
      events.emit('deploy.started', { resource: deployRef(), correlationId: 'uid-prod-api/1' }, { service: 'api', version: '1.42.0', provider: 'kubernetes' }),
      events.emit('deploy.succeeded', { resource: deployRef(), correlationId: 'uid-prod-api/1' }, { service: 'api', version: '1.42.0', provider: 'kubernetes', durationMs: 1000 }),
    ];
    // Closing waits for the queue to drain (the manual clock never reaches the deadline).
    await bus.close(60_000);
    const entries = await redis.xrange(sink.key, '-', '+');
    expect(entries).toHaveLength(2);
    entries.forEach(([, fields], index) => {
      const expected = emitted[index]?.cloudEvent;
      expect(fields.slice(0, 4)).toEqual(['id', expected?.id, 'type', expected?.type]);
      expect(fields[4]).toBe('event');
      expect(parseCloudEvent(JSON.parse(fields[5] ?? 'null'))).toEqual(expected);
    });
  });

  it('keeps the stream near its cap (MAXLEN ~) and never below it, with the newest event last', async () => {
    const keyPrefix = `${prefix}capped:`;
    const { events, sink, bus } = setup(keyPrefix, { maxLength: 100 });
    let last = '';
    for (let i = 0; i < 600; i += 1) last = events.emit('sweep.progress', { resource: deployRef() }, { total: 600, completed: i, passed: i, failed: 0, errored: 0, skipped: 0 }).cloudEvent.id;
    await bus.close(60_000);
    const length = await redis.xlen(sink.key);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(600);
    const [newest] = await redis.xrevrange(sink.key, '+', '-', 'COUNT', 1);
    expect(newest?.[1][1]).toBe(last);
  });

  it('never writes a secret value into the stream', async () => {
    const keyPrefix = `${prefix}secret:`;
    const mask = new SecretMask();
    mask.add(CANARY);
    const { events, sink, bus } = setup(keyPrefix, { secretMask: mask });
    events.emit('deploy.failed', { resource: deployRef() }, { service: 'api', version: '1', provider: 'railway', step: 'deploy', message: `401 for token ${CANARY}` });
    await bus.close(60_000);
    expect(JSON.stringify(await redis.xrange(sink.key, '-', '+'))).not.toContain(CANARY);
  });

  it('counts deliveries to an unreachable Redis as failures while emit() goes on', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => undefined);
    const { events, registry, bus } = setup(`${prefix}down:`, { client: down });
    for (let i = 0; i < 3; i += 1) events.emit('deploy.started', { resource: deployRef() }, { service: 'api', version: String(i + 1), provider: 'kubernetes' });
    expect(bus.size).toBe(3);
    await bus.close(60_000);
    expect(await metricValue(registry, 'blackroad_domain_event_sink_failures_total', { sink: 'redis' })).toBe(3);
    down.disconnect();
  });
});
