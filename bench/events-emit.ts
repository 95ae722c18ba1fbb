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

const BATCH = 500;
const ROUNDS = 40;
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

const row = (name: string, ns: number) => console.log(`${name.padEnd(46)} ${(ns / 1000).toFixed(2).padStart(8)} µs/op   ${(ns / baseline).toFixed(1).padStart(6)}× baseline`);
console.log(`emit cost (median of ${ROUNDS} batches of ${BATCH})`);
row('baseline: build the object, store it in a ring', baseline);
row('EventBus.emit, no sinks', emitNoSinks);
row('EventBus.emit, 3 sinks', emitThreeSinks);
row("DomainEvents.emit('job.started'), 3 sinks", typedEmit);

const memoryRate = await appendsPerSecond(new MemoryAuditStore(), 2000);
console.log(`\naudit appends, one chain, sequential`);
console.log(`${'memory store'.padEnd(46)} ${memoryRate.toFixed(0).padStart(8)} /s`);
const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
redis.on('error', () => undefined);
try {
  await redis.connect();
  const keyPrefix = `blackroad-bench:${process.pid}:${Date.now()}:`;
  const redisRate = await appendsPerSecond(new RedisAuditStore({ redis, keyPrefix }), 1000);
  console.log(`${'Redis store (2 round trips per append)'.padEnd(46)} ${redisRate.toFixed(0).padStart(8)} /s   ${(redisRate / memoryRate).toFixed(3)}× memory`);
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
} catch (error) {
  console.log(`Redis store: skipped (${error instanceof Error ? error.message : String(error)})`);
} finally {
  redis.disconnect();
}
