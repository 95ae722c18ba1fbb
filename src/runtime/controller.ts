// Runs a reconciler over a work queue fed by watches: outcomes become queue decisions and metrics, as in controller-runtime.
import { randomUUID } from 'node:crypto';
import { isApiError } from '../kube/errors.ts';
import { objectKey, parseObjectKey, type KubeObject, type OwnerReference } from '../kube/kube-object.ts';
import { apiVersionOf, type ResourceDescriptor } from '../kube/resource-descriptor.ts';
import { reconcileLogger, type Logger } from '../observability/logger.ts';
import type { Clock } from '../resilience/clock.ts';
import { conditionReason, setCondition, type Condition } from './conditions.ts';
import { generationChanged, type Predicate } from './predicates.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { findRequeueAfterError, findTerminalError, type ReconcileContext, type Reconciler, type TerminalError } from './reconciler.ts';
import type { ChangeSource, Reflector } from './reflector.ts';
import type { Runnable } from './runnable.ts';
import type { ControllerInstruments, RuntimeMetrics } from './runtime-metrics.ts';
import type { StatusWriter } from './status-writer.ts';
import { WorkQueue, type Priority } from './work-queue.ts';

/** The status fields the controller itself writes (on a terminal error). */
export interface StalledStatus {
  conditions?: Condition[];
  observedGeneration?: number;
}

/** Reconcile the owner when an object it controls changes. */
export interface OwnsTrigger {
  readonly reflector: Reflector;
}

/** Reconcile the objects `map` names (`namespace/name` keys of the primary resource) when a watched object changes. */
export interface WatchesTrigger<W extends KubeObject = KubeObject> {
  readonly reflector: Reflector<W>;
  readonly map: (object: W) => readonly string[];
}

export interface ControllerOptions<T extends KubeObject> {
  /** The `controller` label of metrics and logs. */
  readonly name: string;
  /** The primary resource: its reflector's store is what the reconciler reads. */
  readonly for: Reflector<T>;
  /** Which changes of the primary resource trigger a reconcile. Default: generation changed (status-only updates do not). */
  readonly predicate?: Predicate<T>;
  readonly owns?: readonly OwnsTrigger[];
  readonly watches?: readonly WatchesTrigger[];
  readonly reconciler: Reconciler<T>;
  /** Writes `Stalled=True` on a terminal error; without one the condition is only logged. */
  readonly statusWriter?: StatusWriter<StalledStatus>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  /** Workers, i.e. reconciles at once. Default 4. */
  readonly maxConcurrentReconciles?: number;
  /** A reconcile's signal aborts after this long. Default 60 s. */
  readonly reconcileTimeoutMs?: number;
  /** Every cached object is reconciled again at least this often. Default 10 h. */
  readonly resyncPeriodMs?: number;
  readonly rateLimiter?: RateLimiter;
  /** See {@link WorkQueue}: high-priority keys in a row while a low one waits. Default 4. */
  readonly highBurst?: number;
}

function retryAfterMs(error: unknown): number {
  let current: unknown = error;
  for (let depth = 0; depth < 16 && current instanceof Error; depth += 1) {
    if (isApiError(current) && current.retryAfterMs !== undefined) return current.retryAfterMs;
    current = current.cause;
  }
  return 0;
}

function priorityOf(source: ChangeSource): Priority {
  return source === 'watch' ? 'high' : 'low';
}

/** Keys of the primary objects that control `object` (owner references with `controller: true` of the primary kind). */
function ownerKeys(object: KubeObject, owner: ResourceDescriptor): string[] {
  const namespace = object.metadata.namespace;
  return (object.metadata.ownerReferences ?? [])
    .filter((reference) => reference.controller === true && reference.kind === owner.kind && reference.apiVersion.split('/').slice(0, -1).join('/') === owner.group)
    .map((reference) => (namespace === undefined || namespace === '' ? reference.name : `${namespace}/${reference.name}`));
}

/**
 * What the reconciler receives. Its child logger is created on first use: most reconciles never log, and a pino
 * child (with its redacted bindings) costs more CPU than the rest of the runtime's work for a reconcile.
 */
class LazyReconcileContext implements ReconcileContext {
  readonly signal: AbortSignal;
  readonly reconcileID: string;
  readonly controller: string;
  readonly key: string;
  readonly #parent: Logger;
  #logger: Logger | undefined;

  constructor(signal: AbortSignal, parent: Logger, reconcileID: string, controller: string, key: string) {
    this.signal = signal;
    this.#parent = parent;
    this.reconcileID = reconcileID;
    this.controller = controller;
    this.key = key;
  }

  get logger(): Logger {
    if (this.#logger === undefined) {
      const { namespace, name } = parseObjectKey(this.key);
      this.#logger = reconcileLogger(this.#parent, { controller: this.controller, namespace: namespace ?? '', name, reconcileID: this.reconcileID });
    }
    return this.#logger;
  }
}

/**
 * A controller: keys of the primary resource flow from watches into a work queue; workers reconcile them.
 *
 * Guarantees:
 * - a key is never reconciled by two workers at once, and a change during a reconcile causes exactly one more;
 * - outcomes as controller-runtime's `reconcileHandler`: done → forget (`success`); `requeueAfter` → forget and
 *   delay (`requeue_after`); `RequeueAfterError` → delay (`error`); `TerminalError` → no retry, condition
 *   `Stalled=True` (`error`, terminal counter); anything else → rate-limited retry, never sooner than a 429's
 *   Retry-After (`error`);
 * - fresh watch events are served before the initial list, relists and resyncs, which are never starved;
 * - a key whose object is no longer cached (deleted) is forgotten without a reconcile.
 */
export class Controller<T extends KubeObject = KubeObject> implements Runnable {
  readonly name: string;
  readonly needsLeaderElection = true;
  readonly description: string;
  readonly #options: ControllerOptions<T>;
  readonly #instruments: ControllerInstruments;
  readonly #workers: number;
  readonly #forResource: ResourceDescriptor;
  #queue: WorkQueue | undefined;

  constructor(options: ControllerOptions<T>) {
    this.name = options.name;
    this.description = `controller ${options.name}`;
    this.#options = options;
    this.#workers = Math.max(1, options.maxConcurrentReconciles ?? 4);
    this.#instruments = options.metrics.controller(options.name, this.#workers);
    this.#forResource = options.for.resource;
  }

  /** The running queue (undefined while stopped). */
  get queue(): WorkQueue | undefined {
    return this.#queue;
  }

  /** Asks for a reconcile of `key` (`namespace/name`) from outside the watches. Ignored while stopped. */
  enqueue(key: string, priority: Priority = 'high'): void {
    this.#queue?.add(key, priority);
  }

  /**
   * Reconciles until `signal` aborts, then stops handing out keys and resolves once in-flight reconciles have
   * returned. Their own signals abort when `hardStop` aborts (by default: together with `signal`).
   */
  async start(signal: AbortSignal, hardStop: AbortSignal = signal): Promise<void> {
    const { clock, logger } = this.#options;
    const queue = new WorkQueue({
      name: this.name,
      controller: this.name,
      clock,
      metrics: this.#options.metrics,
      ...(this.#options.rateLimiter === undefined ? {} : { rateLimiter: this.#options.rateLimiter }),
      ...(this.#options.highBurst === undefined ? {} : { highBurst: this.#options.highBurst }),
    });
    this.#queue = queue;
    const unsubscribe = this.#subscribe(queue);
    const stop = (): void => queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    let resyncTimer: ReturnType<Clock['setTimeout']> | undefined;
    try {
      await Promise.all([this.#options.for, ...(this.#options.owns ?? []).map((o) => o.reflector), ...(this.#options.watches ?? []).map((w) => w.reflector)].map((r) => r.store.waitForSync(signal)));
    } catch {
      // Stopped before the caches synced.
    }
    if (!signal.aborted) {
      for (const key of this.#options.for.store.keys()) queue.add(key, 'low');
      const resyncPeriodMs = this.#options.resyncPeriodMs ?? 36_000_000;
      const resync = (): void => {
        for (const key of this.#options.for.store.keys()) queue.add(key, 'low');
        resyncTimer = clock.setTimeout(resync, resyncPeriodMs);
      };
      resyncTimer = clock.setTimeout(resync, resyncPeriodMs);
      logger.info({ controller: this.name, workers: this.#workers }, 'controller started');
      await Promise.all(Array.from({ length: this.#workers }, () => this.#work(queue, hardStop)));
    }
    if (resyncTimer !== undefined) clock.clearTimeout(resyncTimer);
    signal.removeEventListener('abort', stop);
    queue.shutDown();
    unsubscribe();
    await queue.drained();
    if (this.#queue === queue) this.#queue = undefined;
    logger.info({ controller: this.name }, 'controller stopped');
  }

  #subscribe(queue: WorkQueue): () => void {
    const predicate = (this.#options.predicate ?? generationChanged) as Predicate<T>;
    const removers = [
      this.#options.for.subscribe({
        onApply: (object, previous, source) => {
          if (predicate(object, previous)) queue.add(objectKey(object), priorityOf(source));
        },
      }),
    ];
    const forResource = this.#forResource;
    for (const trigger of this.#options.owns ?? []) {
      const owners = (object: KubeObject): string[] => ownerKeys(object, forResource);
      removers.push(
        trigger.reflector.subscribe({
          onApply: (object, previous, source) => {
            for (const key of new Set([...owners(object), ...(previous === undefined ? [] : owners(previous))])) queue.add(key, priorityOf(source));
          },
          onDelete: (object, source) => owners(object).forEach((key) => queue.add(key, priorityOf(source))),
        }),
      );
    }
    for (const trigger of this.#options.watches ?? []) {
      removers.push(
        trigger.reflector.subscribe({
          onApply: (object, previous, source) => {
            for (const key of new Set([...trigger.map(object), ...(previous === undefined ? [] : trigger.map(previous))])) queue.add(key, priorityOf(source));
          },
          onDelete: (object, source) => trigger.map(object).forEach((key) => queue.add(key, priorityOf(source))),
        }),
      );
    }
    return () => removers.forEach((remove) => remove());
  }

  async #work(queue: WorkQueue, hardStop: AbortSignal): Promise<void> {
    for (;;) {
      const key = queue.tryGet() ?? (await queue.get());
      if (key === undefined) return;
      this.#instruments.activeWorkers(1);
      try {
        await this.#reconcile(queue, key, hardStop);
      } finally {
        this.#instruments.activeWorkers(-1);
        queue.done(key);
      }
    }
  }

  async #reconcile(queue: WorkQueue, key: string, hardStop: AbortSignal): Promise<void> {
    const { clock, reconciler } = this.#options;
    const object = this.#options.for.store.get(key);
    if (object === undefined) {
      queue.forget(key);
      return;
    }
    const deadline = new AbortController();
    const onHardStop = (): void => deadline.abort(hardStop.reason);
    if (hardStop.aborted) deadline.abort(hardStop.reason);
    else hardStop.addEventListener('abort', onHardStop, { once: true });
    const timeoutMs = this.#options.reconcileTimeoutMs ?? 60_000;
    const timer = clock.setTimeout(() => deadline.abort(new Error(`reconcile deadline of ${timeoutMs} ms passed`)), timeoutMs);
    const startedAt = clock.now();
    const context = new LazyReconcileContext(deadline.signal, this.#options.logger, randomUUID(), this.name, key);
    try {
      const action = await reconciler.reconcile(object, context);
      queue.forget(key);
      const requeueAfterMs = action?.requeueAfterMs;
      if (requeueAfterMs !== undefined && requeueAfterMs > 0) {
        queue.addAfter(key, requeueAfterMs);
        this.#instruments.result('requeue_after');
      } else {
        this.#instruments.result('success');
      }
    } catch (error) {
      this.#instruments.error();
      this.#instruments.result('error');
      const terminal = findTerminalError(error);
      const requeueAfter = terminal === undefined ? findRequeueAfterError(error) : undefined;
      if (terminal !== undefined) {
        this.#instruments.terminalError();
        queue.forget(key);
        context.logger.error({ err: error, reason: terminal.reason }, 'reconcile failed terminally; not retrying');
        await this.#markStalled(queue, key, object, terminal, context.logger, deadline.signal);
      } else if (requeueAfter !== undefined) {
        queue.addAfter(key, requeueAfter.delayMs);
        context.logger.info({ err: error, delayMs: requeueAfter.delayMs }, 'reconcile asked to retry later');
      } else {
        queue.addRateLimited(key, retryAfterMs(error));
        context.logger.error({ err: error, retries: queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      clock.clearTimeout(timer);
      hardStop.removeEventListener('abort', onHardStop);
      this.#instruments.reconcileTime.observe((clock.now() - startedAt) / 1000);
    }
  }

  async #markStalled(queue: WorkQueue, key: string, object: T, error: TerminalError, logger: Logger, signal: AbortSignal): Promise<void> {
    const writer = this.#options.statusWriter;
    if (writer === undefined) return;
    const now = this.#options.clock.now();
    const generation = object.metadata.generation;
    const reason = conditionReason(error.reason);
    const message = error.message.slice(0, 1024);
    const stamp = generation === undefined ? {} : { observedGeneration: generation };
    try {
      await writer.update(
        object as KubeObject & { status?: StalledStatus },
        (status) => {
          let conditions = setCondition(status?.conditions, { type: 'Stalled', status: 'True', reason, message, ...stamp }, now);
          conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason, message, ...stamp }, now);
          conditions = setCondition(conditions, { type: 'Reconciling', status: 'False', reason, message, ...stamp }, now);
          return { ...status, conditions, ...(generation === undefined ? {} : { observedGeneration: generation }) };
        },
        { signal },
      );
    } catch (writeError) {
      logger.error({ err: writeError }, 'could not write the Stalled condition; retrying');
      queue.addRateLimited(key);
    }
  }
}

/** `apiVersion` and `kind` of a resource, for owner references the controllers write. */
export function ownerReferenceTo(resource: ResourceDescriptor, owner: KubeObject): OwnerReference {
  return {
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}
