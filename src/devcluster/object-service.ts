// Object semantics shared by every resource: create, update, patch and delete with kube-apiserver's rules.
import { randomUUID } from 'node:crypto';
import { child, isObject, jsonEqual, stringAt, stringMap, type Json, type JsonObject } from './json.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import { apiVersionOf, type ResourceType, type WriteContext } from './resource-type.ts';
import { StatusError, statusErrors } from './status-error.ts';
import type { Store, StoredObject } from './store.ts';

export interface WriteOptions {
  readonly dryRun: boolean;
  readonly fieldValidation: WriteContext['fieldValidation'];
  /** Warning headers to send back (unknown fields). */
  readonly warnings: string[];
}

export const INTERNAL_WRITE: WriteOptions = { dryRun: false, fieldValidation: 'Ignore', warnings: [] };

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy;
  readonly dryRun?: boolean;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

/** The answer to a write: the object's JSON as this type serves it, and whether it was created. */
export interface WriteResult {
  readonly json: string;
  readonly created: boolean;
}

export type DeleteResult = { readonly kind: 'deleted'; readonly status: JsonObject } | { readonly kind: 'terminating'; readonly json: string };

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const OBJECT_META_FIELDS = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']);
const BUILTIN_META_ORDER = ['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];

/** Seconds-precision RFC 3339, as metav1.Time serializes. */
export function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function orderedMetadata(meta: JsonObject, builtin: boolean): JsonObject {
  const out: JsonObject = {};
  if (builtin) {
    for (const key of BUILTIN_META_ORDER) if (meta[key] !== undefined) out[key] = meta[key] as Json;
    for (const key of Object.keys(meta)) if (out[key] === undefined && meta[key] !== undefined) out[key] = meta[key] as Json;
  } else {
    for (const key of Object.keys(meta).sort()) if (meta[key] !== undefined) out[key] = meta[key] as Json;
  }
  return out;
}

/**
 * Serializes an object as kube-apiserver does: built-ins as kind, apiVersion, metadata, then the rest;
 * custom resources with sorted top-level and metadata keys.
 */
export function serialize(obj: JsonObject, builtin: boolean): string {
  const meta = isObject(obj['metadata']) ? orderedMetadata(obj['metadata'], builtin) : {};
  if (builtin) {
    const out: JsonObject = { kind: obj['kind'] ?? '', apiVersion: obj['apiVersion'] ?? '', metadata: meta };
    for (const key of Object.keys(obj)) if (key !== 'kind' && key !== 'apiVersion' && key !== 'metadata' && obj[key] !== undefined) out[key] = obj[key] as Json;
    return JSON.stringify(out);
  }
  const out: JsonObject = {};
  for (const key of Object.keys(obj).sort()) if (obj[key] !== undefined) out[key] = key === 'metadata' ? meta : (obj[key] as Json);
  return JSON.stringify(out);
}

function withoutMetaAndStatus(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) if (key !== 'metadata' && key !== 'status' && key !== 'apiVersion' && key !== 'kind') out[key] = value;
  return out;
}

function comparable(obj: JsonObject): JsonObject {
  const meta = { ...(child(obj, 'metadata') ?? {}) };
  delete meta['resourceVersion'];
  delete meta['managedFields'];
  return { ...obj, metadata: meta };
}

/**
 * Creates, updates and deletes objects with kube-apiserver's semantics (server-set metadata, status
 * subresource, generation, optimistic concurrency, finalizers, dry run).
 */
export class ObjectService {
  readonly #store: Store;
  readonly #registry: ResourceRegistry;
  readonly #now: () => number;
  readonly #storageTypes = new WeakMap<ResourceType, ResourceType>();

  constructor(store: Store, registry: ResourceRegistry, now: () => number) {
    this.#store = store;
    this.#registry = registry;
    this.#now = now;
  }

  /** The type that owns the stored shape (core Events for events.k8s.io). */
  #storageType(type: ResourceType): ResourceType {
    if (type.strategy.toStorage === undefined) return type;
    let found = this.#storageTypes.get(type);
    if (found === undefined) {
      found = this.#registry.byStorage(type.storage).find((candidate) => candidate.strategy.toStorage === undefined) ?? type;
      this.#storageTypes.set(type, found);
    }
    return found;
  }

  get(type: ResourceType, namespace: string, name: string): StoredObject | undefined {
    return this.#store.get(type.storage, type.namespaced ? namespace : '', name);
  }

  /** The object as `type` serves it (converted from storage when needed). */
  parse(type: ResourceType, stored: StoredObject): JsonObject {
    const obj = JSON.parse(stored.json) as JsonObject;
    return type.strategy.fromStorage === undefined ? obj : type.strategy.fromStorage(obj);
  }

  /** The JSON `type` answers for a stored object. */
  render(type: ResourceType, stored: StoredObject): string {
    return type.strategy.fromStorage === undefined ? stored.json : serialize(this.parse(type, stored), true);
  }

  #record(type: ResourceType, obj: JsonObject, rv: number): StoredObject {
    const storageType = this.#storageType(type);
    const meta = child(obj, 'metadata') ?? {};
    meta['resourceVersion'] = String(rv);
    const namespace = storageType.namespaced ? (stringAt(meta, 'namespace') ?? '') : '';
    const name = stringAt(meta, 'name') ?? '';
    const owners = meta['ownerReferences'];
    const finalizers = meta['finalizers'];
    return {
      key: namespace === '' ? name : `${namespace}/${name}`,
      namespace,
      name,
      uid: stringAt(meta, 'uid') ?? '',
      rv,
      json: serialize(obj, storageType.builtin),
      labels: stringMap(meta['labels']),
      fields: storageType.strategy.selectableFields?.(obj),
      ownerUids: Array.isArray(owners) ? owners.filter(isObject).map((owner) => String(owner['uid'] ?? '')) : undefined,
      finalizers: Array.isArray(finalizers) && finalizers.length > 0 ? finalizers.map(String) : undefined,
      deleting: meta['deletionTimestamp'] !== undefined && meta['deletionTimestamp'] !== null,
    };
  }

  #toStorage(type: ResourceType, obj: JsonObject): JsonObject {
    return type.strategy.toStorage === undefined ? obj : type.strategy.toStorage(obj);
  }

  #output(type: ResourceType, storageObj: JsonObject): string {
    const storageType = this.#storageType(type);
    if (type.strategy.fromStorage === undefined) return serialize(storageObj, storageType.builtin);
    return serialize(type.strategy.fromStorage(storageObj), true);
  }

  #checkKind(type: ResourceType, body: JsonObject): void {
    const kind = body['kind'];
    const apiVersion = body['apiVersion'];
    if (typeof kind !== 'string' || kind === '') throw statusErrors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 500)}'`);
    if (kind !== type.kind) throw statusErrors.badRequest(`${kind} in version "${type.version}" cannot be handled as a ${type.kind}: no kind "${kind}" is registered for version "${apiVersionOf(type)}" in scheme "pkg/runtime/scheme.go:100"`);
    if (apiVersion !== apiVersionOf(type)) throw statusErrors.badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(type)})`);
  }

  /**
   * Unknown fields of metadata (every kind) and at the top of a built-in kind: dropped with a warning, or a 400
   * with `fieldValidation=Strict`, as kube-apiserver's decoder does. Custom resources' other fields are pruned
   * by their schema.
   */
  #dropUnknownFields(type: ResourceType, obj: JsonObject, options: WriteOptions): void {
    const unknown: string[] = [];
    const meta = obj['metadata'];
    if (isObject(meta)) for (const key of Object.keys(meta)) if (!OBJECT_META_FIELDS.has(key)) unknown.push(`metadata.${key}`);
    if (type.topLevelFields !== undefined) for (const key of Object.keys(obj)) if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata' && !type.topLevelFields.includes(key)) unknown.push(key);
    if (unknown.length === 0) return;
    unknown.sort();
    if (options.fieldValidation === 'Strict') {
      throw statusErrors.badRequest(`${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: strict decoding error: ${unknown.map((field) => `unknown field "${field}"`).join(', ')}`);
    }
    for (const field of unknown) {
      if (options.fieldValidation === 'Warn') options.warnings.push(`unknown field "${field}"`);
      if (field.startsWith('metadata.')) delete (meta as JsonObject)[field.slice('metadata.'.length)];
      else delete obj[field];
    }
  }

  #validate(type: ResourceType, obj: JsonObject, old: JsonObject | undefined, subresource = ''): void {
    const errors = type.strategy.validate?.(obj, old, subresource) ?? [];
    if (errors.length > 0) throw statusErrors.invalid(type.invalidKind.kind, type.invalidKind.group, stringAt(child(obj, 'metadata'), 'name') ?? '', errors);
  }

  #context(options: WriteOptions, subresource = ''): WriteContext {
    return { warnings: options.warnings, fieldValidation: options.fieldValidation, nowMs: this.#now(), subresource };
  }

  #requireNamespace(type: ResourceType, namespace: string, forCreate: boolean): void {
    if (!type.namespaced) return;
    const stored = this.#store.get('/namespaces', '', namespace);
    if (stored === undefined) throw new StatusError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (forCreate && stored.deleting) {
      throw new StatusError(403, 'Forbidden', `${type.group === '' ? type.plural : `${type.plural}.${type.group}`} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
        ...(type.group === '' ? {} : { group: type.group }),
        kind: type.plural,
      });
    }
  }

  /** POST: server-set metadata, defaults, validation, then store (unless dry run). */
  create(type: ResourceType, namespace: string, body: JsonObject, options: WriteOptions): WriteResult {
    this.#checkKind(type, body);
    const meta = isObject(body['metadata']) ? { ...body['metadata'] } : {};
    body['metadata'] = meta;
    this.#dropUnknownFields(type, body, options);
    if (type.namespaced) {
      const given = meta['namespace'];
      if (given !== undefined && given !== '' && given !== namespace) throw statusErrors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta['namespace'] = namespace;
    } else {
      delete meta['namespace'];
    }
    this.#requireNamespace(type, namespace, true);
    const generateName = stringAt(meta, 'generateName');
    if ((meta['name'] === undefined || meta['name'] === '') && generateName !== undefined && generateName !== '') {
      let name = '';
      for (let attempt = 0; attempt < 8; attempt++) {
        name = generateName + Array.from({ length: 5 }, () => NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)]).join('');
        if (this.get(type, namespace, name) === undefined) break;
      }
      meta['name'] = name;
    }
    const nowMs = this.#now();
    meta['uid'] = randomUUID();
    meta['creationTimestamp'] = timestamp(nowMs);
    for (const key of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']) delete meta[key];
    if (type.hasGeneration) meta['generation'] = 1;
    else delete meta['generation'];
    if (type.statusSubresource && !type.builtin) delete body['status'];
    if (type.statusSubresource && type.builtin && type.kind !== 'Namespace') body['status'] = {};
    type.strategy.normalize?.(body, this.#context(options));
    type.strategy.prepareForCreate?.(body);
    this.#validate(type, body, undefined);
    const name = stringAt(meta, 'name') ?? '';
    if (this.get(type, namespace, name) !== undefined) throw statusErrors.alreadyExists(type.group, type.plural, name);
    const storageObj = this.#toStorage(type, body);
    if (options.dryRun) {
      delete (child(storageObj, 'metadata') ?? {})['resourceVersion'];
      return { json: this.#output(type, storageObj), created: true };
    }
    const record = this.#record(type, storageObj, this.#store.allocate());
    this.#store.put(type.storage, record);
    return { json: type.strategy.fromStorage === undefined ? record.json : this.#output(type, storageObj), created: true };
  }

  /**
   * Replaces an object with `next` (PUT, or the result of a patch) under the status-subresource rules.
   * `next` may share subtrees with the parsed current object; neither `stored` nor other readers see mutations.
   */
  update(type: ResourceType, stored: StoredObject, current: JsonObject, nextInput: JsonObject, subresource: string, options: WriteOptions): WriteResult {
    const old = current;
    let next: JsonObject = { ...nextInput };
    if (type.statusSubresource) {
      if (subresource === 'status') {
        next = { ...old, metadata: { ...(child(nextInput, 'metadata') ?? {}) } };
        if (nextInput['status'] === undefined) delete next['status'];
        else next['status'] = nextInput['status'];
      } else if (old['status'] === undefined) delete next['status'];
      else next['status'] = old['status'];
    }
    const oldMeta = child(old, 'metadata') ?? {};
    const givenMeta = child(next, 'metadata') ?? {};
    const requestedRv = givenMeta['resourceVersion'];
    if (requestedRv !== undefined && requestedRv !== null && requestedRv !== '' && requestedRv !== String(stored.rv)) {
      throw statusErrors.conflict(type.group, type.plural, stored.name);
    }
    const givenName = givenMeta['name'];
    if (givenName !== undefined && givenName !== stored.name) throw statusErrors.badRequest(`the name of the object (${String(givenName)}) does not match the name on the URL (${stored.name})`);
    const meta: JsonObject = subresource === 'status' ? { ...oldMeta } : { ...givenMeta };
    for (const key of ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'generateName', 'resourceVersion']) {
      if (oldMeta[key] === undefined) delete meta[key];
      else meta[key] = oldMeta[key] as Json;
    }
    if (subresource !== 'status' && givenMeta['generateName'] !== undefined) meta['generateName'] = givenMeta['generateName'] as Json;
    delete meta['managedFields'];
    if (oldMeta['managedFields'] !== undefined) meta['managedFields'] = oldMeta['managedFields'] as Json;
    next['metadata'] = meta;
    if (subresource !== 'status') {
      this.#checkKind(type, { ...next, kind: next['kind'] ?? type.kind, apiVersion: next['apiVersion'] ?? apiVersionOf(type) });
      this.#dropUnknownFields(type, next, options);
    }
    next['kind'] = type.kind;
    next['apiVersion'] = apiVersionOf(type);
    const statusOnly = subresource === 'status' && type.statusSubresource;
    type.strategy.normalize?.(next, this.#context(options, statusOnly ? 'status' : ''));
    this.#validate(type, next, old, statusOnly ? 'status' : '');
    // A status write changes nothing but status (everything else is the stored object's), so only status decides.
    if (!statusOnly && type.hasGeneration && !jsonEqual(withoutMetaAndStatus(old), withoutMetaAndStatus(next))) meta['generation'] = (typeof oldMeta['generation'] === 'number' ? oldMeta['generation'] : 0) + 1;
    if (statusOnly ? jsonEqual(old['status'], next['status']) : jsonEqual(comparable(old), comparable(next))) return { json: this.render(type, stored), created: false };
    const finalizers = meta['finalizers'];
    const storageObj = this.#toStorage(type, next);
    if (stored.deleting && (!Array.isArray(finalizers) || finalizers.length === 0) && !this.#hasPendingSpecFinalizers(storageObj)) {
      // The last finalizer is gone: the object is deleted; watchers get its last stored state.
      if (!options.dryRun) this.#remove(type, JSON.parse(stored.json) as JsonObject);
      return { json: this.#output(type, storageObj), created: false };
    }
    if (options.dryRun) return { json: this.#output(type, storageObj), created: false };
    const record = this.#record(type, storageObj, this.#store.allocate());
    this.#store.put(type.storage, record);
    return { json: type.strategy.fromStorage === undefined ? record.json : this.#output(type, storageObj), created: false };
  }

  #hasPendingSpecFinalizers(obj: JsonObject): boolean {
    const specFinalizers = child(obj, 'spec')?.['finalizers'];
    return obj['kind'] === 'Namespace' && Array.isArray(specFinalizers) && specFinalizers.length > 0;
  }

  #remove(type: ResourceType, last: JsonObject): void {
    const record = this.#record(type, last, this.#store.allocate());
    this.#store.remove(type.storage, record);
  }

  /** DELETE: marks the object terminating while finalizers remain, else removes it. */
  delete(type: ResourceType, namespace: string, name: string, options: DeleteOptions): DeleteResult {
    const stored = this.get(type, namespace, name);
    if (stored === undefined) throw statusErrors.notFound(type.group, type.plural, name);
    const preconditions = options.preconditions;
    if (preconditions?.uid !== undefined && preconditions.uid !== stored.uid) {
      throw statusErrors.conflict(type.group, type.plural, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${stored.uid}`);
    }
    if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== String(stored.rv)) {
      throw statusErrors.conflict(type.group, type.plural, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in meta: ${stored.rv}`);
    }
    const storageType = this.#storageType(type);
    const policy = options.propagationPolicy;
    if (!stored.deleting && stored.finalizers === undefined && policy !== 'Foreground' && policy !== 'Orphan' && storageType.kind !== 'Namespace' && storageType.kind !== 'CustomResourceDefinition') {
      // Nothing holds the object: it goes at once, and watchers get its JSON with the deletion's resourceVersion.
      if (options.dryRun !== true) this.#removeStored(type, stored);
      return { kind: 'deleted', status: this.#deletedStatus(type, name, stored.uid) };
    }
    const obj = JSON.parse(stored.json) as JsonObject;
    const meta = child(obj, 'metadata') ?? {};
    const finalizers = Array.isArray(meta['finalizers']) ? meta['finalizers'].map(String) : [];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (storageType.storage === 'apiextensions.k8s.io/customresourcedefinitions' && !finalizers.includes('customresourcecleanup.apiextensions.k8s.io')) finalizers.push('customresourcecleanup.apiextensions.k8s.io');
    const pendingNamespace = this.#hasPendingSpecFinalizers(obj);
    if (stored.deleting) {
      if (finalizers.length === (Array.isArray(meta['finalizers']) ? meta['finalizers'].length : 0) || options.dryRun === true) return { kind: 'terminating', json: this.render(type, stored) };
      meta['finalizers'] = finalizers;
      const record = this.#record(type, obj, this.#store.allocate());
      this.#store.put(type.storage, record);
      return { kind: 'terminating', json: this.render(type, record) };
    }
    if (finalizers.length > 0 || pendingNamespace) {
      meta['deletionTimestamp'] = timestamp(this.#now());
      meta['deletionGracePeriodSeconds'] = 0;
      if (finalizers.length > 0) meta['finalizers'] = finalizers;
      if (storageType.hasGeneration) meta['generation'] = (typeof meta['generation'] === 'number' ? meta['generation'] : 0) + 1;
      if (obj['kind'] === 'Namespace') obj['status'] = { ...(child(obj, 'status') ?? {}), phase: 'Terminating' };
      if (storageType.storage === 'apiextensions.k8s.io/customresourcedefinitions') {
        const status = child(obj, 'status') ?? {};
        const conditions = Array.isArray(status['conditions']) ? status['conditions'].filter(isObject).filter((c) => c['type'] !== 'Terminating') : [];
        conditions.push({ type: 'Terminating', status: 'True', lastTransitionTime: timestamp(this.#now()), reason: 'InstanceDeletionPending', message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon' });
        obj['status'] = { ...status, conditions };
      }
      if (options.dryRun === true) return { kind: 'terminating', json: this.#output(type, obj) };
      const record = this.#record(storageType, obj, this.#store.allocate());
      this.#store.put(type.storage, record);
      return { kind: 'terminating', json: this.#output(type, obj) };
    }
    if (options.dryRun !== true) this.#remove(storageType, obj);
    return { kind: 'deleted', status: this.#deletedStatus(type, name, stored.uid) };
  }

  #deletedStatus(type: ResourceType, name: string, uid: string): JsonObject {
    // Built key by key rather than with a conditional spread, which V8 defines through a runtime call: a
    // deletecollection makes one per object.
    const details: JsonObject = { name };
    if (type.group !== '') details['group'] = type.group;
    details['kind'] = type.plural;
    details['uid'] = uid;
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
  }

  /**
   * Removes a stored object without parsing it. Assumption: the first `"resourceVersion":"…"` of the
   * serialized object is metadata's (every key serialized before it holds strings or objects without one).
   */
  #removeStored(type: ResourceType, stored: StoredObject): void {
    const rv = this.#store.allocate();
    const marker = `"resourceVersion":"${stored.rv}"`;
    const at = stored.json.indexOf(marker);
    const json = at < 0 ? stored.json : `${stored.json.slice(0, at)}"resourceVersion":"${rv}"${stored.json.slice(at + marker.length)}`;
    // Every field named: a spread followed by overrides takes V8's slow path for each deleted object.
    const { key, namespace, name, uid, labels, fields, ownerUids, finalizers, deleting } = stored;
    this.#store.remove(type.storage, { key, namespace, name, uid, rv, json, labels, fields, ownerUids, finalizers, deleting });
  }

  /**
   * A write by the server's own controllers: `mutate` changes a private copy of the stored object;
   * nothing is written when it returns false or changes nothing. Bypasses validation.
   */
  writeInternal(type: ResourceType, namespace: string, name: string, mutate: (obj: JsonObject) => boolean | void): StoredObject | undefined {
    const stored = this.get(type, namespace, name);
    if (stored === undefined) return undefined;
    const obj = JSON.parse(stored.json) as JsonObject;
    if (mutate(obj) === false) return stored;
    if (jsonEqual(comparable(JSON.parse(stored.json) as JsonObject), comparable(obj))) return stored;
    const meta = child(obj, 'metadata') ?? {};
    const finalizers = meta['finalizers'];
    if (stored.deleting && (!Array.isArray(finalizers) || finalizers.length === 0) && !this.#hasPendingSpecFinalizers(obj)) {
      this.#remove(this.#storageType(type), JSON.parse(stored.json) as JsonObject);
      return undefined;
    }
    const record = this.#record(this.#storageType(type), obj, this.#store.allocate());
    this.#store.put(type.storage, record);
    return record;
  }

  /** Stores a bootstrap object (namespaces, RBAC defaults) as a create would. */
  bootstrap(type: ResourceType, obj: JsonObject): void {
    const name = stringAt(child(obj, 'metadata'), 'name') ?? '';
    if (this.get(type, stringAt(child(obj, 'metadata'), 'namespace') ?? '', name) !== undefined) return;
    this.create(type, stringAt(child(obj, 'metadata'), 'namespace') ?? '', obj, INTERNAL_WRITE);
  }
}
