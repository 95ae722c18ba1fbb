// The Prometheus metrics of the event bus, its sinks and the audit log, registered once per registry.
import { Counter, Gauge } from 'prom-client';
import type { Registry } from '../observability/metrics.ts';

export interface EventMetrics {
  /** `blackroad_domain_events_total{type}`: events emitted, by CloudEvents type. */
  readonly emitted: Counter<'type'>;
  /** `blackroad_domain_events_dropped_total{sink}`: events a sink never received because its queue was full or the bus closed. */
  readonly dropped: Counter<'sink'>;
  /** `blackroad_domain_event_sink_failures_total{sink}`: deliveries that threw or timed out. */
  readonly failures: Counter<'sink'>;
  /** `blackroad_domain_event_sink_queue_depth{sink}`: events waiting for delivery. */
  readonly queueDepth: Gauge<'sink'>;
  /** `blackroad_domain_event_stream_clients`: open Server-Sent Events streams. */
  readonly streamClients: Gauge;
  /** `blackroad_audit_records_total{action}`: audit records stored. */
  readonly auditRecords: Counter<'action'>;
}

/**
 * The event metrics on `registry`, created on first use and shared by every component that asks for
 * them afterwards (a bus, its SSE endpoint and the audit log share one registry).
 */
export function eventMetrics(registry: Registry): EventMetrics {
  return {
    emitted: counter(registry, 'blackroad_domain_events_total', 'Domain events emitted, by CloudEvents type.', ['type']),
    dropped: counter(registry, 'blackroad_domain_events_dropped_total', 'Domain events a sink never received: its queue was full or the bus closed first.', ['sink']),
    failures: counter(registry, 'blackroad_domain_event_sink_failures_total', 'Domain event deliveries that failed or timed out, by sink.', ['sink']),
    queueDepth: gauge(registry, 'blackroad_domain_event_sink_queue_depth', 'Domain events waiting in a sink queue.', ['sink']),
    streamClients: gauge(registry, 'blackroad_domain_event_stream_clients', 'Open Server-Sent Events streams of domain events.', []),
    auditRecords: counter(registry, 'blackroad_audit_records_total', 'Audit records stored, by action.', ['action']),
  };
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Gauge<L>;
  return new Gauge({ name, help, labelNames, registers: [registry] });
}
