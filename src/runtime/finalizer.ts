// Runs cleanup before an object may disappear: a finalizer added before the first side effect, removed after cleanup.
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import type { ResourceDescriptor } from '../kube/resource-descriptor.ts';
import { Action } from './reconciler.ts';

/** The one call the finalizer helper makes. */
export type FinalizerClient = Pick<KubeClient, 'patch'>;

export interface FinalizerHandlers<T extends KubeObject> {
  /** The normal reconcile; runs only once the finalizer is on the object. */
  apply(object: T): Promise<Action>;
  /**
   * Cleanup of everything `apply` created outside the object. `Action.done()` means finished (the finalizer is
   * removed); `Action.requeueAfter(ms)` means not finished yet (the finalizer stays, cleanup runs again later).
   */
  cleanup(object: T): Promise<Action>;
}

export interface FinalizerOptions {
  readonly signal?: AbortSignal;
  readonly fieldManager?: string;
}

/**
 * Wraps a reconcile in a finalizer, after kube-rs's `finalizer`.
 *
 * Expected flow: a live object without the finalizer gets it (merge patch with the object's `resourceVersion`
 * as precondition), then `apply` runs on the patched object; a live object with it runs `apply`; an object being
 * deleted with the finalizer runs `cleanup`, and when cleanup is done the finalizer is removed (same
 * precondition); an object being deleted without it is left alone.
 *
 * Guarantees: `apply` never runs before the finalizer is stored, so every side effect is cleaned up; the
 * finalizer is removed only after a cleanup that reported done; a stale copy fails with 409 instead of
 * overwriting other finalizers (the controller then retries with the fresh object).
 */
export async function finalizer<T extends KubeObject>(
  client: FinalizerClient,
  resource: ResourceDescriptor,
  finalizerName: string,
  object: T,
  handlers: FinalizerHandlers<T>,
  options: FinalizerOptions = {},
): Promise<Action> {
  const finalizers = object.metadata.finalizers ?? [];
  const has = finalizers.includes(finalizerName);
  const deleting = object.metadata.deletionTimestamp !== undefined;
  const patch = (next: readonly string[]): Promise<T> =>
    client.patch<T>(resource, object.metadata.name ?? '', { metadata: { resourceVersion: object.metadata.resourceVersion, finalizers: next } }, {
      type: 'merge',
      ...(object.metadata.namespace === undefined ? {} : { namespace: object.metadata.namespace }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.fieldManager === undefined ? {} : { fieldManager: options.fieldManager }),
    });

  if (deleting) {
    if (!has) return Action.done();
    const action = await handlers.cleanup(object);
    if (action.requeueAfterMs !== undefined) return action;
    try {
      await patch(finalizers.filter((name) => name !== finalizerName));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return Action.done();
  }
  if (has) return handlers.apply(object);
  const withFinalizer = await patch([...finalizers, finalizerName]);
  return handlers.apply(withFinalizer);
}
