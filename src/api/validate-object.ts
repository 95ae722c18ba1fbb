// Offline validation of one object of this API, with the field errors kube-apiserver would give.
import { fieldErrorsFromZod, fieldPath, renderValue, UNKNOWN_FIELD_DETAIL, type FieldError } from './field-error.ts';
import { API_GROUP, GROUP_VERSION } from './group-version.ts';
import { openApiSchemaOf } from './crd.ts';
import { withoutNullFields } from './parse-spec.ts';
import type { KindDefinition } from './kind-definition.ts';
import { findKind, KINDS } from './kinds.ts';
import { METADATA_MAP_PATHS } from './object-meta.ts';
import type { SchemaNode } from './structural-schema.ts';

export interface ObjectValidation {
  /** `Deploy`, `Sweep`, or whatever the object says it is. */
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** Set when the object is not of this API: it was not checked. */
  readonly skipped?: string;
  readonly errors: readonly FieldError[];
}

const TOP_LEVEL_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const schemas = new Map<KindDefinition, SchemaNode>();

function schemaOf(kind: KindDefinition): SchemaNode {
  let schema = schemas.get(kind);
  if (schema === undefined) {
    schema = openApiSchemaOf(kind);
    schemas.set(kind, schema);
  }
  return schema;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields the schema does not define, which kube-apiserver drops (and kubectl's strict validation rejects). */
function unknownFields(schema: SchemaNode, value: unknown, path: readonly (string | number)[], found: FieldError[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (Array.isArray(value) && schema.items !== undefined) {
    value.forEach((item, index) => unknownFields(schema.items as SchemaNode, item, [...path, index], found));
    return;
  }
  if (!isObject(value)) return;
  const additional = schema.additionalProperties;
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? (typeof additional === 'object' ? additional : undefined);
    if (childSchema === undefined) found.push({ field: fieldPath([...path, key]), type: 'UnknownField', detail: UNKNOWN_FIELD_DETAIL });
    else unknownFields(childSchema, child, [...path, key], found);
  }
}

/** Paths of string maps (kube style) under `schema`, whose keys print in brackets. */
function mapPaths(schema: SchemaNode, path: string, into: Set<string>): Set<string> {
  if (typeof schema.additionalProperties === 'object') into.add(path);
  for (const [name, child] of Object.entries(schema.properties ?? {})) mapPaths(child, path === '' ? name : `${path}.${name}`, into);
  if (schema.items !== undefined) mapPaths(schema.items, `${path}[]`, into);
  return into;
}


/**
 * Checks one parsed YAML/JSON document: its apiVersion and kind, unknown fields, and the kind's zod schema
 * (types, bounds, defaults and the rules the CRD enforces with CEL). Null fields read as absent, as
 * kube-apiserver reads them ({@link withoutNullFields}).
 *
 * Guarantees: never throws on any input; objects of other API groups come back `skipped`, not invalid.
 */
export function validateObject(document: unknown): ObjectValidation {
  if (!isObject(document)) return { errors: [{ field: '', type: 'Invalid', value: renderValue(document), detail: 'a manifest must be an object' }] };
  const { apiVersion, kind } = document;
  const metadata = isObject(document['metadata']) ? document['metadata'] : {};
  const identity = {
    ...(typeof kind === 'string' ? { kind } : {}),
    ...(typeof metadata['name'] === 'string' ? { name: metadata['name'] } : {}),
    ...(typeof metadata['namespace'] === 'string' ? { namespace: metadata['namespace'] } : {}),
  };
  if (apiVersion === undefined || kind === undefined) {
    const errors: FieldError[] = [];
    if (apiVersion === undefined) errors.push({ field: 'apiVersion', type: 'Required' });
    if (kind === undefined) errors.push({ field: 'kind', type: 'Required' });
    return { ...identity, errors };
  }
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${API_GROUP}/`)) {
    return { ...identity, skipped: `${String(apiVersion)} is not ${API_GROUP}`, errors: [] };
  }
  if (apiVersion !== GROUP_VERSION) {
    return { ...identity, errors: [{ field: 'apiVersion', type: 'NotSupported', value: renderValue(apiVersion), detail: `supported values: ${JSON.stringify(GROUP_VERSION)}` }] };
  }
  const definition = findKind(apiVersion, kind);
  if (definition === undefined) {
    const supported = KINDS.map((candidate) => JSON.stringify(candidate.names.kind)).join(', ');
    return { ...identity, errors: [{ field: 'kind', type: 'NotSupported', value: renderValue(kind), detail: `supported values: ${supported}` }] };
  }

  const errors: FieldError[] = [];
  for (const key of Object.keys(document)) {
    if (!TOP_LEVEL_FIELDS.has(key)) errors.push({ field: key, type: 'UnknownField', detail: UNKNOWN_FIELD_DETAIL });
  }
  const schema = schemaOf(definition);
  for (const part of ['spec', 'status'] as const) {
    const partSchema = schema.properties?.[part];
    if (partSchema !== undefined && document[part] !== undefined) unknownFields(partSchema, document[part], [part], errors);
  }
  const maps = mapPaths(schema, '', new Set<string>(METADATA_MAP_PATHS));
  // Field paths carry list indexes (`spec.checks[0].annotations`) where schema paths carry `[]`.
  const isMapPath = (path: string): boolean => maps.has(path.replace(/\[\d+\]/g, '[]'));
  const result = definition.objectSchema.safeParse(withoutNullFields(document), { reportInput: true });
  if (!result.success) errors.push(...fieldErrorsFromZod(result.error.issues, isMapPath));
  return { ...identity, errors };
}
