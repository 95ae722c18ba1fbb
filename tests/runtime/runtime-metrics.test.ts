import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

describe('RuntimeMetrics', () => {
  it('exposes one label set per watched resource: counts add up, the age is the oldest', async () => {
    const registry = new Registry();
    const metrics = new RuntimeMetrics(registry);
    const removeA = metrics.watch('jobs.batch', () => ({ lastEventAgeSeconds: 3, relists: 1, restarts: 2 }));
    metrics.watch('jobs.batch', () => ({ lastEventAgeSeconds: 9, relists: 0, restarts: 5 }));
    metrics.watch('leases.coordination.k8s.io', () => ({ lastEventAgeSeconds: 1, relists: 0, restarts: 0 }));
    let families = parsePrometheusText(await registry.metrics());
    expect(families.get('blackroad_watch_restarts_total')?.samples).toHaveLength(2);
    expect(sampleValue(families, 'blackroad_watch_restarts_total', { resource: 'jobs.batch' })).toBe(7);
    expect(sampleValue(families, 'blackroad_watch_relists_total', { resource: 'jobs.batch' })).toBe(1);
    expect(sampleValue(families, 'blackroad_watch_last_event_age_seconds', { resource: 'jobs.batch' })).toBe(9);
    removeA();
    families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_watch_restarts_total', { resource: 'jobs.batch' })).toBe(5);
  });

  it('a second instance on the same registry reuses the families instead of failing', () => {
    const registry = new Registry();
    new RuntimeMetrics(registry).controller('a', 1);
    expect(() => new RuntimeMetrics(registry).controller('b', 2)).not.toThrow();
  });
});
