// The domain event bus: stamps and validates CloudEvents, keeps the last 1,000, and fans them out to isolated sinks.
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../observability/metrics.ts';
import { redact, redactString, type SecretMask } from '../observability/redact.ts';
import type { Clock } from '../resilience/clock.ts';
import { CLOUD_EVENTS_SPEC_VERSION, cloudEventSchema, describeIssues, InvalidCloudEventError, JSON_CONTENT_TYPE } from './cloud-event.ts';
import { EventBuffer } from './event-buffer.ts';
import { eventMetrics, type EventMetrics } from './event-metrics.ts';
import type { DomainEvent, EventSink } from './event-sink.ts';
import type { KubeEvent } from './kube-event-publisher.ts';
import { SinkQueue } from './sink-queue.ts';

export const DEFAULT_BUFFER_CAPACITY = 1000;
export const DEFAULT_SINK_QUEUE_CAPACITY = 1000;
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

export interface EventBusSettings {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Secret values read at run time; scrubbed from every event. */
  readonly secretMask?: SecretMask;
  /** Events kept for SSE resume; 1,000 by default. */
  readonly bufferCapacity?: number;
}

export interface SinkOptions {
  /** Events queued for this sink beyond the one in delivery; 1,000 by default. */
  readonly queueCapacity?: number;
  /** A delivery pending longer than this is abandoned and counted as failed; 10 s by default. */
  readonly deliveryTimeoutMs?: number;
}

/** What an emitter supplies; the bus adds `specversion`, `id`, `time` and `datacontenttype`. */
export interface EventDraft {
  /** The full CloudEvents type, `io.blackroad.operator.<kind>`. */
  readonly type: string;
  /** The API path of the resource the event is about (or another URI-reference). */
  readonly source: string;
  readonly subject?: string;
  readonly correlationId?: string;
  readonly data: unknown;
  /** The Kubernetes Event this event becomes, if any. */
  readonly kubeEvent?: KubeEvent;
}

/** Read access to the buffered events (what the SSE endpoint replays from). */
export interface EventHistory {
  /** Buffered events with a sequence greater than `sequence`, oldest first. */
  since(sequence: number): DomainEvent[];
  oldest(): DomainEvent | undefined;
  newest(): DomainEvent | undefined;
  /** The sequence of the newest event no longer buffered, or 0: a client whose last id is older missed events. */
  evictedThrough(): number;
}

/**
 * The bus every component emits domain events on.
 *
 * Guarantees:
 * - {@link EventBus.emit} is synchronous and never runs sink code, so no sink can slow it or make it throw.
 * - Ids increase strictly: `max(previous + 1, now in microseconds)` (ADR 007).
 * - Every string of an event and its data pass through the redactor before the event is kept or sent.
 * - Each sink receives events in emission order, from its own bounded queue (see {@link SinkQueue}).
 */
export class EventBus implements EventHistory {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: EventMetrics;
  readonly #mask: SecretMask | undefined;
  readonly #buffer: EventBuffer;
  readonly #queues: SinkQueue[] = [];
  #lastSequence = 0;
  #closed = false;

  constructor(settings: EventBusSettings) {
    this.#clock = settings.clock;
    this.#logger = settings.logger.child({ component: 'event-bus' });
    this.#metrics = eventMetrics(settings.registry);
    this.#mask = settings.secretMask;
    this.#buffer = new EventBuffer(settings.bufferCapacity ?? DEFAULT_BUFFER_CAPACITY);
  }

  /** Adds a sink behind its own queue. Sink names are unique; sinks cannot be added once the bus is closed. */
  addSink(sink: EventSink, options: SinkOptions = {}): void {
    if (this.#closed) throw new Error('the event bus is closed');
    if (this.#queues.some((queue) => queue.sink.name === sink.name)) throw new Error(`an event sink named "${sink.name}" is already added`);
    this.#queues.push(
      new SinkQueue({
        sink,
        capacity: options.queueCapacity ?? DEFAULT_SINK_QUEUE_CAPACITY,
        deliveryTimeoutMs: options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
        clock: this.#clock,
        logger: this.#logger,
        metrics: this.#metrics,
      }),
    );
  }

  /**
   * Stamps, validates, redacts and keeps one event, then offers it to every sink.
   *
   * Errors: throws {@link InvalidCloudEventError} when the draft does not make a valid CloudEvent (a
   * programming error: the typed emitters of `domain-events.ts` prevent it). Nothing is kept or sent then.
   */
  emit(draft: EventDraft): DomainEvent {
    const nowMs = this.#clock.now();
    const sequence = Math.max(this.#lastSequence + 1, Math.floor(nowMs) * 1000);
    const mask = this.#mask;
    const candidate = {
      specversion: CLOUD_EVENTS_SPEC_VERSION,
      id: String(sequence),
      source: draft.source,
      type: draft.type,
      ...(draft.subject === undefined ? {} : { subject: redactString(draft.subject, mask) }),
      time: new Date(nowMs).toISOString(),
      datacontenttype: JSON_CONTENT_TYPE,
      ...(draft.correlationId === undefined ? {} : { correlationid: draft.correlationId }),
      data: redact(draft.data, mask),
    };
    const parsed = cloudEventSchema.safeParse(candidate);
    if (!parsed.success) throw new InvalidCloudEventError(`invalid ${draft.type} event`, describeIssues(parsed.error), { cause: parsed.error });
    this.#lastSequence = sequence;
    const kubeEvent = draft.kubeEvent === undefined ? undefined : { ...draft.kubeEvent, note: redactString(draft.kubeEvent.note, mask) };
    const event: DomainEvent = kubeEvent === undefined ? { sequence, cloudEvent: parsed.data } : { sequence, cloudEvent: parsed.data, kubeEvent };
    this.#buffer.push(event);
    this.#metrics.emitted.inc({ type: event.cloudEvent.type });
    if (!this.#closed) for (const queue of this.#queues) queue.offer(event);
    return event;
  }

  since(sequence: number): DomainEvent[] {
    return this.#buffer.since(sequence);
  }

  oldest(): DomainEvent | undefined {
    return this.#buffer.oldest();
  }

  newest(): DomainEvent | undefined {
    return this.#buffer.newest();
  }

  evictedThrough(): number {
    return this.#buffer.evictedThrough();
  }

  /** How many events are buffered (at most the buffer capacity). */
  get size(): number {
    return this.#buffer.size;
  }

  /**
   * Stops fanning out: each sink gets up to `timeoutMs` (on the bus's clock) to drain its queue, then
   * what is left is dropped and each sink is closed. Events emitted afterwards are still buffered.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#queues.map((queue) => queue.close(timeoutMs)));
  }
}
