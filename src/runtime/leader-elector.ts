// Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm, so only one replica reconciles.
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import { builtinResources } from '../kube/resource-descriptor.ts';
import type { Logger } from '../observability/logger.ts';
import { sleep, type Clock } from '../resilience/clock.ts';
import { microTime } from './event-recorder.ts';
import { jsonEqual } from './merge-patch.ts';
import type { LeaderInstrument, RuntimeMetrics } from './runtime-metrics.ts';

/** `spec` of a Lease. */
export interface LeaseSpec {
  readonly holderIdentity?: string;
  readonly leaseDurationSeconds?: number;
  readonly acquireTime?: string;
  readonly renewTime?: string;
  readonly leaseTransitions?: number;
}

export type Lease = KubeObject & { readonly spec?: LeaseSpec };

/** Reads and writes the one Lease (optimistic concurrency: `update` fails when the Lease changed since `get`). */
export interface LeaseLock {
  /** The Lease, or `undefined` when it does not exist. */
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  create(spec: LeaseSpec, signal?: AbortSignal): Promise<Lease>;
  update(current: Lease, spec: LeaseSpec, signal?: AbortSignal): Promise<Lease>;
  /** `namespace/name`, for logs. */
  readonly description: string;
}

/** A {@link LeaseLock} over the API server. */
export class KubeLeaseLock implements LeaseLock {
  readonly #client: Pick<KubeClient, 'get' | 'create' | 'replace'>;
  readonly #namespace: string;
  readonly #name: string;
  readonly description: string;

  constructor(client: Pick<KubeClient, 'get' | 'create' | 'replace'>, namespace: string, name: string) {
    this.#client = client;
    this.#namespace = namespace;
    this.#name = name;
    this.description = `${namespace}/${name}`;
  }

  async get(signal?: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.#client.get<Lease>(builtinResources.leases, this.#name, { namespace: this.#namespace, ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  create(spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    return this.#client.create<Lease>(builtinResources.leases, { metadata: { name: this.#name, namespace: this.#namespace }, spec }, signal === undefined ? {} : { signal });
  }

  update(current: Lease, spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    return this.#client.replace<Lease>(builtinResources.leases, { ...current, spec }, signal === undefined ? {} : { signal });
  }
}

export interface LeaderElectorOptions {
  readonly lock: LeaseLock;
  /** This replica's identity (pod name). */
  readonly identity: string;
  /** The `name` label of `leader_election_master_status` (the Lease's name). */
  readonly name: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: RuntimeMetrics;
  readonly random?: () => number;
  /** How long a candidate waits, without seeing the Lease change, before taking it. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps retrying to renew before giving up leadership. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts. Default 2 s. */
  readonly retryPeriodMs?: number;
  /** Candidates wait `retryPeriodMs × (1 + random × jitter)` between attempts. Default 0.2. */
  readonly jitter?: number;
}

export interface LeaderCallbacks {
  /** Leadership starts; `signal` aborts the moment it is lost or given up. */
  onStartedLeading(signal: AbortSignal): void;
  /** Leadership ended (lost, or released at shutdown). */
  onStoppedLeading(): void;
  /** Another holder (or none: `''`) was observed. */
  onNewLeader?(identity: string): void;
}

/**
 * Leader election after client-go's `leaderelection` package.
 *
 * Expected flow: try to acquire every 2–2.4 s; acquire when the Lease is missing, has no holder, or has not
 * changed for a whole lease duration as measured on *this* replica's clock (so clock skew between replicas
 * does not matter); then renew every retry period; give leadership up when renewing has failed for the renew
 * deadline, or at once when another holder is seen; then campaign again. When `run`'s signal aborts, a
 * leader releases the Lease (empty holder), so a candidate takes it at its next attempt.
 *
 * Guarantees: `onStartedLeading`'s signal aborts before a lost Lease can expire for others (renew deadline
 * < lease duration). Like client-go it offers no fencing: work still running after the signal aborts is not
 * stopped by the Lease.
 */
export class LeaderElector {
  readonly #options: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #metric: LeaderInstrument | undefined;
  #observed: LeaseSpec | undefined;
  #observedAt = 0;
  #reportedLeader: string | undefined;
  #leading = false;
  #lastRenewAt = 0;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#clock = options.clock;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) throw new RangeError('the lease duration must be longer than the renew deadline');
    if (this.#renewDeadlineMs <= this.#retryPeriodMs * (1 + (options.jitter ?? 0.2))) throw new RangeError('the renew deadline must be longer than the retry period with jitter');
    this.#metric = options.metrics?.leaderElection(options.name);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last observed (`undefined` before the first read). */
  get leader(): string | undefined {
    return this.#observed?.holderIdentity;
  }

  /** A health check: fails when this leader has not renewed for longer than the lease plus `toleranceMs`. */
  check(toleranceMs = 20_000): true | string {
    if (!this.#leading) return true;
    const sinceMs = this.#clock.now() - this.#lastRenewAt;
    return sinceMs > this.#leaseDurationMs + toleranceMs ? `lease ${this.#options.lock.description} not renewed for ${sinceMs} ms` : true;
  }

  /** Campaigns, leads and campaigns again until `signal` aborts; then releases the Lease if it holds it. */
  async run(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<void> {
    const log = this.#options.logger.child({ lease: this.#options.lock.description, identity: this.#options.identity });
    while (!signal.aborted) {
      if (!(await this.#acquire(signal, callbacks))) break;
      this.#leading = true;
      this.#lastRenewAt = this.#clock.now();
      this.#metric?.leading(true);
      log.info('became leader');
      const leadership = new AbortController();
      callbacks.onStartedLeading(leadership.signal);
      const lost = await this.#renew(signal, callbacks);
      this.#leading = false;
      this.#metric?.leading(false);
      leadership.abort(new Error(lost ? 'leadership lost' : 'leadership released'));
      if (lost) log.warn('lost leadership');
      else await this.#release(log);
      callbacks.onStoppedLeading();
    }
  }

  async #acquire(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    const jitter = this.#options.jitter ?? 0.2;
    const random = this.#options.random ?? Math.random;
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(signal, callbacks)) return true;
      try {
        await sleep(this.#clock, this.#retryPeriodMs * (1 + random() * jitter), signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  /** Renews until it fails for the renew deadline (returns true: lost) or `signal` aborts (returns false). */
  async #renew(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    while (!signal.aborted) {
      try {
        await sleep(this.#clock, this.#retryPeriodMs, signal);
      } catch {
        return false;
      }
      const attempt = new AbortController();
      const remainingMs = this.#lastRenewAt + this.#renewDeadlineMs - this.#clock.now();
      const timer = this.#clock.setTimeout(() => attempt.abort(new Error('renew deadline passed')), remainingMs);
      const onAbort = (): void => attempt.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      let renewed: boolean;
      try {
        renewed = await this.#tryAcquireOrRenew(attempt.signal, callbacks);
      } finally {
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
      if (renewed) {
        this.#lastRenewAt = this.#clock.now();
        continue;
      }
      if (signal.aborted) return false;
      const holder = this.#observed?.holderIdentity ?? '';
      if ((holder !== '' && holder !== this.#options.identity) || this.#clock.now() - this.#lastRenewAt >= this.#renewDeadlineMs) return true;
    }
    return false;
  }

  async #tryAcquireOrRenew(signal: AbortSignal, callbacks: LeaderCallbacks): Promise<boolean> {
    const { lock, identity, logger } = this.#options;
    const now = this.#clock.now();
    const durationSeconds = Math.round(this.#leaseDurationMs / 1000);
    try {
      const lease = await lock.get(signal);
      if (lease === undefined) {
        const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
        await lock.create(spec, signal);
        this.#observe(spec, callbacks);
        return true;
      }
      const record = lease.spec ?? {};
      this.#observe(record, callbacks);
      const holder = record.holderIdentity ?? '';
      const mine = holder === identity;
      if (holder !== '' && !mine && this.#observedAt + this.#leaseDurationMs > now) return false;
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && record.acquireTime !== undefined ? record.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (record.leaseTransitions ?? 0) : (record.leaseTransitions ?? 0) + 1,
      };
      await lock.update(lease, spec, signal);
      this.#observe(spec, callbacks);
      return true;
    } catch (error) {
      logger.debug({ err: error, lease: lock.description }, 'could not acquire or renew the lease');
      return false;
    }
  }

  async #release(log: Logger): Promise<void> {
    const { lock, identity } = this.#options;
    try {
      const lease = await lock.get();
      if (lease?.spec?.holderIdentity !== identity) return;
      const now = microTime(this.#clock.now());
      const spec: LeaseSpec = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await lock.update(lease, spec);
      this.#observed = spec;
      log.info('released the lease');
    } catch (error) {
      log.warn({ err: error }, 'could not release the lease; it expires on its own');
    }
  }

  /** Remembers the record and when this replica saw it change (client-go's observedRecord/observedTime). */
  #observe(record: LeaseSpec, callbacks: LeaderCallbacks): void {
    if (this.#observed === undefined || !jsonEqual(this.#observed, record)) {
      this.#observed = record;
      this.#observedAt = this.#clock.now();
    }
    const holder = record.holderIdentity ?? '';
    if (holder !== this.#reportedLeader) {
      this.#reportedLeader = holder;
      callbacks.onNewLeader?.(holder);
    }
  }
}
