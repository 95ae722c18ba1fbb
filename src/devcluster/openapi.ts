// OpenAPI v3 documents, as far as kubectl needs them: apply/create check `fieldValidation`, explain reads CRD schemas.
import { createHash } from 'node:crypto';
import { isObject, type Json, type JsonObject } from './json.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import type { ResourceType } from './resource-type.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

const stringProp = (description: string): JsonObject => ({ description, type: 'string' });

/** The apimachinery schemas every document references (shortened descriptions). */
const META_SCHEMAS: JsonObject = {
  [`${META}.ObjectMeta`]: {
    description: 'ObjectMeta is metadata that all persisted resources must have.',
    type: 'object',
    properties: {
      annotations: { description: 'Annotations: unstructured key-value data stored with the resource.', type: 'object', additionalProperties: { type: 'string', default: '' } },
      creationTimestamp: { description: 'When the object was created (set by the server).', allOf: [ref(`${META}.Time`)] },
      deletionGracePeriodSeconds: { description: 'Seconds the object has to terminate gracefully after deletion was requested.', type: 'integer', format: 'int64' },
      deletionTimestamp: { description: 'When the object will be deleted (set by the server when deletion is requested).', allOf: [ref(`${META}.Time`)] },
      finalizers: { description: 'Finalizers that must be removed before the object is deleted.', type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
      generateName: stringProp('Prefix of a server-generated name, used when name is empty.'),
      generation: { description: 'A sequence number of the desired state, moved by the server.', type: 'integer', format: 'int64' },
      labels: { description: 'Labels: key-value pairs used to select objects.', type: 'object', additionalProperties: { type: 'string', default: '' } },
      managedFields: { description: 'Field ownership of the workflow ids that wrote the object.', type: 'array', items: { default: {}, allOf: [ref(`${META}.ManagedFieldsEntry`)] } },
      name: stringProp('Name, unique within a namespace.'),
      namespace: stringProp('Namespace the object belongs to.'),
      ownerReferences: {
        description: 'Objects this object depends on; when all are deleted, the garbage collector deletes this one.',
        type: 'array',
        items: { default: {}, allOf: [ref(`${META}.OwnerReference`)] },
        'x-kubernetes-list-map-keys': ['uid'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'uid',
        'x-kubernetes-patch-strategy': 'merge',
      },
      resourceVersion: stringProp('Opaque version of the object, for optimistic concurrency and watches.'),
      selfLink: stringProp('Deprecated.'),
      uid: stringProp('Unique id of the object, set by the server.'),
    },
  },
  [`${META}.ListMeta`]: {
    description: 'ListMeta describes metadata that synthetic resources must have.',
    type: 'object',
    properties: {
      continue: stringProp('Token to fetch the next page of a paginated list.'),
      remainingItemCount: { description: 'Items after this page.', type: 'integer', format: 'int64' },
      resourceVersion: stringProp('Version of the list.'),
      selfLink: stringProp('Deprecated.'),
    },
  },
  [`${META}.ManagedFieldsEntry`]: {
    description: 'Field ownership of one manager.',
    type: 'object',
    properties: { apiVersion: stringProp(''), fieldsType: stringProp(''), fieldsV1: { description: '', allOf: [ref(`${META}.FieldsV1`)] }, manager: stringProp(''), operation: stringProp(''), subresource: stringProp(''), time: { description: '', allOf: [ref(`${META}.Time`)] } },
  },
  [`${META}.FieldsV1`]: { description: 'FieldsV1 stores a set of fields.', type: 'object' },
  [`${META}.OwnerReference`]: {
    description: 'OwnerReference names an owning object.',
    type: 'object',
    required: ['apiVersion', 'kind', 'name', 'uid'],
    properties: {
      apiVersion: { description: 'API version of the referent.', type: 'string', default: '' },
      blockOwnerDeletion: { description: 'Whether the owner waits for this object in foreground deletion.', type: 'boolean' },
      controller: { description: 'Whether the owner is the managing controller.', type: 'boolean' },
      kind: { description: 'Kind of the referent.', type: 'string', default: '' },
      name: { description: 'Name of the referent.', type: 'string', default: '' },
      uid: { description: 'UID of the referent.', type: 'string', default: '' },
    },
    'x-kubernetes-map-type': 'atomic',
  },
  [`${META}.Time`]: { description: 'RFC 3339 time, UTC, seconds precision.', type: 'string', format: 'date-time' },
  [`${META}.Status`]: { description: 'Status is the return value for calls that do not return other objects.', type: 'object', properties: { apiVersion: stringProp(''), code: { type: 'integer', format: 'int32' }, kind: stringProp(''), message: stringProp(''), reason: stringProp(''), status: stringProp('') } },
  [`${META}.DeleteOptions`]: {
    description: 'DeleteOptions may be provided when deleting an API object.',
    type: 'object',
    properties: { apiVersion: stringProp(''), dryRun: { type: 'array', items: { type: 'string', default: '' } }, gracePeriodSeconds: { type: 'integer', format: 'int64' }, kind: stringProp(''), propagationPolicy: stringProp('Orphan, Background or Foreground.') },
  },
  [`${META}.Patch`]: { description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.', type: 'object' },
};

const API_VERSION_DESCRIPTION =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DESCRIPTION =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

/** `demo.transcripts.dev` → `dev.transcripts.demo`; built-ins use kube's `io.k8s.api.<group>` names. */
function schemaPrefix(type: ResourceType): string {
  if (!type.builtin) return `${type.group.split('.').reverse().join('.')}.${type.version}`;
  const group = type.group === '' ? 'core' : type.group.replace(/\.k8s\.io$/, '').replace(/\./g, '');
  return type.group === 'apiextensions.k8s.io' ? `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${type.version}` : `io.k8s.api.${group}.${type.version}`;
}

const param = (name: string, description: string, type = 'string'): JsonObject => ({ name, in: 'query', description, schema: { type, uniqueItems: true } });
const WRITE_PARAMS: Json[] = [
  param('dryRun', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
  param('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  param('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict'),
];

function content(schemaRef: JsonObject): JsonObject {
  return { 'application/json': { schema: schemaRef }, 'application/yaml': { schema: schemaRef } };
}

function operation(type: ResourceType, action: string, description: string, schemaName: string, extra: JsonObject = {}): JsonObject {
  return {
    tags: [`${type.group === '' ? 'core' : type.group}_${type.version}`],
    description,
    operationId: `${action}${type.kind}`,
    ...extra,
    responses: { '200': { description: 'OK', content: content(ref(schemaName)) }, '401': { description: 'Unauthorized' } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
  };
}

function pathsOf(type: ResourceType): JsonObject {
  const prefix = schemaPrefix(type);
  const kindSchema = `${prefix}.${type.kind}`;
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const collection = type.namespaced ? `${base}/namespaces/{namespace}/${type.plural}` : `${base}/${type.plural}`;
  const patchTypes = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];
  const patchBody = { content: Object.fromEntries(patchTypes.map((t) => [t, { schema: ref(`${META}.Patch`) }])), required: true };
  const paths: JsonObject = {};
  if (type.virtual === true) {
    paths[collection] = { post: operation(type, 'post', `create a ${type.kind}`, kindSchema, { parameters: WRITE_PARAMS, requestBody: { content: content(ref(kindSchema)), required: true } }) };
    return paths;
  }
  paths[collection] = {
    get: operation(type, 'list', `list or watch objects of kind ${type.kind}`, `${prefix}.${type.listKind}`),
    post: operation(type, 'post', `create a ${type.kind}`, kindSchema, { parameters: WRITE_PARAMS, requestBody: { content: content(ref(kindSchema)), required: true } }),
  };
  const item = {
    get: operation(type, 'get', `read the specified ${type.kind}`, kindSchema),
    put: operation(type, 'put', `replace the specified ${type.kind}`, kindSchema, { parameters: WRITE_PARAMS, requestBody: { content: content(ref(kindSchema)), required: true } }),
    patch: operation(type, 'patch', `partially update the specified ${type.kind}`, kindSchema, { parameters: [...WRITE_PARAMS, param('force', 'Force is going to "force" Apply requests.', 'boolean')], requestBody: patchBody }),
    delete: operation(type, 'delete', `delete a ${type.kind}`, `${META}.Status`, { requestBody: { content: content(ref(`${META}.DeleteOptions`)) } }),
  };
  paths[`${collection}/{name}`] = item;
  if (type.statusSubresource) paths[`${collection}/{name}/status`] = { get: item.get, put: item.put, patch: item.patch };
  return paths;
}

function schemasOf(type: ResourceType, crdSchema: JsonObject | undefined): JsonObject {
  const prefix = schemaPrefix(type);
  const gvk = (kind: string): Json => [{ group: type.group, kind, version: type.version }];
  const body = crdSchema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const properties = isObject(body['properties']) ? body['properties'] : {};
  return {
    [`${prefix}.${type.kind}`]: {
      ...body,
      type: 'object',
      properties: {
        apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
        kind: { description: KIND_DESCRIPTION, type: 'string' },
        metadata: { description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata", allOf: [ref(`${META}.ObjectMeta`)] },
        ...Object.fromEntries(Object.entries(properties).filter(([key]) => !['apiVersion', 'kind', 'metadata'].includes(key))),
      },
      'x-kubernetes-group-version-kind': gvk(type.kind),
    },
    [`${prefix}.${type.listKind}`]: {
      description: `${type.listKind} is a list of ${type.kind}`,
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { description: API_VERSION_DESCRIPTION, type: 'string' },
        items: { description: `List of ${type.plural}.`, type: 'array', items: ref(`${prefix}.${type.kind}`) },
        kind: { description: KIND_DESCRIPTION, type: 'string' },
        metadata: { description: 'Standard list metadata.', allOf: [ref(`${META}.ListMeta`)] },
      },
      'x-kubernetes-group-version-kind': gvk(type.listKind),
    },
  };
}

/** Builds and caches the OpenAPI v3 documents; `crdSchemaOf` gives a custom type's openAPIV3Schema. */
export class OpenApiDocuments {
  readonly #registry: ResourceRegistry;
  readonly #crdSchemaOf: (type: ResourceType) => JsonObject | undefined;
  #cacheGeneration = -1;
  #documents = new Map<string, { body: string; hash: string }>();

  constructor(registry: ResourceRegistry, crdSchemaOf: (type: ResourceType) => JsonObject | undefined) {
    this.#registry = registry;
    this.#crdSchemaOf = crdSchemaOf;
  }

  #refresh(): void {
    if (this.#cacheGeneration === this.#registry.generation) return;
    this.#cacheGeneration = this.#registry.generation;
    this.#documents = new Map();
    for (const group of this.#registry.groups()) {
      for (const version of group.versions) {
        const types = this.#registry.resourcesOf(group.name, version);
        const builtin = types.every((type) => type.builtin);
        const paths: JsonObject = {};
        const schemas: JsonObject = { ...META_SCHEMAS };
        for (const type of types) {
          Object.assign(paths, pathsOf(type));
          Object.assign(schemas, schemasOf(type, type.builtin ? undefined : this.#crdSchemaOf(type)));
        }
        const doc = { openapi: '3.0.0', info: builtin ? { title: 'Kubernetes', version: 'v1.32.13' } : { title: 'Kubernetes CRD Swagger', version: 'v0.1.0' }, paths, components: { schemas } };
        const body = JSON.stringify(doc);
        const key = group.name === '' ? `api/${version}` : `apis/${group.name}/${version}`;
        this.#documents.set(key, { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() });
      }
    }
  }

  /** The `/openapi/v3` index: each group version's document with its content hash. */
  root(): string {
    this.#refresh();
    const paths: JsonObject = {};
    for (const [key, doc] of this.#documents) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
    return JSON.stringify({ paths });
  }

  /** The document at `/openapi/v3/<key>`, or undefined. */
  document(key: string): string | undefined {
    this.#refresh();
    return this.#documents.get(key)?.body;
  }
}
