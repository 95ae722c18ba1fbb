// The metrics registry factory: one prom-client registry per process, created in the composition root and passed down.
import { collectDefaultMetrics, Registry } from 'prom-client';

export type { Registry } from 'prom-client';

export interface MetricsSettings {
  /** Collect Node.js process metrics (CPU, memory, event-loop lag, GC). On by default. */
  readonly processMetrics?: boolean;
}

/** Creates a registry; never the global one, so tests and several components in one process stay isolated. */
export function createMetricsRegistry(settings: MetricsSettings = {}): Registry {
  const registry = new Registry();
  if (settings.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}
