// What the bus keeps and hands to its sinks: a CloudEvent with its sequence and its Kubernetes view, and the sink seam.
import type { CloudEvent } from './cloud-event.ts';
import type { KubeEvent } from './kube-event-publisher.ts';

/** One emitted event as the bus keeps it. Immutable once emitted. */
export interface DomainEvent {
  /** The numeric value of `cloudEvent.id`; increases with every event. */
  readonly sequence: number;
  readonly cloudEvent: CloudEvent;
  /** The Kubernetes Event this event becomes; absent when it is not shown in `kubectl describe`. */
  readonly kubeEvent?: KubeEvent;
}

/**
 * A destination of domain events. The bus gives each sink its own bounded queue and delivery loop, and
 * calls `deliver` for one event at a time, in emission order.
 *
 * Assumptions: `deliver` resolves once the event is delivered and rejects when it could not be; it
 * should stop work when `signal` aborts (the delivery timed out or the bus is closing).
 */
export interface EventSink {
  /** A short, stable name: the `sink` label of the bus's metrics (`kubernetes`, `redis`, `sse`). */
  readonly name: string;
  deliver(event: DomainEvent, signal: AbortSignal): Promise<void>;
  /** Releases what the sink holds; called once by `EventBus.close`. */
  close?(): Promise<void>;
}
