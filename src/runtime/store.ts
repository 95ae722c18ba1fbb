// The cache of one watched resource: objects by namespace/name, without managedFields, with secondary indexes.
import { objectKey, type KubeObject } from '../kube/kube-object.ts';

/** Maps an object to the index values it is found under. */
export type IndexFunction<T extends KubeObject> = (object: T) => readonly string[];

/** Index of objects by the uid of each of their owners. */
export const OWNER_UID_INDEX = 'owner-uid';
/** Index of objects by each of their labels, as `key=value`. */
export const LABEL_INDEX = 'label';

function ownerUids(object: KubeObject): readonly string[] {
  return object.metadata.ownerReferences?.map((owner) => owner.uid) ?? [];
}

function labelPairs(object: KubeObject): readonly string[] {
  const labels = object.metadata.labels;
  return labels === undefined ? [] : Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

/** The object without `metadata.managedFields`, which the runtime never reads and which often doubles an object's size. */
export function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}

/**
 * Objects of one resource by `namespace/name`.
 *
 * Guarantees: stored objects have no `managedFields`; indexes always agree with the stored objects;
 * {@link Store.replace} swaps the whole content at once (readers never see half a relist);
 * {@link Store.waitForSync} resolves once the first complete list has been stored.
 *
 * Assumptions: stored objects are never mutated by callers (they are shared with every reader).
 */
export class Store<T extends KubeObject = KubeObject> {
  #objects = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunction<T>>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  #synced = false;
  readonly #syncWaiters = new Set<() => void>();

  constructor(indexers: Readonly<Record<string, IndexFunction<T>>> = {}) {
    this.addIndex(OWNER_UID_INDEX, ownerUids);
    this.addIndex(LABEL_INDEX, labelPairs);
    for (const [name, indexer] of Object.entries(indexers)) this.addIndex(name, indexer);
  }

  /** Adds an index (also over the objects already stored). */
  addIndex(name: string, indexer: IndexFunction<T>): void {
    if (this.#indexers.has(name)) throw new Error(`index ${name} already exists`);
    this.#indexers.set(name, indexer);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, object] of this.#objects) this.#indexObject(index, indexer, key, object);
  }

  get size(): number {
    return this.#objects.size;
  }

  get hasSynced(): boolean {
    return this.#synced;
  }

  /** The object stored under `namespace/name` (or `name` for cluster-scoped objects). */
  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  keys(): IterableIterator<string> {
    return this.#objects.keys();
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  /** The objects found under `value` in index `name`. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`no index named ${name}`);
    const keys = index.get(value);
    if (keys === undefined) return [];
    return [...keys].map((key) => this.#objects.get(key) as T);
  }

  /** Stores an object; returns the one it replaced. */
  apply(object: T): { stored: T; previous: T | undefined } {
    const stored = withoutManagedFields(object);
    const key = objectKey(stored);
    const previous = this.#objects.get(key);
    if (previous !== undefined) this.#unindex(key, previous);
    this.#objects.set(key, stored);
    this.#index(key, stored);
    return { stored, previous };
  }

  /** Removes the object under `key`; returns it. */
  delete(key: string): T | undefined {
    const previous = this.#objects.get(key);
    if (previous === undefined) return undefined;
    this.#unindex(key, previous);
    this.#objects.delete(key);
    return previous;
  }

  /**
   * Replaces the whole content with `objects` (already stripped, keyed by {@link objectKey}) and marks the
   * store synced. Returns the content it replaced.
   */
  replace(objects: Map<string, T>): Map<string, T> {
    const previous = this.#objects;
    this.#objects = objects;
    for (const index of this.#indexes.values()) index.clear();
    for (const [key, object] of objects) this.#index(key, object);
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters) resolve();
      this.#syncWaiters.clear();
    }
    return previous;
  }

  /** Resolves once the first complete list is stored; rejects with the signal's reason if it aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#syncWaiters.delete(done);
        reject(abortError(signal as AbortSignal));
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#syncWaiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #index(key: string, object: T): void {
    for (const [name, indexer] of this.#indexers) this.#indexObject(this.#indexes.get(name) as Map<string, Set<string>>, indexer, key, object);
  }

  #indexObject(index: Map<string, Set<string>>, indexer: IndexFunction<T>, key: string, object: T): void {
    for (const value of indexer(object)) {
      let keys = index.get(value);
      if (keys === undefined) {
        keys = new Set();
        index.set(value, keys);
      }
      keys.add(key);
    }
  }

  #unindex(key: string, object: T): void {
    for (const [name, indexer] of this.#indexers) {
      const index = this.#indexes.get(name) as Map<string, Set<string>>;
      for (const value of indexer(object)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
