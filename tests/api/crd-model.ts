// A small model of how kube-apiserver admits a custom resource against its CRD schema: defaulting, OpenAPI value
// validation, list-map keys and the CEL rules (evaluated with a real CEL interpreter). Tests use it to prove the
// generated CRD enforces what zod enforces, without a cluster.
import { evaluate } from '@marcbachmann/cel-js';
import type { SchemaNode } from '../../src/api/structural-schema.ts';

export interface CrdError {
  readonly field: string;
  readonly message: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Applies schema defaults top-down, as the API server does before validation (a defaulted parent gets its children's defaults). */
export function applyDefaults(schema: SchemaNode, value: unknown): unknown {
  if (Array.isArray(value)) return schema.items === undefined ? value : value.map((item) => applyDefaults(schema.items as SchemaNode, item));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applyDefaults(child, out[name]);
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const [key, item] of Object.entries(out)) out[key] = applyDefaults(schema.additionalProperties, item);
  }
  return out;
}

/** Drops fields the schema does not know, as the API server's pruning does. */
export function prune(schema: SchemaNode, value: unknown): unknown {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return value;
  if (Array.isArray(value)) return schema.items === undefined ? value : value.map((item) => prune(schema.items as SchemaNode, item));
  if (!isObject(value)) return value;
  if (typeof schema.additionalProperties === 'object') {
    const additional = schema.additionalProperties;
    return Object.fromEntries(Object.entries(value).flatMap(([key, item]) => (item === null && additional['nullable'] !== true ? [] : [[key, prune(additional, item)]])));
  }
  // A null field that is not nullable is dropped, so a default applies where there is one (kube-apiserver's CRD defaulting).
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, item]) => {
      const child = schema.properties?.[key];
      return child === undefined || (item === null && child['nullable'] !== true) ? [] : [[key, prune(child, item)]];
    }),
  );
}

/** The value as CEL sees it: integers are CEL ints (bigint), everything else as JSON decodes it. */
function toCel(schema: SchemaNode, value: unknown): unknown {
  if (schema.type === 'integer' && typeof value === 'number') return BigInt(value);
  if (Array.isArray(value)) return value.map((item) => (schema.items === undefined ? item : toCel(schema.items, item)));
  if (!isObject(value)) return value;
  const additional = schema.additionalProperties;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      const child = schema.properties?.[key] ?? (typeof additional === 'object' ? additional : undefined);
      return [key, child === undefined ? item : toCel(child, item)];
    }),
  );
}

function typeMatches(type: string | undefined, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function validateNode(schema: SchemaNode, value: unknown, path: string, errors: CrdError[]): void {
  const before = errors.length;
  const fail = (message: string, field = path): void => {
    errors.push({ field, message });
  };
  if (!typeMatches(schema.type, value)) {
    fail(`must be of type ${schema.type ?? '?'}`);
    return;
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) fail('unsupported value');
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) fail(`should be greater than or equal to ${schema['minimum']}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) fail(`should be less than or equal to ${schema['maximum']}`);
  }
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) fail('too short');
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength']) fail('too long');
    if (typeof schema['pattern'] === 'string' && !new RegExp(schema['pattern'], 'u').test(value)) fail(`should match '${schema['pattern']}'`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) fail('must be of type date-time');
  }
  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) fail('too few items');
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) fail('too many items');
    const keys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
    if (schema['x-kubernetes-list-type'] === 'map' && keys !== undefined) {
      const seen = new Set<string>();
      value.forEach((item, index) => {
        const identity = JSON.stringify(keys.map((key) => (isObject(item) ? item[key] : undefined)));
        if (seen.has(identity)) fail('duplicate value', `${path}[${index}]`);
        seen.add(identity);
      });
    }
    if (schema.items !== undefined) value.forEach((item, index) => validateNode(schema.items as SchemaNode, item, `${path}[${index}]`, errors));
  }
  if (isObject(value)) {
    for (const name of schema.required ?? []) if (value[name] === undefined) fail('Required value', `${path}.${name}`);
    if (typeof schema['maxProperties'] === 'number' && Object.keys(value).length > schema['maxProperties']) fail('too many properties');
    for (const [key, item] of Object.entries(value)) {
      const child = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (child !== undefined) validateNode(child, item, `${path}.${key}`, errors);
    }
  }
  // CEL rules run on a node whose own value passed the schema, as the API server skips them on invalid objects.
  if (errors.length > before) return;
  const rules = (schema['x-kubernetes-validations'] as { rule: string; message: string; fieldPath?: string }[] | undefined) ?? [];
  for (const { rule, message, fieldPath } of rules) {
    const self = toCel(schema, value);
    if (evaluate(rule, { self }) !== true) fail(message, `${path}${fieldPath ?? ''}`);
  }
}

/**
 * Admits `value` (a spec or status) against the CRD schema node `schema`: prunes unknown fields, applies
 * defaults, validates. Returns the errors and the stored object.
 */
export function admit(schema: SchemaNode, value: unknown, path: string): { errors: CrdError[]; stored: unknown } {
  const stored = applyDefaults(schema, prune(schema, value));
  const errors: CrdError[] = [];
  validateNode(schema, stored, path, errors);
  return { errors, stored };
}
