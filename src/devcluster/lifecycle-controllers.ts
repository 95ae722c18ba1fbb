// The in-process controllers kube-apiserver and kube-controller-manager would run: CRD establishing and cleanup,
// namespace deletion, and the garbage collector (background, foreground and orphan propagation).
import { crdResourceTypes, establish } from './crd.ts';
import { child, isObject, type JsonObject } from './json.ts';
import { timestamp, type ObjectService } from './object-service.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import type { ResourceType } from './resource-type.ts';
import type { Store, StoreEvent } from './store.ts';

const CRD_BUCKET = 'apiextensions.k8s.io/customresourcedefinitions';
const NAMESPACE_BUCKET = '/namespaces';
const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

/**
 * Reacts to committed changes. Work is queued and run on the next turn of the event loop, never inside
 * the store's publish, so every write it makes is an ordinary, ordered change.
 */
export class LifecycleControllers {
  readonly #store: Store;
  readonly #objects: ObjectService;
  readonly #registry: ResourceRegistry;
  readonly #now: () => number;
  readonly #queue = new Set<string>();
  #scheduled = false;
  #unsubscribe: (() => void) | undefined;
  #customStorages = new Set<string>();
  #customStoragesGeneration = -1;

  constructor(store: Store, objects: ObjectService, registry: ResourceRegistry, now: () => number) {
    this.#store = store;
    this.#objects = objects;
    this.#registry = registry;
    this.#now = now;
  }

  start(): void {
    this.#unsubscribe = this.#store.subscribe('*', (event) => this.#observe(event));
    // Objects restored from a kept state may need work (terminating namespaces, CRDs).
    for (const crd of this.#store.list(CRD_BUCKET)) this.#enqueue(`crd|${crd.name}`);
    for (const ns of this.#store.list(NAMESPACE_BUCKET)) if (ns.deleting) this.#enqueue(`ns|${ns.name}`);
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#queue.clear();
  }

  #type(bucket: string): ResourceType | undefined {
    const types = this.#registry.byStorage(bucket);
    return types.find((type) => type.strategy.toStorage === undefined) ?? types[0];
  }

  #observe(event: StoreEvent): void {
    if (event.bucket === CRD_BUCKET) this.#enqueue(`crd|${event.object.name}`);
    if (event.bucket === NAMESPACE_BUCKET && event.object.deleting && event.type !== 'DELETED') this.#enqueue(`ns|${event.object.name}`);
    const object = event.object;
    if (event.type !== 'DELETED' && object.deleting && object.finalizers !== undefined && (object.finalizers.includes('foregroundDeletion') || object.finalizers.includes('orphan'))) {
      this.#enqueue(`owner|${event.bucket}|${object.namespace}|${object.name}`);
    }
    if (event.type === 'DELETED') {
      if (this.#store.hasDependents(object.uid)) this.#enqueue(`gc|${object.uid}`);
      // A dependent went away: an owner waiting in foreground deletion may be done.
      for (const ownerUid of object.ownerUids ?? []) {
        const owner = this.#store.byUid(ownerUid);
        if (owner?.object.deleting === true) this.#enqueue(`owner|${owner.bucket}|${owner.object.namespace}|${owner.object.name}`);
      }
      if (object.namespace !== '') {
        const ns = this.#store.get(NAMESPACE_BUCKET, '', object.namespace);
        if (ns?.deleting === true) this.#enqueue(`ns|${object.namespace}`);
      }
      if (this.#customStoragesGeneration !== this.#registry.generation) {
        this.#customStorages = new Set(this.#registry.all().filter((type) => !type.builtin).map((type) => type.storage));
        this.#customStoragesGeneration = this.#registry.generation;
      }
      if (this.#customStorages.has(event.bucket)) {
        for (const crd of this.#store.list(CRD_BUCKET)) if (crd.deleting) this.#enqueue(`crd|${crd.name}`);
      }
    }
  }

  #enqueue(key: string): void {
    this.#queue.add(key);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    const keys = [...this.#queue];
    this.#queue.clear();
    for (const key of keys) {
      const [kind, ...rest] = key.split('|');
      try {
        if (kind === 'crd') this.#syncCrd(rest[0] ?? '');
        else if (kind === 'ns') this.#syncNamespace(rest[0] ?? '');
        else if (kind === 'gc') this.#collect(rest[0] ?? '');
        else if (kind === 'owner') this.#syncOwner(rest[0] ?? '', rest[1] ?? '', rest[2] ?? '');
      } catch {
        // A controller step that fails (a concurrent delete) is retried by the next event that concerns it.
      }
    }
  }

  #crdType(): ResourceType {
    return this.#type(CRD_BUCKET) as ResourceType;
  }

  #syncCrd(name: string): void {
    const stored = this.#store.get(CRD_BUCKET, '', name);
    if (stored === undefined) {
      this.#registry.removeCrd(name);
      return;
    }
    const crd = JSON.parse(stored.json) as JsonObject;
    this.#registry.setCrd(name, crdResourceTypes(crd));
    if (!stored.deleting) {
      const conditions = child(crd, 'status')?.['conditions'];
      const established = Array.isArray(conditions) && conditions.some((c) => isObject(c) && c['type'] === 'Established' && c['status'] === 'True');
      if (!established || JSON.stringify(child(child(crd, 'status'), 'acceptedNames')) !== JSON.stringify(child(child(crd, 'spec'), 'names'))) {
        this.#objects.writeInternal(this.#crdType(), '', name, (obj) => establish(obj, timestamp(this.#now())));
      }
      return;
    }
    // Terminating: delete every custom resource, then drop the cleanup finalizer.
    const spec = child(crd, 'spec') ?? {};
    const bucket = `${String(spec['group'])}/${String(child(spec, 'names')?.['plural'])}`;
    const type = this.#type(bucket);
    const remaining = this.#store.list(bucket);
    if (type !== undefined) for (const object of remaining) if (!object.deleting) this.#objects.delete(type, object.namespace, object.name, {});
    if (this.#store.count(bucket) > 0) return;
    this.#objects.writeInternal(this.#crdType(), '', name, (obj) => {
      const meta = child(obj, 'metadata') ?? {};
      const finalizers = Array.isArray(meta['finalizers']) ? meta['finalizers'].filter((f) => f !== CRD_FINALIZER) : [];
      if (finalizers.length === 0) delete meta['finalizers'];
      else meta['finalizers'] = finalizers;
    });
  }

  #syncNamespace(name: string): void {
    const stored = this.#store.get(NAMESPACE_BUCKET, '', name);
    if (stored === undefined || !stored.deleting) return;
    let remaining = 0;
    for (const type of this.#registry.all()) {
      if (!type.namespaced || type.virtual === true || type.strategy.toStorage !== undefined) continue;
      for (const object of [...this.#store.list(type.storage, name)]) {
        remaining++;
        if (!object.deleting) this.#objects.delete(type, name, object.name, {});
      }
    }
    for (const bucket of this.#store.bucketNames()) if (this.#store.list(bucket, name).length > 0 && bucket !== NAMESPACE_BUCKET) remaining = Math.max(remaining, 1);
    if (remaining > 0 && this.#anyLeft(name)) return;
    const nsType = this.#type(NAMESPACE_BUCKET) as ResourceType;
    this.#objects.writeInternal(nsType, '', name, (obj) => {
      const spec = child(obj, 'spec') ?? {};
      spec['finalizers'] = [];
      obj['spec'] = spec;
    });
  }

  #anyLeft(namespace: string): boolean {
    return this.#store.bucketNames().some((bucket) => bucket !== NAMESPACE_BUCKET && this.#store.list(bucket, namespace).length > 0);
  }

  /** Dependents of a deleted owner: drop the dangling reference; delete those left without any owner. */
  #collect(ownerUid: string): void {
    for (const ref of this.#store.dependentsOf(ownerUid)) {
      const [bucket = '', namespace = '', name = ''] = ref.split('|');
      const type = this.#type(bucket);
      const stored = this.#store.get(bucket, namespace, name);
      if (type === undefined || stored === undefined) continue;
      const obj = JSON.parse(stored.json) as JsonObject;
      const owners = (child(obj, 'metadata')?.['ownerReferences'] ?? []) as JsonObject[];
      const alive = owners.filter((owner) => owner['uid'] !== ownerUid && this.#ownerExists(owner, namespace));
      if (alive.length === 0) {
        if (!stored.deleting) this.#objects.delete(type, namespace, name, { propagationPolicy: 'Background' });
      } else if (alive.length !== owners.length) {
        this.#objects.writeInternal(type, namespace, name, (o) => {
          (child(o, 'metadata') ?? {})['ownerReferences'] = alive;
        });
      }
    }
  }

  #ownerExists(owner: JsonObject, namespace: string): boolean {
    const type = this.#registry.findKind(String(owner['apiVersion'] ?? ''), String(owner['kind'] ?? ''));
    if (type === undefined) return false;
    const stored = this.#store.get(type.storage, type.namespaced ? namespace : '', String(owner['name'] ?? ''));
    return stored !== undefined && stored.uid === owner['uid'];
  }

  /** An owner with `foregroundDeletion` deletes its dependents first; with `orphan` it releases them. */
  #syncOwner(bucket: string, namespace: string, name: string): void {
    const stored = this.#store.get(bucket, namespace, name);
    const type = this.#type(bucket);
    if (stored === undefined || type === undefined || !stored.deleting) return;
    const dependents = this.#store.dependentsOf(stored.uid);
    if (stored.finalizers?.includes('orphan') === true) {
      for (const ref of dependents) {
        const [depBucket = '', depNamespace = '', depName = ''] = ref.split('|');
        const depType = this.#type(depBucket);
        if (depType === undefined) continue;
        this.#objects.writeInternal(depType, depNamespace, depName, (o) => {
          const meta = child(o, 'metadata') ?? {};
          const refs = (Array.isArray(meta['ownerReferences']) ? meta['ownerReferences'] : []).filter((r) => !(isObject(r) && r['uid'] === stored.uid));
          if (refs.length === 0) delete meta['ownerReferences'];
          else meta['ownerReferences'] = refs;
        });
      }
      this.#dropFinalizer(type, namespace, name, 'orphan');
      return;
    }
    if (stored.finalizers?.includes('foregroundDeletion') === true) {
      for (const ref of dependents) {
        const [depBucket = '', depNamespace = '', depName = ''] = ref.split('|');
        const depType = this.#type(depBucket);
        const dep = this.#store.get(depBucket, depNamespace, depName);
        if (depType !== undefined && dep !== undefined && !dep.deleting) this.#objects.delete(depType, depNamespace, depName, { propagationPolicy: 'Foreground' });
      }
      if (this.#store.dependentsOf(stored.uid).length === 0) this.#dropFinalizer(type, namespace, name, 'foregroundDeletion');
    }
  }

  #dropFinalizer(type: ResourceType, namespace: string, name: string, finalizer: string): void {
    this.#objects.writeInternal(type, namespace, name, (obj) => {
      const meta = child(obj, 'metadata') ?? {};
      const finalizers = Array.isArray(meta['finalizers']) ? meta['finalizers'].filter((f) => f !== finalizer) : [];
      if (finalizers.length === 0) delete meta['finalizers'];
      else meta['finalizers'] = finalizers;
    });
  }
}

