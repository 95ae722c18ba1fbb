// One sink's bounded queue and delivery loop: what keeps a slow or failing sink from ever holding up the bus.
import type { Logger } from '../observability/logger.ts';
import type { Clock, TimerHandle } from '../resilience/clock.ts';
import type { EventMetrics } from './event-metrics.ts';
import type { DomainEvent, EventSink } from './event-sink.ts';

export interface SinkQueueSettings {
  readonly sink: EventSink;
  /** Events held for the sink beyond the one being delivered; more are dropped. */
  readonly capacity: number;
  /** A delivery still pending after this long is abandoned, its signal aborted, and counted as failed. */
  readonly deliveryTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: EventMetrics;
}

/** A delivery that did not settle within the sink's timeout. */
export class SinkDeliveryTimeoutError extends Error {
  override readonly name = 'SinkDeliveryTimeoutError';
  readonly sink: string;
  readonly timeoutMs: number;

  constructor(sink: string, timeoutMs: number) {
    super(`sink ${sink} did not deliver within ${timeoutMs} ms`);
    this.sink = sink;
    this.timeoutMs = timeoutMs;
  }
}

export function isSinkDeliveryTimeoutError(error: unknown): error is SinkDeliveryTimeoutError {
  return error instanceof SinkDeliveryTimeoutError;
}

type Outcome = { readonly kind: 'delivered' } | { readonly kind: 'failed'; readonly error: unknown } | { readonly kind: 'aborted' };

/**
 * Holds events for one sink and delivers them one at a time, in order.
 *
 * Guarantees:
 * - {@link SinkQueue.offer} never calls the sink and never waits: the loop starts on a microtask.
 * - A full queue drops the offered event and counts it in `blackroad_domain_events_dropped_total{sink}`.
 * - A delivery that throws, rejects or times out is counted in `blackroad_domain_event_sink_failures_total{sink}`
 *   and logged when the sink starts failing and when it recovers, never once per event; nothing is thrown.
 */
export class SinkQueue {
  readonly sink: EventSink;
  readonly #capacity: number;
  readonly #deliveryTimeoutMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: EventMetrics;
  #items: (DomainEvent | undefined)[] = [];
  #head = 0;
  #running = false;
  #closed = false;
  #abort: (() => void) | undefined;
  #idleWaiters: (() => void)[] = [];
  #droppedSinceFull = 0;
  #failedSinceHealthy = 0;

  constructor(settings: SinkQueueSettings) {
    this.sink = settings.sink;
    this.#capacity = settings.capacity;
    this.#deliveryTimeoutMs = settings.deliveryTimeoutMs;
    this.#clock = settings.clock;
    this.#logger = settings.logger;
    this.#metrics = settings.metrics;
  }

  /** Events waiting, not counting the one being delivered. */
  get depth(): number {
    return this.#items.length - this.#head;
  }

  /** Queues an event for delivery; returns false when it was dropped (queue full or closed). */
  offer(event: DomainEvent): boolean {
    if (this.#closed || this.depth >= this.#capacity) {
      this.#drop(1);
      return false;
    }
    this.#items.push(event);
    this.#metrics.queueDepth.set({ sink: this.sink.name }, this.depth);
    if (!this.#running) {
      this.#running = true;
      queueMicrotask(() => void this.#run());
    }
    return true;
  }

  /**
   * Stops accepting events, lets the queue drain for up to `timeoutMs`, then drops what is left and
   * abandons the delivery in flight (its signal aborts). Closes the sink last; a sink whose `close`
   * throws is logged.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    let timer: TimerHandle | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('deadline'), timeoutMs);
    });
    const outcome = await Promise.race([this.#idle().then(() => 'idle' as const), deadline]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    if (outcome === 'deadline') {
      this.#drop(this.depth);
      this.#items = [];
      this.#head = 0;
      this.#metrics.queueDepth.set({ sink: this.sink.name }, 0);
      this.#abort?.();
      await this.#idle();
    }
    try {
      await this.sink.close?.();
    } catch (error) {
      this.#logger.warn({ err: error, sink: this.sink.name }, 'domain event sink failed to close');
    }
  }

  #idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #run(): Promise<void> {
    try {
      while (this.depth > 0) {
        const event = this.#items[this.#head] as DomainEvent;
        // Released at once so a long backlog does not pin delivered events.
        this.#items[this.#head] = undefined;
        this.#head += 1;
        if (this.#head === this.#items.length) {
          this.#items = [];
          this.#head = 0;
        } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
          this.#items = this.#items.slice(this.#head);
          this.#head = 0;
        }
        this.#metrics.queueDepth.set({ sink: this.sink.name }, this.depth);
        this.#settle(event, await this.#deliver(event));
      }
    } finally {
      this.#running = false;
      if (this.#droppedSinceFull > 0) {
        this.#logger.info({ sink: this.sink.name, droppedEvents: this.#droppedSinceFull }, 'domain event sink queue drained');
        this.#droppedSinceFull = 0;
      }
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  async #deliver(event: DomainEvent): Promise<Outcome> {
    const controller = new AbortController();
    let timer: TimerHandle | undefined;
    const stopped = new Promise<Outcome>((resolve) => {
      timer = this.#clock.setTimeout(() => {
        const error = new SinkDeliveryTimeoutError(this.sink.name, this.#deliveryTimeoutMs);
        controller.abort(error);
        resolve({ kind: 'failed', error });
      }, this.#deliveryTimeoutMs);
      this.#abort = () => {
        controller.abort(new Error('event bus closed'));
        resolve({ kind: 'aborted' });
      };
    });
    const delivered = Promise.resolve()
      .then(() => this.sink.deliver(event, controller.signal))
      .then(
        (): Outcome => ({ kind: 'delivered' }),
        (error: unknown): Outcome => ({ kind: 'failed', error }),
      );
    try {
      return await Promise.race([delivered, stopped]);
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      this.#abort = undefined;
    }
  }

  #settle(event: DomainEvent, outcome: Outcome): void {
    const sink = this.sink.name;
    if (outcome.kind === 'aborted') {
      this.#drop(1);
      return;
    }
    if (outcome.kind === 'delivered') {
      if (this.#failedSinceHealthy > 0) {
        this.#logger.info({ sink, failedDeliveries: this.#failedSinceHealthy }, 'domain event sink recovered');
        this.#failedSinceHealthy = 0;
      }
      return;
    }
    this.#metrics.failures.inc({ sink });
    const fields = { err: outcome.error, sink, eventId: event.cloudEvent.id, eventType: event.cloudEvent.type };
    if (this.#failedSinceHealthy === 0) this.#logger.warn(fields, 'domain event sink failing');
    else this.#logger.debug(fields, 'domain event delivery failed');
    this.#failedSinceHealthy += 1;
  }

  #drop(count: number): void {
    if (count <= 0) return;
    this.#metrics.dropped.inc({ sink: this.sink.name }, count);
    if (this.#droppedSinceFull === 0 && !this.#closed) {
      this.#logger.warn({ sink: this.sink.name, capacity: this.#capacity }, 'domain event sink queue full, dropping events');
    }
    this.#droppedSinceFull += count;
  }
}
