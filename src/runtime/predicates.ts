// Which changes of a watched object wake its controller.
import type { KubeObject } from '../kube/kube-object.ts';

/** Whether a change from `previous` (undefined: a new object) to `object` should trigger a reconcile. */
export type Predicate<T extends KubeObject = KubeObject> = (object: T, previous: T | undefined) => boolean;

/**
 * New objects, spec changes (`metadata.generation`) and deletion requests; not status-only or metadata-only
 * updates, so a controller's own status writes never wake it. Objects without a generation fall back to
 * `resourceVersion`.
 */
export const generationChanged: Predicate = (object, previous) => {
  if (previous === undefined) return true;
  if (object.metadata.deletionTimestamp !== undefined && previous.metadata.deletionTimestamp === undefined) return true;
  if (object.metadata.generation === undefined) return object.metadata.resourceVersion !== previous.metadata.resourceVersion;
  return object.metadata.generation !== previous.metadata.generation;
};

/** Every change. */
export const anyChange: Predicate = (object, previous) => previous === undefined || object.metadata.resourceVersion !== previous.metadata.resourceVersion;
