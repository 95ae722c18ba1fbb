// The finalizer both controllers put on their resources, so deletion waits for the controller's cleanup.
import { API_GROUP } from '../api/group-version.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import type { ResourceDescriptor } from '../kube/resource-descriptor.ts';
import { finalizer, type FinalizerClient, type FinalizerHandlers } from '../runtime/finalizer.ts';
import type { Action } from '../runtime/reconciler.ts';

/** On every Deploy and Sweep the operator has started work for. */
export const RESOURCE_FINALIZER = `${API_GROUP}/finalizer`;

export interface FinalizedReconcile {
  readonly client: FinalizerClient;
  readonly resource: ResourceDescriptor;
  readonly fieldManager: string;
  readonly signal: AbortSignal;
}

/**
 * Runs `handlers.apply` on a live object once it carries {@link RESOURCE_FINALIZER} (added first), and
 * `handlers.cleanup` instead on an object being deleted, then lets it go (the runtime's `finalizer`).
 * Once deletion has started no workflow step runs again: in-flight work stops where it is.
 */
export function withResourceFinalizer<T extends KubeObject>(reconcile: FinalizedReconcile, object: T, handlers: FinalizerHandlers<T>): Promise<Action> {
  return finalizer(reconcile.client, reconcile.resource, RESOURCE_FINALIZER, object, handlers, { signal: reconcile.signal, fieldManager: reconcile.fieldManager });
}
