// The resourceVersion a reconciler last wrote per object, so a copy from a cache that lags behind its own writes is read again.
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { objectKey, type KubeObject } from '../kube/kube-object.ts';
import type { ResourceDescriptor } from '../kube/resource-descriptor.ts';

export interface OwnWritesOptions {
  readonly client: Pick<KubeClient, 'get'>;
  readonly resource: ResourceDescriptor;
}

/**
 * What one reconciler last wrote, per object, to tell a cached copy that lags behind it.
 *
 * A reconcile that writes status is often followed by the next one (a requeue after a short wait) before the
 * watch has brought that write into the cache. Handed the older copy, the reconcile would compute from a status
 * it has since replaced, and its own next write, made with the older `resourceVersion`, would fail with 409
 * Conflict; worse, the workflow engine would be given a snapshot older than its own last save (ADR 005).
 * {@link OwnWrites.latest} reads such a copy again from the API server.
 *
 * Guarantees: `latest` answers an object at least as new as the last one passed to `remember` (or the cached
 * copy itself when nothing was remembered for it); it asks the API server only when the cached
 * `resourceVersion` is not the one remembered (resourceVersions are opaque: only equality is meaningful, so a
 * cache ahead of the last write, after someone else's change, is read again once too).
 *
 * Assumptions: one reconcile of an object at a time (the work queue's guarantee). Memory: one short string per
 * object written, dropped by `forget` (deletion) and when the object is found gone.
 */
export class OwnWrites<T extends KubeObject> {
  readonly #options: OwnWritesOptions;
  readonly #written = new Map<string, string>();

  constructor(options: OwnWritesOptions) {
    this.#options = options;
  }

  /** `cached`, or the object as the API server holds it when `cached` is not what was last written; undefined when it is gone. */
  async latest(cached: T, signal?: AbortSignal): Promise<T | undefined> {
    const key = objectKey(cached);
    const written = this.#written.get(key);
    if (written === undefined || written === cached.metadata.resourceVersion) return cached;
    try {
      const fresh = await this.#options.client.get<T>(this.#options.resource, cached.metadata.name ?? '', { namespace: cached.metadata.namespace ?? '', ...(signal === undefined ? {} : { signal }) });
      this.remember(fresh);
      return fresh;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.#written.delete(key);
      return undefined;
    }
  }

  /** Records `object` as the reconciler's last write (or read) of it. */
  remember(object: T): void {
    const version = object.metadata.resourceVersion;
    if (version !== undefined) this.#written.set(objectKey(object), version);
  }

  /** Drops what was recorded for `object` (it is being deleted). */
  forget(object: KubeObject): void {
    this.#written.delete(objectKey(object));
  }
}
