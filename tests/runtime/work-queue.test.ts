import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { ItemExponentialRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { WorkQueue } from '../../src/runtime/work-queue.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

function queue(options: { highBurst?: number; clock?: ManualClock } = {}): { queue: WorkQueue; clock: ManualClock } {
  const clock = options.clock ?? new ManualClock();
  return { queue: new WorkQueue({ name: 'test', clock, rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000), ...(options.highBurst === undefined ? {} : { highBurst: options.highBurst }) }), clock };
}

function drainAll(q: WorkQueue): string[] {
  const out: string[] = [];
  for (let key = q.tryGet(); key !== undefined; key = q.tryGet()) {
    out.push(key);
    q.done(key);
  }
  return out;
}

describe('WorkQueue semantics', () => {
  it('hands keys out in the order they were added and de-duplicates pending keys', () => {
    const { queue: q } = queue();
    for (const key of ['a', 'b', 'a', 'c', 'b']) q.add(key);
    expect(q.length).toBe(3);
    expect(drainAll(q)).toEqual(['a', 'b', 'c']);
  });

  it('never hands a key to two workers at once', () => {
    const { queue: q } = queue();
    q.add('a');
    expect(q.tryGet()).toBe('a');
    q.add('a');
    expect(q.tryGet()).toBeUndefined();
    expect(q.length).toBe(0);
  });

  it('a key added while it is being processed is handed out again after done, exactly once', () => {
    const { queue: q } = queue();
    q.add('a');
    const key = q.tryGet() as string;
    q.add('a');
    q.add('a');
    q.done(key);
    expect(drainAll(q)).toEqual(['a']);
  });

  it('a waiting get resolves with the next added key', async () => {
    const { queue: q } = queue();
    const pending = q.get();
    q.add('x');
    await expect(pending).resolves.toBe('x');
  });

  it('holds addAfter keys until their time on the clock, the earliest request winning', () => {
    const { queue: q, clock } = queue();
    q.addAfter('late', 1000);
    q.addAfter('soon', 100);
    q.addAfter('soon', 500);
    q.addAfter('late', 300);
    clock.advance(99);
    expect(q.tryGet()).toBeUndefined();
    clock.advance(1);
    expect(drainAll(q)).toEqual(['soon']);
    clock.advance(200);
    expect(drainAll(q)).toEqual(['late']);
    clock.advance(10_000);
    expect(q.length).toBe(0);
  });

  it('rate-limited adds back off exponentially per key until forget', () => {
    const { queue: q, clock } = queue();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      q.addRateLimited('k');
      let waited = 0;
      while (q.length === 0) {
        clock.advance(1);
        waited += 1;
      }
      delays.push(waited);
      q.done(q.tryGet() as string);
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(q.numRequeues('k')).toBe(4);
    q.forget('k');
    expect(q.numRequeues('k')).toBe(0);
  });

  it('a rate-limited add never comes sooner than the minimum delay asked for', () => {
    const { queue: q, clock } = queue();
    q.addRateLimited('k', 2000);
    clock.advance(1999);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
  });

  it('after shutDown adds are ignored, get resolves undefined, and drained waits for keys in flight', async () => {
    const { queue: q } = queue();
    q.add('a');
    const key = q.tryGet() as string;
    const waiting = q.get();
    q.shutDown();
    q.add('c');
    expect(q.tryGet()).toBeUndefined();
    await expect(q.get()).resolves.toBeUndefined();
    let drained = false;
    const done = q.drained().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    q.done(key);
    await done;
    expect(drained).toBe(true);
    expect(await waiting).toBeUndefined();
  });

  it('keeps the one-worker-per-key and exactly-once-after-done invariants under any sequence of operations', () => {
    const operation = fc.oneof(
      fc.record({ op: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c'), low: fc.boolean() }),
      fc.record({ op: fc.constant('get' as const) }),
      fc.record({ op: fc.constant('done' as const), index: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
        const { queue: q } = queue({ highBurst: 2 });
        const inFlight: string[] = [];
        const owed = new Set<string>();
        for (const step of operations) {
          if (step.op === 'add') {
            q.add(step.key, step.low ? 'low' : 'high');
            owed.add(step.key);
          } else if (step.op === 'get') {
            const key = q.tryGet();
            if (key !== undefined) {
              expect(inFlight).not.toContain(key);
              expect(owed.has(key)).toBe(true);
              owed.delete(key);
              inFlight.push(key);
            }
          } else if (inFlight.length > 0) {
            const [key] = inFlight.splice(step.index % inFlight.length, 1);
            q.done(key as string);
          }
        }
        for (const key of inFlight) q.done(key);
        const rest = drainAll(q);
        expect(new Set(rest)).toEqual(owed);
        expect(rest).toHaveLength(owed.size);
      }),
    );
  });
});

describe('WorkQueue priorities', () => {
  it('hands out fresh high-priority keys ahead of a large low-priority backlog', () => {
    const { queue: q } = queue();
    for (let i = 0; i < 10_000; i += 1) q.add(`initial-${i}`, 'low');
    q.done(q.tryGet() as string);
    q.add('fresh');
    expect(q.tryGet()).toBe('fresh');
  });

  it('a low-priority key re-added as high moves ahead', () => {
    const { queue: q } = queue();
    q.add('a', 'low');
    q.add('b', 'low');
    q.add('b', 'high');
    expect(drainAll(q)).toEqual(['b', 'a']);
    expect(q.length).toBe(0);
  });

  it('a key queued again in a lane where it left a stale entry waits behind the keys added before it', () => {
    const { queue: q } = queue();
    q.add('c', 'low');
    q.add('c', 'high');
    expect(q.tryGet()).toBe('c');
    q.add('a', 'low');
    q.done('c');
    q.add('c', 'low');
    expect(drainAll(q)).toEqual(['a', 'c']);
  });

  it('never starves low-priority keys while high-priority keys never stop coming', () => {
    const highBurst = 4;
    const { queue: q } = queue({ highBurst });
    const backlog = 1000;
    for (let i = 0; i < backlog; i += 1) q.add(`low-${i}`, 'low');
    let fresh = 0;
    const keepHighFull = (): void => {
      while (q.stats().depthHigh < 50) q.add(`high-${fresh++}`, 'high');
    };
    keepHighFull();
    let gets = 0;
    let lowServed = 0;
    while (lowServed < backlog) {
      const key = q.tryGet() as string;
      gets += 1;
      if (key.startsWith('low-')) lowServed += 1;
      q.done(key);
      keepHighFull();
      expect(gets).toBeLessThanOrEqual(backlog * (highBurst + 1));
    }
    expect(gets).toBe(backlog * (highBurst + 1));
  });

  it('a fresh key waits behind at most the high keys ahead of it plus one low key per burst', () => {
    const { queue: q } = queue({ highBurst: 4 });
    for (let i = 0; i < 10_000; i += 1) q.add(`low-${i}`, 'low');
    for (let i = 0; i < 8; i += 1) q.add(`high-${i}`);
    q.add('fresh');
    const order = drainAll(q);
    expect(order.indexOf('fresh')).toBeLessThanOrEqual(8 + Math.ceil(9 / 4));
  });
});

describe('WorkQueue metrics', () => {
  it('exposes depth per priority, adds, retries, durations and in-flight work with the queue labels, all starting at 0', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = new RuntimeMetrics(registry);
    const q = new WorkQueue({ name: 'deploy', controller: 'deploy', clock, metrics });
    const labels = { name: 'deploy', controller: 'deploy' };
    let families = parsePrometheusText(await registry.metrics());
    for (const name of ['workqueue_adds_total', 'workqueue_retries_total', 'workqueue_unfinished_work_seconds', 'workqueue_longest_running_processor_seconds', 'workqueue_queue_duration_seconds_count', 'workqueue_work_duration_seconds_count']) {
      expect(sampleValue(families, name, labels)).toBe(0);
    }
    expect(sampleValue(families, 'workqueue_depth', { ...labels, priority: '0' })).toBe(0);
    expect(sampleValue(families, 'workqueue_depth', { ...labels, priority: '-100' })).toBe(0);

    q.add('a');
    q.add('b', 'low');
    q.addAfter('c', 1000);
    clock.advance(2000);
    const key = q.tryGet() as string;
    clock.advance(3000);
    families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'workqueue_depth', { ...labels, priority: '0' })).toBe(1);
    expect(sampleValue(families, 'workqueue_depth', { ...labels, priority: '-100' })).toBe(1);
    expect(sampleValue(families, 'workqueue_adds_total', labels)).toBe(3);
    expect(sampleValue(families, 'workqueue_retries_total', labels)).toBe(1);
    expect(sampleValue(families, 'workqueue_longest_running_processor_seconds', labels)).toBe(3);
    expect(sampleValue(families, 'workqueue_queue_duration_seconds_sum', labels)).toBe(2);
    q.done(key);
    families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'workqueue_work_duration_seconds_sum', labels)).toBe(3);
    expect(sampleValue(families, 'workqueue_work_duration_seconds_bucket', { ...labels, le: '10' })).toBe(1);
    expect(sampleValue(families, 'workqueue_work_duration_seconds_bucket', { ...labels, le: '1' })).toBe(0);
  });
});
