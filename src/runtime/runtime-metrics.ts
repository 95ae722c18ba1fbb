// The runtime's Prometheus families, with controller-runtime's exact names and labels, each label set starting at 0.
import { Gauge, type Registry } from 'prom-client';
import { exponentialBuckets, FastHistogram, ScrapedMetric, type HistogramChild } from './scraped-metric.ts';

/** Numbers a work queue keeps as plain fields; read at scrape time. */
export interface QueueStats {
  readonly depthHigh: number;
  readonly depthLow: number;
  readonly adds: number;
  readonly retries: number;
  /** Seconds of work in progress not yet observed by `work_duration` (sum over running keys). */
  readonly unfinishedSeconds: number;
  readonly longestRunningSeconds: number;
}

/** The observations a work queue makes per key. */
export interface QueueInstruments {
  readonly queueDuration: HistogramChild;
  readonly workDuration: HistogramChild;
}

/** Numbers a watcher keeps; read at scrape time. */
export interface WatchStats {
  /** Seconds since the last event or bookmark (or since the watch started). */
  readonly lastEventAgeSeconds: number;
  readonly relists: number;
  readonly restarts: number;
}

export type ReconcileResult = 'success' | 'error' | 'requeue' | 'requeue_after';

/** The instruments of one controller, bound to its label. */
export interface ControllerInstruments {
  result(result: ReconcileResult): void;
  /** Any error (terminal or not): `controller_runtime_reconcile_errors_total`. */
  error(): void;
  terminalError(): void;
  readonly reconcileTime: HistogramChild;
  activeWorkers(delta: number): void;
}

/** One controller's counts behind its instruments. */
interface ControllerCounts {
  readonly results: Record<ReconcileResult, number>;
  errors: number;
  terminalErrors: number;
  activeWorkers: number;
}

export interface LeaderInstrument {
  leading(isLeader: boolean): void;
}

const RECONCILE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60];
const QUEUE_BUCKETS = exponentialBuckets(10e-9, 10, 12);
const RESULTS: readonly ReconcileResult[] = ['success', 'error', 'requeue', 'requeue_after'];

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

/**
 * Every runtime metric family on one registry. Create one per registry in the composition root and hand it to the
 * manager, controllers, queues and electors. A second one on the same registry reuses the families, but must not
 * instrument a controller the first one does: each keeps its own counts, and two would export the same series.
 */
export class RuntimeMetrics {
  readonly #reconcileTotal: ScrapedMetric;
  readonly #reconcileErrors: ScrapedMetric;
  readonly #terminalErrors: ScrapedMetric;
  readonly #reconcileTime: FastHistogram;
  readonly #maxConcurrent: Gauge<'controller'>;
  readonly #activeWorkers: ScrapedMetric;
  readonly #controllerCounts = new Map<string, ControllerCounts>();
  readonly #depth: ScrapedMetric;
  readonly #adds: ScrapedMetric;
  readonly #retries: ScrapedMetric;
  readonly #unfinished: ScrapedMetric;
  readonly #longest: ScrapedMetric;
  readonly #queueDuration: FastHistogram;
  readonly #workDuration: FastHistogram;
  readonly #leader: Gauge<'name'>;
  readonly #watchAge: ScrapedMetric;
  readonly #relists: ScrapedMetric;
  readonly #restarts: ScrapedMetric;
  readonly #watchReaders = new Map<string, Set<() => WatchStats>>();

  constructor(registry: Registry) {
    this.#reconcileTotal = ScrapedMetric.on(registry, 'controller_runtime_reconcile_total', 'Total number of reconciliations per controller', 'counter');
    this.#reconcileErrors = ScrapedMetric.on(registry, 'controller_runtime_reconcile_errors_total', 'Total number of reconciliation errors per controller', 'counter');
    this.#terminalErrors = ScrapedMetric.on(registry, 'controller_runtime_terminal_reconcile_errors_total', 'Total number of terminal reconciliation errors per controller', 'counter');
    this.#reconcileTime = FastHistogram.on(registry, 'controller_runtime_reconcile_time_seconds', 'Length of time per reconciliation per controller', RECONCILE_BUCKETS);
    this.#maxConcurrent = gauge(registry, 'controller_runtime_max_concurrent_reconciles', 'Maximum number of concurrent reconciles per controller', ['controller']);
    this.#activeWorkers = ScrapedMetric.on(registry, 'controller_runtime_active_workers', 'Number of currently used workers per controller', 'gauge');
    this.#depth = ScrapedMetric.on(registry, 'workqueue_depth', 'Current depth of workqueue by workqueue and priority', 'gauge');
    this.#adds = ScrapedMetric.on(registry, 'workqueue_adds_total', 'Total number of adds handled by workqueue', 'counter');
    this.#retries = ScrapedMetric.on(registry, 'workqueue_retries_total', 'Total number of retries handled by workqueue', 'counter');
    this.#unfinished = ScrapedMetric.on(
      registry,
      'workqueue_unfinished_work_seconds',
      "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads.",
      'gauge',
    );
    this.#longest = ScrapedMetric.on(registry, 'workqueue_longest_running_processor_seconds', 'How many seconds has the longest running processor for workqueue been running.', 'gauge');
    this.#queueDuration = FastHistogram.on(registry, 'workqueue_queue_duration_seconds', 'How long in seconds an item stays in workqueue before being requested', QUEUE_BUCKETS);
    this.#workDuration = FastHistogram.on(registry, 'workqueue_work_duration_seconds', 'How long in seconds processing an item from workqueue takes.', QUEUE_BUCKETS);
    this.#leader = gauge(registry, 'leader_election_master_status', 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', ['name']);
    this.#watchAge = ScrapedMetric.on(registry, 'blackroad_watch_last_event_age_seconds', 'Seconds since the last watch event or bookmark of a resource (or since its watch started).', 'gauge');
    this.#relists = ScrapedMetric.on(registry, 'blackroad_watch_relists_total', 'Full lists of a resource after the first (410 Gone, or a list that had to start over).', 'counter');
    this.#restarts = ScrapedMetric.on(registry, 'blackroad_watch_restarts_total', 'Watches of a resource started again from the last seen version (disconnect, server timeout, silent stream).', 'counter');
  }

  /**
   * A controller's instruments; registers its label sets at 0 and `max_concurrent_reconciles`. Counts are plain
   * numbers read at scrape time: a reconcile changes three of them, and prom-client hashes the labels of each.
   * Controllers of the same name share their counts.
   */
  controller(name: string, maxConcurrentReconciles: number): ControllerInstruments {
    this.#maxConcurrent.set({ controller: name }, maxConcurrentReconciles);
    const counts = this.#countsOf(name);
    return {
      result: (result) => (counts.results[result] += 1),
      error: () => (counts.errors += 1),
      terminalError: () => (counts.terminalErrors += 1),
      reconcileTime: this.#reconcileTime.child({ controller: name }),
      activeWorkers: (delta) => (counts.activeWorkers += delta),
    };
  }

  #countsOf(name: string): ControllerCounts {
    const existing = this.#controllerCounts.get(name);
    if (existing !== undefined) return existing;
    const counts: ControllerCounts = { results: { success: 0, error: 0, requeue: 0, requeue_after: 0 }, errors: 0, terminalErrors: 0, activeWorkers: 0 };
    this.#controllerCounts.set(name, counts);
    const labels = { controller: name };
    this.#reconcileTotal.source(() => RESULTS.map((result) => ({ labels: { controller: name, result }, value: counts.results[result] })));
    this.#reconcileErrors.source(() => [{ labels, value: counts.errors }]);
    this.#terminalErrors.source(() => [{ labels, value: counts.terminalErrors }]);
    this.#activeWorkers.source(() => [{ labels, value: counts.activeWorkers }]);
    return counts;
  }

  /** A work queue's instruments; its counters and gauges are read from `read` at scrape time. Returns them and a remover. */
  queue(name: string, controller: string, read: () => QueueStats): { instruments: QueueInstruments; remove: () => void } {
    const labels = { name, controller };
    const removers = [
      this.#depth.source(() => {
        const stats = read();
        return [
          { labels: { ...labels, priority: '0' }, value: stats.depthHigh },
          { labels: { ...labels, priority: '-100' }, value: stats.depthLow },
        ];
      }),
      this.#adds.source(() => [{ labels, value: read().adds }]),
      this.#retries.source(() => [{ labels, value: read().retries }]),
      this.#unfinished.source(() => [{ labels, value: read().unfinishedSeconds }]),
      this.#longest.source(() => [{ labels, value: read().longestRunningSeconds }]),
    ];
    return {
      instruments: { queueDuration: this.#queueDuration.child(labels), workDuration: this.#workDuration.child(labels) },
      remove: () => removers.forEach((remove) => remove()),
    };
  }

  /** `leader_election_master_status{name}`, starting at 0. */
  leaderElection(name: string): LeaderInstrument {
    const child = this.#leader.labels({ name });
    child.set(0);
    return { leading: (isLeader) => child.set(isLeader ? 1 : 0) };
  }

  /**
   * A watch's numbers, read at scrape time, labelled by resource. Several watches of one resource (other
   * namespaces or selectors) share its label set: counts add up and the age is the oldest. Returns a remover.
   */
  watch(resource: string, read: () => WatchStats): () => void {
    let readers = this.#watchReaders.get(resource);
    if (readers === undefined) {
      const all = new Set<() => WatchStats>();
      readers = all;
      this.#watchReaders.set(resource, all);
      const labels = { resource };
      const sum = (pick: (stats: WatchStats) => number): number => [...all].reduce((total, reader) => total + pick(reader()), 0);
      this.#watchAge.source(() => (all.size === 0 ? [] : [{ labels, value: Math.max(...[...all].map((reader) => reader().lastEventAgeSeconds)) }]));
      this.#relists.source(() => [{ labels, value: sum((stats) => stats.relists) }]);
      this.#restarts.source(() => [{ labels, value: sum((stats) => stats.restarts) }]);
    }
    readers.add(read);
    return () => readers.delete(read);
  }
}
