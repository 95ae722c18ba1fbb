// Runs caches on every replica and controllers on the leader; probes readiness; shuts down gracefully on SIGTERM.
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import { resourceName, type ResourceDescriptor } from '../kube/resource-descriptor.ts';
import type { Checks } from '../observability/checks.ts';
import type { Logger } from '../observability/logger.ts';
import { sleep, type Clock } from '../resilience/clock.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { KubeLeaseLock, LeaderElector, type LeaseLock } from './leader-elector.ts';
import { Reflector, type ReflectorOptions } from './reflector.ts';
import type { Runnable } from './runnable.ts';
import type { RuntimeMetrics } from './runtime-metrics.ts';
import type { ListWatchSource } from './watcher.ts';

export interface LeaderElectionSettings {
  readonly namespace: string;
  /** Name of the Lease (and the `name` label of `leader_election_master_status`). */
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  /** The Lease access; by default over `client`. */
  readonly lock?: LeaseLock;
}

export interface ManagerOptions {
  readonly client: ListWatchSource & Partial<Pick<KubeClient, 'get' | 'create' | 'replace'>>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: RuntimeMetrics;
  /** Where `/readyz` checks go: ready once every cache has synced. */
  readonly readiness?: Checks;
  /** Where `/healthz` checks go: unhealthy when the leader stopped renewing its Lease. */
  readonly health?: Checks;
  /** Without it every replica reconciles (one replica only). */
  readonly leaderElection?: LeaderElectionSettings;
  /** How long in-flight reconciles may finish after shutdown starts. Default 30 s. */
  readonly shutdownTimeoutMs?: number;
  /** Namespace caches watch unless they say otherwise; empty watches all. */
  readonly namespace?: string;
  readonly random?: () => number;
}

export interface CacheOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly indexers?: ReflectorOptions['indexers'];
}

/** What a controller needs that the manager already has. */
export type ManagedControllerOptions<T extends KubeObject> = Omit<ControllerOptions<T>, 'clock' | 'logger' | 'metrics'> & Partial<Pick<ControllerOptions<T>, 'logger'>>;

/** Resolves when `promise` settles or `ms` pass on `clock`, whichever is first; true when it settled. */
async function within(clock: Clock, ms: number, promise: Promise<unknown>): Promise<boolean> {
  const timeout = new AbortController();
  const settled = promise.then(
    () => true,
    () => true,
  );
  const expired = sleep(clock, ms, timeout.signal).then(
    () => false,
    () => true,
  );
  const result = await Promise.race([settled, expired]);
  timeout.abort();
  return result;
}

/**
 * The process's runtime: shared caches, controllers, leader election, probes, graceful shutdown.
 *
 * Expected flow of `start(signal)`: caches (reflectors and other runnables that do not need leadership) start
 * at once on every replica, so standbys keep warm caches, and `/readyz` passes once all have synced; the
 * leader-only runnables (controllers) start when this replica is elected, or at once without leader election.
 * Losing the Lease aborts them at once (their in-flight reconciles see their signals abort) and the replica
 * campaigns again; they start afresh once the previous run has fully stopped.
 *
 * Shutdown, when `signal` aborts (SIGTERM/SIGINT): controllers stop taking keys; in-flight reconciles get
 * `shutdownTimeoutMs` to finish, then their signals abort; the Lease is released (a standby takes over within
 * a retry period); caches stop; `start` resolves, and the process can exit 0.
 */
export class Manager {
  readonly #options: ManagerOptions;
  readonly #reflectors = new Map<string, Reflector>();
  readonly #runnables: Runnable[] = [];
  readonly #elector: LeaderElector | undefined;
  #started = false;

  constructor(options: ManagerOptions) {
    this.#options = options;
    const election = options.leaderElection;
    if (election !== undefined) {
      const client = options.client;
      const lock = election.lock ?? (client.get !== undefined && client.create !== undefined && client.replace !== undefined ? new KubeLeaseLock(client as Pick<KubeClient, 'get' | 'create' | 'replace'>, election.namespace, election.name) : undefined);
      if (lock === undefined) throw new TypeError('leader election needs a client that can get, create and replace Leases');
      this.#elector = new LeaderElector({
        lock,
        identity: election.identity,
        name: election.name,
        clock: options.clock,
        logger: options.logger,
        metrics: options.metrics,
        ...(options.random === undefined ? {} : { random: options.random }),
        ...(election.leaseDurationMs === undefined ? {} : { leaseDurationMs: election.leaseDurationMs }),
        ...(election.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: election.renewDeadlineMs }),
        ...(election.retryPeriodMs === undefined ? {} : { retryPeriodMs: election.retryPeriodMs }),
      });
    }
  }

  /** The elector (undefined without leader election). */
  get elector(): LeaderElector | undefined {
    return this.#elector;
  }

  /** Whether this replica runs its controllers now. */
  get isLeader(): boolean {
    return this.#elector === undefined ? this.#started : this.#elector.isLeader;
  }

  /** The shared cache of `resource` (one per resource, namespace and selectors), created on first use. */
  reflector<T extends KubeObject = KubeObject>(resource: ResourceDescriptor, options: CacheOptions = {}): Reflector<T> {
    const namespace = options.namespace ?? this.#options.namespace ?? '';
    const key = [resourceName(resource), resource.version, namespace, options.labelSelector ?? '', options.fieldSelector ?? ''].join('|');
    let reflector = this.#reflectors.get(key);
    if (reflector === undefined) {
      if (this.#started) throw new Error(`cache of ${resourceName(resource)} requested after the manager started`);
      reflector = new Reflector({
        source: this.#options.client,
        resource,
        clock: this.#options.clock,
        logger: this.#options.logger,
        metrics: this.#options.metrics,
        ...(namespace === '' ? {} : { namespace }),
        ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
        ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
        ...(options.indexers === undefined ? {} : { indexers: options.indexers }),
        ...(this.#options.random === undefined ? {} : { random: this.#options.random }),
      });
      this.#reflectors.set(key, reflector);
    }
    return reflector as unknown as Reflector<T>;
  }

  /** Creates a controller with the manager's clock, logger and metrics, and runs it on the leader. */
  controller<T extends KubeObject>(options: ManagedControllerOptions<T>): Controller<T> {
    if (this.#runnables.some((runnable) => runnable instanceof Controller && runnable.name === options.name)) throw new Error(`a controller named ${options.name} already exists`);
    const controller = new Controller<T>({ ...options, clock: this.#options.clock, logger: options.logger ?? this.#options.logger, metrics: this.#options.metrics });
    this.add(controller);
    return controller;
  }

  /** Adds a runnable: on the leader when it `needsLeaderElection`, else on every replica. */
  add(runnable: Runnable): void {
    if (this.#started) throw new Error('runnables must be added before the manager starts');
    this.#runnables.push(runnable);
  }

  /** Runs until `signal` aborts, then shuts down gracefully; resolves once everything has stopped. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new Error('the manager was already started');
    this.#started = true;
    const { logger, clock } = this.#options;
    const shutdownTimeoutMs = this.#options.shutdownTimeoutMs ?? 30_000;
    const reflectors = [...this.#reflectors.values()];
    const everywhere = [...reflectors, ...this.#runnables.filter((r) => r.needsLeaderElection !== true)];
    const leaderOnly = this.#runnables.filter((r) => r.needsLeaderElection === true);

    const removeChecks = [
      this.#options.readiness?.register('caches-synced', () => {
        const waiting = reflectors.filter((r) => !r.store.hasSynced).map((r) => r.description);
        return waiting.length === 0 ? true : `waiting for ${waiting.join(', ')}`;
      }),
      this.#elector === undefined ? undefined : this.#options.health?.register('leader-election', () => this.#elector?.check() ?? true),
    ];

    const cachesStop = new AbortController();
    const cachesRunning = everywhere.map((runnable) => this.#run(runnable, cachesStop.signal, cachesStop.signal));
    logger.info({ caches: reflectors.length, runnables: this.#runnables.length }, 'manager started');

    const graceExpired = new AbortController();
    let leaderRuns: Promise<void>[] = [];
    let electionRunning: Promise<void> = Promise.resolve();
    const electionStop = new AbortController();
    const startLeaderRunnables = (leadership: AbortSignal | undefined): void => {
      const previous = leaderRuns;
      const workStop = leadership === undefined ? signal : AbortSignal.any([signal, leadership]);
      const hardStop = leadership === undefined ? graceExpired.signal : AbortSignal.any([graceExpired.signal, leadership]);
      // A new term starts only after the previous term's reconciles have all returned (no key twice at once).
      const run = Promise.all(previous).then(() => {
        if (workStop.aborted) return;
        return Promise.all(leaderOnly.map((runnable) => this.#run(runnable, workStop, hardStop))).then(() => undefined);
      });
      leaderRuns = [run];
    };
    if (this.#elector === undefined) {
      startLeaderRunnables(undefined);
    } else {
      electionRunning = this.#elector.run(electionStop.signal, {
        onStartedLeading: (leadership) => startLeaderRunnables(leadership),
        onStoppedLeading: () => logger.info('leader-only runnables stopping'),
        onNewLeader: (identity) => logger.info({ leader: identity }, 'observed a new leader'),
      });
    }

    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info({ shutdownTimeoutMs }, 'shutting down: no new work, waiting for in-flight reconciles');
    const inFlight = Promise.all(leaderRuns);
    if (!(await within(clock, shutdownTimeoutMs, inFlight))) {
      logger.warn({ shutdownTimeoutMs }, 'in-flight reconciles outlived the shutdown timeout; aborting them');
      graceExpired.abort(new Error('shutdown timeout passed'));
      await within(clock, 1_000, inFlight);
    }
    electionStop.abort();
    await electionRunning;
    cachesStop.abort();
    await Promise.all(cachesRunning);
    for (const remove of removeChecks) remove?.();
    logger.info('manager stopped');
  }

  async #run(runnable: Runnable, signal: AbortSignal, hardStop: AbortSignal): Promise<void> {
    try {
      await runnable.start(signal, hardStop);
    } catch (error) {
      this.#options.logger.error({ err: error, runnable: runnable.description }, 'runnable failed');
    }
  }
}
