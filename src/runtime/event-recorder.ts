// Records events.k8s.io/v1 Events on objects, folding repeats into series and rate-limiting per object, as client-go does.
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import { builtinResources } from '../kube/resource-descriptor.ts';
import type { Logger } from '../observability/logger.ts';
import type { Clock, TimerHandle } from '../resilience/clock.ts';
import type { Runnable } from './runnable.ts';

/** The object an Event is about (structurally the `ObjectReference` of `events/`). */
export interface EventReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** One occurrence (structurally the `KubeEvent` of `events/`, which this recorder publishes). */
export interface EventRecord {
  readonly regarding: EventReference;
  readonly related?: EventReference;
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, at most 128 characters. */
  readonly reason: string;
  /** CamelCase, at most 128 characters. */
  readonly action: string;
  /** At most 1 kB. */
  readonly note: string;
}

/** The two calls the recorder makes. */
export type EventClient = Pick<KubeClient, 'create' | 'patch'>;

export interface EventRecorderOptions {
  readonly client: EventClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `reportingController`, e.g. `operator.blackroad.io/deploy-controller`. */
  readonly reportingController: string;
  /** `reportingInstance`: this replica's identity. */
  readonly reportingInstance: string;
  /** New Events one object may get at once (client-go's spam filter: 25). */
  readonly burst?: number;
  /** One more new Event per object every this long (client-go: 5 min). */
  readonly refillIntervalMs?: number;
  /** A repeat within this long of the previous occurrence joins its series (client-go: 6 min). */
  readonly seriesWindowMs?: number;
  /** A series' count is written at most this often. Default 30 s. */
  readonly seriesFlushMs?: number;
  /** Series and per-object buckets remembered (least recently used forgotten first). Default 4096. */
  readonly cacheSize?: number;
}

interface Series {
  readonly name: string;
  readonly namespace: string;
  /** Resolves once the Event exists on the server. */
  created: Promise<void>;
  count: number;
  writtenCount: number;
  lastObservedAt: number;
  lastWrittenAt: number;
  timer: TimerHandle | undefined;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** The reference an Event needs to an object read from the API (which carries `apiVersion` and `kind`). */
export function eventReference(object: KubeObject): EventReference {
  const { apiVersion, kind } = object;
  if (apiVersion === undefined || kind === undefined) throw new TypeError(`object ${object.metadata.name ?? ''} has no apiVersion/kind to refer to`);
  return {
    apiVersion,
    kind,
    name: object.metadata.name ?? '',
    ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
    ...(object.metadata.uid === undefined ? {} : { uid: object.metadata.uid }),
  };
}

/** A Kubernetes MicroTime: RFC 3339 with six fractional digits. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function referenceKey(reference: EventReference): string {
  return [reference.apiVersion, reference.kind, reference.namespace ?? '', reference.name, reference.uid ?? ''].join('\u0000');
}

/**
 * Writes Events about objects without flooding the API server.
 *
 * Guarantees:
 * - an occurrence isomorphic to one seen within `seriesWindowMs` (same object, type, reason, action, note,
 *   related object) joins its series: the first repeat patches `series.count` at once, later ones are counted
 *   and written at most every `seriesFlushMs`, so a hot loop costs one write per `seriesFlushMs`;
 * - new Events about one object pass a token bucket (`burst`, one per `refillIntervalMs`); beyond it they are
 *   dropped (and logged at debug);
 * - `publish` rejects with the typed API error when the server refused the write.
 */
export class EventRecorder implements Runnable {
  readonly description = 'event recorder';
  readonly #options: EventRecorderOptions;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, Bucket>();
  #sequence = 0;
  #dropped = 0;

  constructor(options: EventRecorderOptions) {
    this.#options = options;
  }

  /** New Events dropped by the per-object rate limit so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Records one occurrence (the `KubeEventPublisher` seam of `events/`). */
  async publish(event: EventRecord, signal?: AbortSignal): Promise<void> {
    const now = this.#options.clock.now();
    const key = this.#seriesKey(event);
    const series = this.#series.get(key);
    if (series !== undefined && now - series.lastObservedAt <= (this.#options.seriesWindowMs ?? 360_000)) {
      this.#touch(this.#series, key, series);
      series.count += 1;
      series.lastObservedAt = now;
      await series.created;
      await this.#writeSeriesSoon(key, series, signal);
      return;
    }
    if (series !== undefined) this.#forget(key, series);
    if (!this.#take(event.regarding, now)) {
      this.#dropped += 1;
      this.#options.logger.debug({ reason: event.reason, regarding: event.regarding.name }, 'event dropped by the per-object rate limit');
      return;
    }
    await this.#create(key, event, now, signal);
  }

  /** Records an occurrence in the background; failures are logged. For reconcilers that must not wait. */
  record(event: EventRecord): void {
    this.publish(event).catch((error: unknown) => this.#options.logger.warn({ err: error, reason: event.reason }, 'could not record an event'));
  }

  /** As a manager runnable (on every replica): waits for shutdown, then writes the series counts not yet written. */
  async start(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await this.flush();
  }

  /** Writes every series count not yet written (at shutdown). */
  async flush(signal?: AbortSignal): Promise<void> {
    await Promise.all(
      [...this.#series].map(async ([key, series]) => {
        if (series.timer !== undefined) this.#options.clock.clearTimeout(series.timer);
        series.timer = undefined;
        if (series.count > series.writtenCount) await this.#writeSeries(key, series, signal).catch(() => undefined);
      }),
    );
  }

  async #create(key: string, event: EventRecord, now: number, signal: AbortSignal | undefined): Promise<void> {
    const { regarding } = event;
    const namespace = regarding.namespace === undefined || regarding.namespace === '' ? 'default' : regarding.namespace;
    const name = `${regarding.name.slice(0, 230)}.${now.toString(16)}${(this.#sequence++ & 0xffff).toString(16).padStart(4, '0')}`;
    const body = {
      metadata: { name, namespace },
      eventTime: microTime(now),
      reportingController: this.#options.reportingController,
      reportingInstance: this.#options.reportingInstance,
      action: event.action,
      reason: event.reason,
      note: event.note,
      type: event.type,
      regarding,
      ...(event.related === undefined ? {} : { related: event.related }),
    };
    const series: Series = { name, namespace, created: Promise.resolve(), count: 1, writtenCount: 1, lastObservedAt: now, lastWrittenAt: now, timer: undefined };
    const created = this.#options.client.create(builtinResources.events, body as KubeObject, { namespace, ...(signal === undefined ? {} : { signal }) });
    series.created = created.then(
      () => undefined,
      () => undefined,
    );
    this.#touch(this.#series, key, series);
    try {
      await created;
    } catch (error) {
      this.#forget(key, series);
      throw error;
    }
  }

  /** Writes the series now if it has not been written for `seriesFlushMs` (or was never written), else schedules it. */
  async #writeSeriesSoon(key: string, series: Series, signal: AbortSignal | undefined): Promise<void> {
    if (this.#series.get(key) !== series) return;
    const flushMs = this.#options.seriesFlushMs ?? 30_000;
    const now = this.#options.clock.now();
    if (series.writtenCount === 1 || now - series.lastWrittenAt >= flushMs) {
      await this.#writeSeries(key, series, signal);
      return;
    }
    if (series.timer !== undefined) return;
    series.timer = this.#options.clock.setTimeout(() => {
      series.timer = undefined;
      this.#writeSeries(key, series, undefined).catch((error: unknown) => this.#options.logger.warn({ err: error, event: series.name }, 'could not update an event series'));
    }, series.lastWrittenAt + flushMs - now);
  }

  async #writeSeries(key: string, series: Series, signal: AbortSignal | undefined): Promise<void> {
    const count = series.count;
    series.writtenCount = count;
    series.lastWrittenAt = this.#options.clock.now();
    try {
      await this.#options.client.patch(
        builtinResources.events,
        series.name,
        { series: { count, lastObservedTime: microTime(series.lastObservedAt) } },
        { namespace: series.namespace, type: 'merge', ...(signal === undefined ? {} : { signal }) },
      );
    } catch (error) {
      // The Event expired (events live an hour by default): the next occurrence starts a new one.
      if (isNotFound(error)) this.#forget(key, series);
      else throw error;
    }
  }

  #seriesKey(event: EventRecord): string {
    return [referenceKey(event.regarding), event.related === undefined ? '' : referenceKey(event.related), event.type, event.reason, event.action, event.note].join('\u0001');
  }

  #take(regarding: EventReference, now: number): boolean {
    const burst = this.#options.burst ?? 25;
    const refillMs = this.#options.refillIntervalMs ?? 300_000;
    const key = referenceKey(regarding);
    const bucket = this.#buckets.get(key) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) / refillMs);
    bucket.updatedAt = now;
    this.#touch(this.#buckets, key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Marks `key` as most recently used, forgetting the least recently used entries beyond the cache size. */
  #touch<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    const limit = this.#options.cacheSize ?? 4096;
    while (map.size > limit) {
      const oldest = map.keys().next().value as string;
      const entry = map.get(oldest);
      if (map === (this.#series as Map<string, unknown>)) this.#forget(oldest, entry as Series);
      else map.delete(oldest);
    }
  }

  #forget(key: string, series: Series): void {
    if (series.timer !== undefined) this.#options.clock.clearTimeout(series.timer);
    series.timer = undefined;
    if (this.#series.get(key) === series) this.#series.delete(key);
  }
}
