// The shapes every Kubernetes object, list and watch event share, as the API server serializes them.
import type { StatusBody } from './errors.ts';

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** `metadata` of any object (the fields the runtime reads; others pass through untouched). */
export interface ObjectMeta {
  readonly name?: string;
  readonly generateName?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly deletionGracePeriodSeconds?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly finalizers?: readonly string[];
  readonly managedFields?: readonly unknown[];
}

/** Any Kubernetes object. Kind-specific types (`spec`, `status`) extend it structurally. */
export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
}

export interface ListMeta {
  readonly resourceVersion?: string;
  readonly continue?: string;
  readonly remainingItemCount?: number;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ListMeta;
  readonly items: T[];
}

/**
 * One event of a watch stream. `ERROR` events never reach callers: the client turns them into typed errors.
 * A `BOOKMARK` carries only `metadata.resourceVersion` (and, for streaming lists, an annotation).
 */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: KubeObject };

/** `namespace/name`, or `name` for cluster-scoped objects: the key of caches and work queues. */
export function objectKey(object: KubeObject): string {
  const namespace = object.metadata.namespace;
  const name = object.metadata.name ?? '';
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/** Splits a key made by {@link objectKey}. */
export function parseObjectKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** A `kind: Status` answer (successful deletes of objects without finalizers answer with one). */
export function isStatus(value: unknown): value is StatusBody {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}
