// An in-memory Lease for unit tests of leader election: resourceVersion conflicts, replicas that fail or freeze.
import { apiErrorFromStatus } from '../../src/kube/errors.ts';
import type { Lease, LeaseLock, LeaseSpec } from '../../src/runtime/leader-elector.ts';

/** The one Lease, kept in memory with resourceVersion semantics (409 when updated from a stale read). */
export class LeaseStore {
  lease: Lease | undefined;
  #version = 0;
  write(spec: LeaseSpec): Lease {
    this.lease = { metadata: { name: 'operator', namespace: 'system', resourceVersion: String(++this.#version) }, spec };
    return this.lease;
  }
}

/** One replica's view of the store; it can be cut off (every call fails) or frozen (calls never answer). */
export class ReplicaLock implements LeaseLock {
  readonly description = 'system/operator';
  failing = false;
  frozen = false;
  readonly #store: LeaseStore;
  constructor(store: LeaseStore) {
    this.#store = store;
  }
  #gate(signal?: AbortSignal): Promise<void> {
    if (this.frozen) return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    if (this.failing) return Promise.reject(apiErrorFromStatus(503, { kind: 'Status', code: 503, reason: 'ServiceUnavailable' }));
    return Promise.resolve();
  }
  async get(signal?: AbortSignal): Promise<Lease | undefined> {
    await this.#gate(signal);
    return structuredClone(this.#store.lease);
  }
  async create(spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    await this.#gate(signal);
    if (this.#store.lease !== undefined) throw apiErrorFromStatus(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
    return this.#store.write(spec);
  }
  async update(current: Lease, spec: LeaseSpec, signal?: AbortSignal): Promise<Lease> {
    await this.#gate(signal);
    if (current.metadata.resourceVersion !== this.#store.lease?.metadata.resourceVersion) throw apiErrorFromStatus(409, { kind: 'Status', code: 409, reason: 'Conflict' });
    return this.#store.write(spec);
  }
}
