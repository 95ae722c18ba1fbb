// Benchmark: what emitting a domain event costs a reconcile, against building the bare object by hand; and audit appends per second.
// Run: node bench/events-emit.ts   (REDIS_URL, default redis://127.0.0.1:6379, adds the Redis audit store when it answers)
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { AuditLog } from '../src/events/audit-log.ts';
import { MemoryAuditStore, type AuditStore } from '../src/events/audit-store.ts';
import { DomainEvents } from '../src/events/domain-events.ts';
import { EventBus } from '../src/events/event-bus.ts';
import type { EventSink } from '../src/events/event-sink.ts';
import { RedisAuditStore } from '../src/events/redis-audit-store.ts';
import type { ResourceRef } from '../src/events/resource-ref.ts';
import { createLogger } from '../src/observability/logger.ts';
import { createMetricsRegistry } from '../src/observability/metrics.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { publish, size, type Figure } from './report.ts';

const BATCH = 500;
const ROUNDS = size(40, 10);
const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const resource: ResourceRef = { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', resource: 'deploys', namespace: 'prod', name: 'api', uid: 'uid-1' };
const data = { workflow: 'deploy', step: 'verify', attempt: 2 };

function bus(sinks: number): EventBus {
  const created = new EventBus({ clock: systemClock, registry: createMetricsRegistry({ processMetrics: false }), logger });
  const noop: (name: string) => EventSink = (name) => ({ name, deliver: () => Promise.resolve() });
  for (let i = 0; i < sinks; i += 1) created.addSink(noop(`sink-${i}`));
  return created;
}

/** Nanoseconds per call of `fn`, timed in batches; between batches the sinks drain (not timed). */
async function nsPerCall(fn: () => void): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS + 5; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i += 1) fn();
    const elapsed = Number(process.hrtime.bigint() - start);
    await new Promise((resolve) => setImmediate(resolve));
    if (round >= 5) samples.push(elapsed / BATCH);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

async function appendsPerSecond(store: AuditStore, count: number): Promise<number> {
  const audit = new AuditLog({ store, clock: systemClock, logger, registry: createMetricsRegistry({ processMetrics: false }) });
  const entry = { resource: { ...resource, name: `bench-${process.pid}-${Date.now()}` }, actor: 'operator/bench', action: 'step.verify', step: 'verify', outcome: 'Succeeded' };
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await audit.append(entry);
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

const ring: unknown[] = new Array(1000);
let slot = 0;
const baseline = await nsPerCall(() => {
  ring[slot++ % 1000] = { specversion: '1.0', id: String(slot), source: '/apis/x', type: 'io.blackroad.operator.job.started', time: new Date().toISOString(), datacontenttype: 'application/json', data: { ...data } };
});
const bare = bus(0);
const emitNoSinks = await nsPerCall(() => bare.emit({ type: 'io.blackroad.operator.job.started', source: '/apis/x', data }));
const fanned = bus(3);
const emitThreeSinks = await nsPerCall(() => fanned.emit({ type: 'io.blackroad.operator.job.started', source: '/apis/x', data }));
const typed = new DomainEvents(bus(3));
const typedEmit = await nsPerCall(() => typed.emit('job.started', { resource, correlationId: 'uid-1/2' }, data));

const emitBaseline = 'building the bare CloudEvent object by hand and storing it in a ring of 1,000';
const emitNote = `median of ${ROUNDS} batches of ${BATCH}; sinks are no-ops that drain between batches (not timed)`;
const figures: Figure[] = [
  { name: 'EventBus.emit, no sinks', value: emitNoSinks / 1000, unit: 'µs', baseline: baseline / 1000, baselineLabel: emitBaseline, note: emitNote },
  { name: 'EventBus.emit, 3 sinks', value: emitThreeSinks / 1000, unit: 'µs', baseline: baseline / 1000 },
  { name: "DomainEvents.emit('job.started'), 3 sinks", value: typedEmit / 1000, unit: 'µs', baseline: baseline / 1000 },
];

const memoryRate = await appendsPerSecond(new MemoryAuditStore(), size(2000, 500));
figures.push({ name: 'audit appends/s, memory store, one chain, sequential', value: memoryRate, unit: '/s' });
const redisFigure = { name: 'audit appends/s, Redis store (2 round trips per append)', unit: '/s', baseline: memoryRate, baselineLabel: 'the memory store, same run' };
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
redis.on('error', () => undefined);
try {
  await redis.connect();
  const keyPrefix = `blackroad-bench:${process.pid}:${Date.now()}:`;
  const redisRate = await appendsPerSecond(new RedisAuditStore({ redis, keyPrefix }), size(1000, 200));
  figures.push({ ...redisFigure, value: redisRate });
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
} catch (error) {
  figures.push({ ...redisFigure, value: Number.NaN, skipped: `Redis does not answer (${error instanceof Error ? error.message : String(error)})` });
} finally {
  redis.disconnect();
}
publish('events-emit', figures);
