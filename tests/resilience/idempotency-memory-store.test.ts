import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { idempotencyKey } from '../../src/resilience/idempotency-store.ts';
import { ResilienceMetrics } from '../../src/resilience/resilience-metrics.ts';
import { idempotencyStoreContract } from '../support/idempotency-store-contract.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

describe('IdempotencyMemoryStore', () => {
  idempotencyStoreContract(async () => {
    const clock = new ManualClock(0);
    return {
      store: new IdempotencyMemoryStore({ clock }),
      shortTtlMs: 1_000,
      elapse: async (ms) => clock.advance(ms),
    };
  });

  it('forgets expired entries, so memory stays bounded without timers', async () => {
    const clock = new ManualClock(0);
    const store = new IdempotencyMemoryStore({ clock });
    for (let i = 0; i < 100; i += 1) await store.claim(`k${i}`, 'owner', 1_000);
    expect(store.size).toBe(100);
    clock.advance(1_000);
    expect(store.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts hits, misses and contended claims', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const store = new IdempotencyMemoryStore({ clock: new ManualClock(0), metrics: new ResilienceMetrics(registry) });
    await store.claim('a', 'one', 1_000);
    await store.claim('a', 'two', 1_000);
    await store.complete('a', 'one', 1);
    await store.claim('a', 'two', 1_000);
    await store.claim('a', 'three', 1_000);
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_idempotency_misses_total', { store: 'memory' })).toBe(1);
    expect(sampleValue(families, 'blackroad_idempotency_contended_total', { store: 'memory' })).toBe(1);
    expect(sampleValue(families, 'blackroad_idempotency_hits_total', { store: 'memory' })).toBe(2);
  });
});

describe('idempotencyKey', () => {
  it('derives one stable key per (uid, generation, step, unit), parts unable to run into each other', () => {
    const key = idempotencyKey({ uid: '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10', generation: 3, step: 'checks', unit: 'api/lint' });
    expect(key).toBe('6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/3/checks/api%2Flint');
    expect(idempotencyKey({ uid: 'u', generation: 1, step: 'a/b', unit: 'c' })).not.toBe(idempotencyKey({ uid: 'u', generation: 1, step: 'a', unit: 'b/c' }));
    expect(() => idempotencyKey({ uid: 'u', generation: -1, step: 's', unit: 'u' })).toThrow(RangeError);
  });
});
