// In-memory storage: objects kept as their serialized JSON, one global resourceVersion, a bounded event history, watch fan-out.

/** One stored object: its JSON (what every read answers) and the fields the server itself reads often. */
export interface StoredObject {
  /** `namespace/name`, or `name` for cluster-scoped objects. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly rv: number;
  readonly json: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Values of selectable fields beyond metadata.name/namespace (field selectors). */
  readonly fields: Readonly<Record<string, string>> | undefined;
  readonly ownerUids: readonly string[] | undefined;
  readonly finalizers: readonly string[] | undefined;
  readonly deleting: boolean;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A committed change. `prev` is the state before (absent for ADDED). */
export interface StoreEvent {
  readonly type: EventType;
  readonly rv: number;
  readonly bucket: string;
  readonly object: StoredObject;
  readonly prev: StoredObject | undefined;
}

/** Receives every committed change of the buckets it subscribed to, synchronously, in order. */
export type Subscriber = (event: StoreEvent) => void;

class Bucket {
  readonly byNamespace = new Map<string, Map<string, StoredObject>>();
  size = 0;
  #sorted: StoredObject[] | null = null;
  readonly #sortedByNamespace = new Map<string, StoredObject[]>();

  get(namespace: string, name: string): StoredObject | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  put(object: StoredObject): StoredObject | undefined {
    let names = this.byNamespace.get(object.namespace);
    if (names === undefined) {
      names = new Map();
      this.byNamespace.set(object.namespace, names);
    }
    const previous = names.get(object.name);
    names.set(object.name, object);
    if (previous === undefined) {
      this.size++;
      this.#sorted = null;
      this.#sortedByNamespace.delete(object.namespace);
    } else {
      // Same key set: patch the cached sorted arrays in place instead of resorting.
      this.#replaceIn(this.#sorted, previous, object);
      this.#replaceIn(this.#sortedByNamespace.get(object.namespace) ?? null, previous, object);
    }
    return previous;
  }

  #replaceIn(list: StoredObject[] | null, previous: StoredObject, next: StoredObject): void {
    if (list === null) return;
    const index = binarySearch(list, previous.key);
    if (index >= 0) list[index] = next;
  }

  remove(namespace: string, name: string): StoredObject | undefined {
    const names = this.byNamespace.get(namespace);
    const previous = names?.get(name);
    if (names === undefined || previous === undefined) return undefined;
    names.delete(name);
    if (names.size === 0) this.byNamespace.delete(namespace);
    this.size--;
    this.#sorted = null;
    this.#sortedByNamespace.delete(namespace);
    return previous;
  }

  /** Objects sorted by key (etcd's order), in one namespace or all. The array is shared: do not mutate. */
  list(namespace: string | undefined): readonly StoredObject[] {
    if (namespace !== undefined) {
      let sorted = this.#sortedByNamespace.get(namespace);
      if (sorted === undefined) {
        sorted = [...(this.byNamespace.get(namespace)?.values() ?? [])].sort(byKey);
        this.#sortedByNamespace.set(namespace, sorted);
      }
      return sorted;
    }
    if (this.#sorted === null) {
      const all: StoredObject[] = [];
      for (const names of this.byNamespace.values()) for (const object of names.values()) all.push(object);
      this.#sorted = all.sort(byKey);
    }
    return this.#sorted;
  }
}

function byKey(a: StoredObject, b: StoredObject): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function binarySearch(list: readonly StoredObject[], key: string): number {
  let low = 0;
  let high = list.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const candidate = (list[middle] as StoredObject).key;
    if (candidate === key) return middle;
    if (candidate < key) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

export interface StoreSettings {
  /** How many events the history keeps for watch resumes and continue tokens. */
  readonly historySize?: number;
}

/**
 * The object store.
 *
 * Guarantees:
 * - resourceVersions are integers, strictly increasing across every resource;
 * - subscribers see every committed change once, in commit order, before the write's caller returns;
 * - `eventsSince(rv)` returns every change after `rv` while `rv` is not older than the history.
 */
export class Store {
  #rv = 0;
  readonly #buckets = new Map<string, Bucket>();
  readonly #history: (StoreEvent | undefined)[];
  #historyStart = 0;
  #historyLength = 0;
  /** The oldest resourceVersion a watch may resume from (everything after it is in the history). */
  #compactedRv = 0;
  readonly #subscribers = new Map<string, Set<Subscriber>>();
  readonly #ownerIndex = new Map<string, Set<string>>();
  readonly #uidIndex = new Map<string, { readonly bucket: string; readonly object: StoredObject }>();

  constructor(settings: StoreSettings = {}) {
    this.#history = new Array<StoreEvent | undefined>(Math.max(16, settings.historySize ?? 10_000));
  }

  /** The newest resourceVersion. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest resourceVersion still resumable. */
  get compactedResourceVersion(): number {
    return this.#compactedRv;
  }

  /** Takes the next resourceVersion; the caller commits with it before yielding to the event loop. */
  allocate(): number {
    return ++this.#rv;
  }

  #bucket(name: string): Bucket {
    let bucket = this.#buckets.get(name);
    if (bucket === undefined) {
      bucket = new Bucket();
      this.#buckets.set(name, bucket);
    }
    return bucket;
  }

  get(bucket: string, namespace: string, name: string): StoredObject | undefined {
    return this.#buckets.get(bucket)?.get(namespace, name);
  }

  list(bucket: string, namespace?: string): readonly StoredObject[] {
    return this.#buckets.get(bucket)?.list(namespace) ?? [];
  }

  count(bucket: string): number {
    return this.#buckets.get(bucket)?.size ?? 0;
  }

  /** Namespaces holding at least one object of `bucket`. */
  namespacesOf(bucket: string): string[] {
    return [...(this.#buckets.get(bucket)?.byNamespace.keys() ?? [])];
  }

  bucketNames(): string[] {
    return [...this.#buckets.keys()];
  }

  /** Stores a created or updated object and publishes the change. */
  put(bucket: string, object: StoredObject): StoreEvent {
    const previous = this.#bucket(bucket).put(object);
    this.#indexOwners(bucket, previous, object);
    if (previous !== undefined && previous.uid !== object.uid) this.#uidIndex.delete(previous.uid);
    this.#uidIndex.set(object.uid, { bucket, object });
    return this.#publish({ type: previous === undefined ? 'ADDED' : 'MODIFIED', rv: object.rv, bucket, object, prev: previous });
  }

  /** Removes an object; `last` is its final state (with the deletion's resourceVersion), sent to watchers. */
  remove(bucket: string, last: StoredObject): StoreEvent | undefined {
    const previous = this.#buckets.get(bucket)?.remove(last.namespace, last.name);
    if (previous === undefined) return undefined;
    this.#indexOwners(bucket, previous, undefined);
    this.#uidIndex.delete(previous.uid);
    return this.#publish({ type: 'DELETED', rv: last.rv, bucket, object: last, prev: previous });
  }

  /** The stored object with this uid, and its bucket. */
  byUid(uid: string): { readonly bucket: string; readonly object: StoredObject } | undefined {
    return this.#uidIndex.get(uid);
  }

  /** Whether any object's ownerReferences name `uid`. */
  hasDependents(uid: string): boolean {
    return this.#ownerIndex.has(uid);
  }

  /** `bucket|namespace|name` of every object whose ownerReferences name `uid`. */
  dependentsOf(uid: string): string[] {
    return [...(this.#ownerIndex.get(uid) ?? [])];
  }

  #indexOwners(bucket: string, previous: StoredObject | undefined, next: StoredObject | undefined): void {
    const ref = `${bucket}|${(next ?? previous)?.namespace ?? ''}|${(next ?? previous)?.name ?? ''}`;
    for (const uid of previous?.ownerUids ?? []) {
      if (next?.ownerUids?.includes(uid) === true) continue;
      const set = this.#ownerIndex.get(uid);
      set?.delete(ref);
      if (set?.size === 0) this.#ownerIndex.delete(uid);
    }
    for (const uid of next?.ownerUids ?? []) {
      let set = this.#ownerIndex.get(uid);
      if (set === undefined) {
        set = new Set();
        this.#ownerIndex.set(uid, set);
      }
      set.add(ref);
    }
  }

  #publish(event: StoreEvent): StoreEvent {
    const capacity = this.#history.length;
    if (this.#historyLength === capacity) {
      const dropped = this.#history[this.#historyStart];
      this.#history[this.#historyStart] = event;
      this.#historyStart = (this.#historyStart + 1) % capacity;
      if (dropped !== undefined) this.#compactedRv = dropped.rv;
    } else {
      this.#history[(this.#historyStart + this.#historyLength) % capacity] = event;
      this.#historyLength++;
    }
    const subscribers = this.#subscribers.get(event.bucket);
    if (subscribers !== undefined) for (const subscriber of subscribers) subscriber(event);
    const any = this.#subscribers.get('*');
    if (any !== undefined) for (const subscriber of any) subscriber(event);
    return event;
  }

  /** Every change after `rv` in commit order, or undefined when `rv` is older than the history. */
  eventsSince(rv: number, bucket?: string): StoreEvent[] | undefined {
    if (rv < this.#compactedRv) return undefined;
    const out: StoreEvent[] = [];
    const capacity = this.#history.length;
    // Binary search for the first event newer than rv.
    let low = 0;
    let high = this.#historyLength;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#history[(this.#historyStart + middle) % capacity] as StoreEvent).rv <= rv) low = middle + 1;
      else high = middle;
    }
    for (let i = low; i < this.#historyLength; i++) {
      const event = this.#history[(this.#historyStart + i) % capacity] as StoreEvent;
      if (bucket === undefined || event.bucket === bucket) out.push(event);
    }
    return out;
  }

  /** Forgets the history: resumes and continue tokens from before now answer 410. */
  compact(): void {
    this.#history.fill(undefined);
    this.#historyStart = 0;
    this.#historyLength = 0;
    this.#compactedRv = this.#rv;
  }

  /** Subscribes to a bucket's changes (`*` for all); returns the unsubscribe function. */
  subscribe(bucket: string, subscriber: Subscriber): () => void {
    let set = this.#subscribers.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.#subscribers.set(bucket, set);
    }
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
    };
  }
}
