// List+watch of one resource as a lifecycle that never ends on its own: resumes after disconnects, relists on 410.
import type { KubeClient } from '../kube/client.ts';
import { isGone } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import { apiVersionOf, resourceName, type ResourceDescriptor } from '../kube/resource-descriptor.ts';
import type { Logger } from '../observability/logger.ts';
import { sleep, type Clock, type TimerHandle } from '../resilience/clock.ts';
import { ExponentialBackoff, type BackoffSettings } from './backoff.ts';
import type { RuntimeMetrics, WatchStats } from './runtime-metrics.ts';

/**
 * What the watcher yields, as kube-rs's watcher does:
 * - `init`: a (re)list starts; `init-apply` events follow, one per listed object;
 * - `init-done`: the list is complete: objects not listed since `init` are gone (deleted while disconnected);
 * - `apply` / `delete`: live changes from the watch.
 */
export type WatcherEvent<T extends KubeObject> =
  | { readonly type: 'init' }
  | { readonly type: 'init-apply'; readonly object: T }
  | { readonly type: 'init-done' }
  | { readonly type: 'apply'; readonly object: T }
  | { readonly type: 'delete'; readonly object: T };

/** The two calls the watcher makes. */
export type ListWatchSource = Pick<KubeClient, 'list' | 'watch'>;

export interface WatcherOptions {
  readonly source: ListWatchSource;
  readonly resource: ResourceDescriptor;
  /** Empty or undefined watches all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: RuntimeMetrics;
  /** Uniform in [0, 1): server timeouts and backoff jitter. */
  readonly random?: () => number;
  /** Objects per list page. Default 500. */
  readonly pageSize?: number;
  /** A watch with no event and no bookmark for this long is declared dead and resumed. Default 70 s. */
  readonly idleTimeoutMs?: number;
  /** Each watch asks the server to end it after a random time in this range. Default 300–600 s. */
  readonly watchTimeoutSeconds?: { readonly min: number; readonly max: number };
  readonly backoff?: BackoffSettings;
}

class IdleWatch extends Error {
  override name = 'IdleWatch';
}

/**
 * Watches one resource forever (until its signal aborts).
 *
 * Expected flow: list in pages (`init`, `init-apply`…, `init-done`), then watch from the list's
 * `resourceVersion` with bookmarks; after a disconnect, a server timeout or a silent stream, watch again from
 * the last version seen (an event's or a bookmark's); on 410 Gone, list again.
 *
 * Guarantees: errors never end the iteration; they are logged, counted and retried after an exponential backoff
 * (0.8 s → 30 s, full jitter, reset after 2 min without failure). Objects listed without `apiVersion`/`kind`
 * (built-in lists omit them per item) get the resource's.
 */
export class Watcher<T extends KubeObject = KubeObject> {
  readonly #options: WatcherOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #backoff: ExponentialBackoff;
  readonly #name: string;
  #lastEventAt: number;
  #relists = 0;
  #restarts = 0;

  constructor(options: WatcherOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
    this.#backoff = new ExponentialBackoff(options.clock, { random: this.#random, ...options.backoff });
    this.#name = resourceName(options.resource);
    this.#lastEventAt = options.clock.now();
  }

  /** The numbers behind the watch metrics. */
  stats(): WatchStats {
    return { lastEventAgeSeconds: (this.#clock.now() - this.#lastEventAt) / 1000, relists: this.#relists, restarts: this.#restarts };
  }

  /** The lifecycle events, until `signal` aborts. */
  async *events(signal: AbortSignal): AsyncGenerator<WatcherEvent<T>, void, undefined> {
    const removeMetrics = this.#options.metrics?.watch(this.#name, () => this.stats());
    const log = this.#options.logger.child({ resource: this.#name, namespace: this.#options.namespace ?? '' });
    let resourceVersion: string | undefined;
    let listed = false;
    try {
      while (!signal.aborted) {
        if (resourceVersion === undefined) {
          if (listed) this.#relists += 1;
          try {
            resourceVersion = yield* this.#list(signal);
            listed = true;
          } catch (error) {
            if (signal.aborted) return;
            const delayMs = this.#backoff.next();
            log.warn({ err: error, delayMs }, 'list failed; retrying');
            await this.#pause(delayMs, signal);
          }
          continue;
        }

        const outcome = yield* this.#watch(resourceVersion, signal);
        resourceVersion = outcome.resourceVersion;
        if (signal.aborted) return;
        if (outcome.error === undefined) {
          this.#restarts += 1;
          continue;
        }
        if (outcome.error instanceof IdleWatch) {
          this.#restarts += 1;
          log.warn({ idleMs: this.#clock.now() - this.#lastEventAt, resourceVersion }, 'watch silent; resuming');
          continue;
        }
        if (isGone(outcome.error)) {
          log.info({ resourceVersion }, 'watch version expired; relisting');
          resourceVersion = undefined;
          continue;
        }
        this.#restarts += 1;
        const delayMs = this.#backoff.next();
        log.warn({ err: outcome.error, delayMs, resourceVersion }, 'watch failed; resuming');
        await this.#pause(delayMs, signal);
      }
    } finally {
      removeMetrics?.();
    }
  }

  async *#list(signal: AbortSignal): AsyncGenerator<WatcherEvent<T>, string, undefined> {
    const { source, resource, namespace, labelSelector, fieldSelector } = this.#options;
    const apiVersion = apiVersionOf(resource);
    yield { type: 'init' };
    let snapshot: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await source.list<T>(resource, {
        limit: this.#options.pageSize ?? 500,
        signal,
        ...(namespace === undefined ? {} : { namespace }),
        ...(labelSelector === undefined ? {} : { labelSelector }),
        ...(fieldSelector === undefined ? {} : { fieldSelector }),
        ...(continueToken === undefined ? {} : { continue: continueToken }),
      });
      snapshot ??= page.metadata.resourceVersion;
      for (const item of page.items) {
        if (item.kind === undefined) Object.assign(item, { apiVersion, kind: resource.kind });
        yield { type: 'init-apply', object: item };
      }
      continueToken = page.metadata.continue === '' ? undefined : page.metadata.continue;
    } while (continueToken !== undefined);
    if (snapshot === undefined || snapshot === '') throw new Error(`the list of ${this.#name} carries no resourceVersion`);
    this.#lastEventAt = this.#clock.now();
    yield { type: 'init-done' };
    return snapshot;
  }

  /** One watch from `resourceVersion`; returns the last version seen and why it ended (nothing: the server closed it). */
  async *#watch(resourceVersion: string, signal: AbortSignal): AsyncGenerator<WatcherEvent<T>, { resourceVersion: string | undefined; error?: unknown }, undefined> {
    const { source, resource, namespace, labelSelector, fieldSelector } = this.#options;
    const idleTimeoutMs = this.#options.idleTimeoutMs ?? 70_000;
    const range = this.#options.watchTimeoutSeconds ?? { min: 300, max: 600 };
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let idleTimer: TimerHandle | undefined;
    const armIdle = (): void => {
      const silentMs = this.#clock.now() - this.#lastEventAt;
      if (silentMs >= idleTimeoutMs) {
        idleTimer = undefined;
        controller.abort(new IdleWatch(`no event for ${silentMs} ms`));
        return;
      }
      // Re-armed lazily from the last event's time, so events never touch the timer.
      idleTimer = this.#clock.setTimeout(armIdle, idleTimeoutMs - silentMs);
    };
    let version: string | undefined = resourceVersion;
    try {
      this.#lastEventAt = this.#clock.now();
      armIdle();
      const stream = await source.watch<T>(resource, {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(range.min + this.#random() * (range.max - range.min)),
        signal: controller.signal,
        ...(namespace === undefined ? {} : { namespace }),
        ...(labelSelector === undefined ? {} : { labelSelector }),
        ...(fieldSelector === undefined ? {} : { fieldSelector }),
      });
      for await (const event of stream) {
        this.#lastEventAt = this.#clock.now();
        version = event.object.metadata.resourceVersion ?? version;
        if (event.type === 'ADDED' || event.type === 'MODIFIED') yield { type: 'apply', object: event.object };
        else if (event.type === 'DELETED') yield { type: 'delete', object: event.object };
      }
      const reason: unknown = controller.signal.reason;
      return reason instanceof IdleWatch ? { resourceVersion: version, error: reason } : { resourceVersion: version };
    } catch (error) {
      const reason: unknown = controller.signal.reason;
      return { resourceVersion: version, error: reason instanceof IdleWatch ? reason : error };
    } finally {
      if (idleTimer !== undefined) this.#clock.clearTimeout(idleTimer);
      signal.removeEventListener('abort', onAbort);
      if (!controller.signal.aborted) controller.abort(new Error('watch finished'));
    }
  }

  async #pause(delayMs: number, signal: AbortSignal): Promise<void> {
    try {
      await sleep(this.#clock, delayMs, signal);
    } catch {
      // Aborted: the loop sees the signal and ends.
    }
  }
}
