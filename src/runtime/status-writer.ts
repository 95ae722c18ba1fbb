// Writes an object's status through the status subresource: only the difference, never when unchanged, retried on conflict.
import type { KubeClient } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import type { ResourceDescriptor } from '../kube/resource-descriptor.ts';
import { sleep, type Clock } from '../resilience/clock.ts';
import { cloneJson, mergePatchDiff } from './merge-patch.ts';

/** The two calls the status writer makes. */
export type StatusClient = Pick<KubeClient, 'get' | 'patch'>;

export interface StatusWriterOptions {
  readonly client: StatusClient;
  readonly resource: ResourceDescriptor;
  readonly clock: Clock;
  readonly fieldManager?: string;
  /** Attempts in all when the object keeps changing underneath (client-go's DefaultRetry: 5). */
  readonly attempts?: number;
  /** Pause between attempts, ±10% jitter (client-go's DefaultRetry: 10 ms). */
  readonly retryDelayMs?: number;
  readonly random?: () => number;
}

/** An object that may carry a status of type `S`. */
export type WithStatus<S> = KubeObject & { readonly status?: S };

/** Builds the new status from a private copy of the current one (which it may change and return). */
export type StatusMutation<S> = (current: S | undefined) => S;

export interface StatusUpdateOptions {
  readonly signal?: AbortSignal;
}

/**
 * Status writes for one resource.
 *
 * Guarantees: no request when the mutated status equals the current one (so a resync of converged objects
 * writes nothing); otherwise one JSON merge patch of the difference to `/status` with the object's
 * `resourceVersion` as a precondition, so a status computed from a stale copy is never written; on 409 the
 * object is read again and the mutation re-applied, up to `attempts` times.
 */
export class StatusWriter<S = Record<string, unknown>> {
  readonly #options: StatusWriterOptions;

  constructor(options: StatusWriterOptions) {
    this.#options = options;
  }

  get resource(): ResourceDescriptor {
    return this.#options.resource;
  }

  /** Applies `mutate` to `object`'s status and writes it if it changed. Resolves with the object as stored. */
  async update<T extends WithStatus<S>>(object: T, mutate: StatusMutation<S>, options: StatusUpdateOptions = {}): Promise<T> {
    const { client, resource, clock } = this.#options;
    const attempts = this.#options.attempts ?? 5;
    const delayMs = this.#options.retryDelayMs ?? 10;
    const random = this.#options.random ?? Math.random;
    const name = object.metadata.name ?? '';
    const namespace = object.metadata.namespace;
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    let current = object;
    for (let attempt = 1; ; attempt += 1) {
      const before = current.status;
      const after = mutate(before === undefined ? undefined : cloneJson(before));
      const difference = mergePatchDiff(before ?? {}, after);
      if (difference === undefined) return current;
      try {
        return await client.patch<T>(
          resource,
          name,
          { metadata: { resourceVersion: current.metadata.resourceVersion }, status: difference },
          {
            type: 'merge',
            subresource: 'status',
            ...(namespace === undefined ? {} : { namespace }),
            ...(this.#options.fieldManager === undefined ? {} : { fieldManager: this.#options.fieldManager }),
            ...signal,
          },
        );
      } catch (error) {
        if (!isConflict(error) || attempt >= attempts) throw error;
      }
      await sleep(clock, delayMs * (0.9 + random() * 0.2), options.signal);
      current = await client.get<T>(resource, name, { subresource: 'status', ...(namespace === undefined ? {} : { namespace }), ...signal });
    }
  }
}
