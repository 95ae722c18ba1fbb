import { describe, expect, it } from 'vitest';
import { eventMetrics } from '../../src/events/event-metrics.ts';
import { createMetricsRegistry, type Registry } from '../../src/observability/metrics.ts';
import { documentedMetrics, OPERATIONS_DOC } from './operations-doc.ts';

/**
 * Every component that registers metrics, as the composition root wires it. A component that starts exporting
 * metrics is added here, so its names, types and labels are held to the table the dashboard and alerts use.
 */
const EXPORTERS: Record<string, (registry: Registry) => unknown> = {
  events: eventMetrics,
};

describe(`the metrics the code registers against ${OPERATIONS_DOC}`, () => {
  for (const [component, register] of Object.entries(EXPORTERS)) {
    it(`${component}: every metric is in the table with the same type and labels`, () => {
      const registry = createMetricsRegistry({ processMetrics: false });
      register(registry);
      const registered = registry.getMetricsAsArray().map((metric) => {
        const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames: string[] };
        return { name, type, labels: [...labelNames] };
      });
      expect(registered.length).toBeGreaterThan(0);
      const documented = documentedMetrics();
      for (const metric of registered) {
        const entry = documented.get(metric.name);
        expect(entry, `${metric.name} is exported but not in the metrics table`).toBeDefined();
        expect({ name: metric.name, type: entry?.type, labels: entry?.labels }).toEqual(metric);
      }
    });
  }
});
