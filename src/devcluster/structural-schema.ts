// A CRD version's structural schema, compiled once: pruning, defaulting, validation and CEL rules, in kube-apiserver's order.
import { compileRules, evaluateRule, toCelValue, type CompiledRule } from './cel-rules.ts';
import { isObject, jsonClone, jsonEqual, type Json, type JsonObject } from './json.ts';
import { fieldErrors, type FieldError } from './status-error.ts';

interface SchemaNode {
  readonly raw: JsonObject;
  readonly type: string | undefined;
  readonly properties: Map<string, SchemaNode> | undefined;
  readonly additional: SchemaNode | undefined;
  readonly items: SchemaNode | undefined;
  readonly preserveUnknown: boolean;
  readonly embedded: boolean;
  readonly intOrString: boolean;
  readonly nullable: boolean;
  readonly rules: CompiledRule[];
  readonly oneOf: SchemaNode[];
  readonly anyOf: SchemaNode[];
  readonly allOf: SchemaNode[];
  readonly not: SchemaNode | undefined;
  readonly pattern: RegExp | undefined;
  readonly listMapKeys: readonly string[] | undefined;
  readonly listSet: boolean;
}

function compileNode(raw: JsonObject, rulePath: string, ruleErrors: { path: string; rule: string; message: string }[]): SchemaNode {
  const properties = isObject(raw['properties'])
    ? new Map(Object.entries(raw['properties']).filter((entry): entry is [string, JsonObject] => isObject(entry[1])).map(([key, value]) => [key, compileNode(value, `${rulePath}.properties[${key}]`, ruleErrors)]))
    : undefined;
  let rules: CompiledRule[] = [];
  try {
    rules = compileRules(raw['x-kubernetes-validations']);
  } catch (error) {
    const validations = Array.isArray(raw['x-kubernetes-validations']) ? raw['x-kubernetes-validations'] : [];
    ruleErrors.push({ path: `${rulePath}.x-kubernetes-validations[0].rule`, rule: String(isObject(validations[0]) ? validations[0]['rule'] : ''), message: error instanceof Error ? error.message : String(error) });
  }
  const sub = (key: string): SchemaNode[] => (Array.isArray(raw[key]) ? raw[key].filter(isObject).map((value, index) => compileNode(value, `${rulePath}.${key}[${index}]`, ruleErrors)) : []);
  const listType = raw['x-kubernetes-list-type'];
  let pattern: RegExp | undefined;
  if (typeof raw['pattern'] === 'string') {
    try {
      pattern = new RegExp(raw['pattern'], 'u');
    } catch {
      pattern = undefined;
    }
  }
  return {
    raw,
    type: typeof raw['type'] === 'string' ? raw['type'] : undefined,
    properties,
    additional: isObject(raw['additionalProperties']) ? compileNode(raw['additionalProperties'], `${rulePath}.additionalProperties`, ruleErrors) : undefined,
    items: isObject(raw['items']) ? compileNode(raw['items'], `${rulePath}.items`, ruleErrors) : undefined,
    preserveUnknown: raw['x-kubernetes-preserve-unknown-fields'] === true,
    embedded: raw['x-kubernetes-embedded-resource'] === true,
    intOrString: raw['x-kubernetes-int-or-string'] === true,
    nullable: raw['nullable'] === true,
    rules,
    oneOf: sub('oneOf'),
    anyOf: sub('anyOf'),
    allOf: sub('allOf'),
    not: isObject(raw['not']) ? compileNode(raw['not'], `${rulePath}.not`, ruleErrors) : undefined,
    pattern,
    listMapKeys: listType === 'map' && Array.isArray(raw['x-kubernetes-list-map-keys']) ? raw['x-kubernetes-list-map-keys'].map(String) : undefined,
    listSet: listType === 'set',
  };
}

function hasRules(node: SchemaNode | undefined): boolean {
  if (node === undefined) return false;
  if (node.rules.length > 0) return true;
  for (const value of node.properties?.values() ?? []) if (hasRules(value)) return true;
  return hasRules(node.additional) || hasRules(node.items);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function typeName(value: Json | undefined): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function celTypeName(value: Json | undefined, node: SchemaNode): string {
  return node.type ?? typeName(value);
}

function shownValue(value: Json | undefined): unknown {
  return isObject(value) ? 'object' : Array.isArray(value) ? 'array' : value;
}

/** Errors found by the compile step (CEL rules that do not compile), with their schema paths. */
export interface SchemaCompileError {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

/**
 * A compiled structural schema. Guarantees: `prune` and `applyDefaults` only add or remove fields that
 * the schema decides about; `validate` never mutates.
 */
export class StructuralSchema {
  readonly #root: SchemaNode;
  readonly hasRules: boolean;
  readonly compileErrors: readonly SchemaCompileError[];

  constructor(openAPIV3Schema: JsonObject, basePath = 'openAPIV3Schema') {
    const errors: SchemaCompileError[] = [];
    this.#root = compileNode(openAPIV3Schema, basePath, errors);
    this.compileErrors = errors;
    this.hasRules = hasRules(this.#root);
  }

  /**
   * Drops fields the schema does not know; returns their paths (`spec.bogus`). apiVersion, kind and metadata
   * are kept. With `only`, just that top-level field is pruned (status writes: the rest is already stored).
   */
  prune(obj: JsonObject, only?: string): string[] {
    const unknown: string[] = [];
    if (only === undefined) this.#pruneObject(obj, this.#root, '', unknown, true);
    else {
      const schema = this.#root.properties?.get(only);
      if (schema !== undefined && obj[only] !== undefined) this.#pruneValue(obj[only], schema, only, unknown);
    }
    return unknown.sort();
  }

  #pruneObject(obj: JsonObject, node: SchemaNode, path: string, unknown: string[], root: boolean): void {
    for (const key of Object.keys(obj)) {
      if ((root || node.embedded) && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
      const property = node.properties?.get(key);
      const schema = property ?? node.additional;
      const value = obj[key];
      if (schema === undefined) {
        if (node.preserveUnknown || node.raw['additionalProperties'] === true) continue;
        unknown.push(join(path, key));
        delete obj[key];
        continue;
      }
      // A null that is not nullable reads as absent (kube-apiserver's PruneNonNullableNullsWithoutDefaults, then
      // defaulting): it gets the field's default when there is one, and is gone otherwise.
      if (value === null && !schema.nullable) {
        delete obj[key];
        continue;
      }
      this.#pruneValue(value, schema, join(path, key), unknown);
    }
  }

  #pruneValue(value: Json | undefined, node: SchemaNode, path: string, unknown: string[]): void {
    if (isObject(value)) {
      if (node.properties !== undefined || node.additional !== undefined || !node.preserveUnknown) {
        if (node.properties === undefined && node.additional === undefined && (node.preserveUnknown || node.type !== 'object')) return;
        this.#pruneObject(value, node, path, unknown, false);
      }
    } else if (Array.isArray(value) && node.items !== undefined) {
      value.forEach((item, index) => this.#pruneValue(item, node.items as SchemaNode, `${path}[${index}]`, unknown));
    }
  }

  /** Fills `default`s of absent fields, recursively (defaults themselves get defaulted inside); `only` as for prune. */
  applyDefaults(obj: JsonObject, only?: string): void {
    if (only === undefined) this.#defaultValue(obj, this.#root);
    else {
      const schema = this.#root.properties?.get(only);
      if (schema !== undefined && obj[only] !== undefined) this.#defaultValue(obj[only], schema);
    }
  }

  #defaultValue(value: Json | undefined, node: SchemaNode): void {
    if (isObject(value)) {
      if (node.properties !== undefined) {
        for (const [key, property] of node.properties) {
          if (value[key] === undefined && property.raw['default'] !== undefined) value[key] = jsonClone(property.raw['default']);
          if (value[key] !== undefined) this.#defaultValue(value[key], property);
        }
      }
      if (node.additional !== undefined) for (const key of Object.keys(value)) if (node.properties?.has(key) !== true) this.#defaultValue(value[key], node.additional);
    } else if (Array.isArray(value) && node.items !== undefined) {
      for (const item of value) this.#defaultValue(item, node.items);
    }
  }

  /** Schema errors, then (when none blocks) CEL rule errors. `old` enables transition rules. */
  validate(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
    const errors: FieldError[] = [];
    this.#validateObject(obj, this.#root, '', errors, true);
    if (!this.hasRules) return errors;
    if (errors.some((error) => error.blocking === true)) {
      errors.push(fieldErrors.invalid('<nil>', 'null', 'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation'));
      return errors;
    }
    this.#evaluateRules(obj, old, this.#root, '', errors);
    return errors;
  }

  #validateObject(value: JsonObject, node: SchemaNode, path: string, errors: FieldError[], root: boolean): void {
    const required = node.raw['required'];
    if (Array.isArray(required)) for (const key of required) if (typeof key === 'string' && (value[key] === undefined || (value[key] === null && node.properties?.get(key)?.nullable !== true))) errors.push(fieldErrors.required(join(path, key)));
    const count = Object.keys(value).length;
    if (typeof node.raw['maxProperties'] === 'number' && count > node.raw['maxProperties']) errors.push(fieldErrors.tooMany(path || '<nil>', count, node.raw['maxProperties']));
    if (typeof node.raw['minProperties'] === 'number' && count < node.raw['minProperties']) errors.push(fieldErrors.invalid(path || '<nil>', count, `${path} in body should have at least ${node.raw['minProperties']} properties`));
    for (const [key, item] of Object.entries(value)) {
      if (root && (key === 'metadata' || key === 'apiVersion' || key === 'kind')) continue;
      const schema = node.properties?.get(key) ?? node.additional;
      if (schema !== undefined && item !== undefined) this.#validateValue(item, schema, node.properties?.has(key) === true ? join(path, key) : `${path}[${key}]`, errors);
    }
  }

  #validateValue(value: Json, node: SchemaNode, path: string, errors: FieldError[]): void {
    if (value === null) {
      if (!node.nullable && node.type !== undefined) errors.push(fieldErrors.typeInvalid(path, 'null', `${path} in body must be of type ${node.type}: "null"`));
      return;
    }
    const actual = typeName(value);
    if (node.intOrString) {
      if (actual !== 'integer' && actual !== 'string') errors.push(fieldErrors.typeInvalid(path, actual, `${path} in body must be of type integer or string: "${actual}"`));
    } else if (node.type !== undefined && !(node.type === actual || (node.type === 'number' && actual === 'integer'))) {
      errors.push(fieldErrors.typeInvalid(path, actual, `${path} in body must be of type ${node.type}: "${actual}"`));
      return;
    }
    const raw = node.raw;
    if (Array.isArray(raw['enum']) && !raw['enum'].some((allowed) => jsonEqual(allowed, value))) errors.push(fieldErrors.notSupported(path, value, raw['enum']));
    if (typeof value === 'number') this.#validateNumber(value, raw, path, errors);
    if (typeof value === 'string') {
      if (typeof raw['maxLength'] === 'number' && [...value].length > raw['maxLength']) errors.push(fieldErrors.tooLong(path, raw['maxLength']));
      if (typeof raw['minLength'] === 'number' && [...value].length < raw['minLength']) errors.push(fieldErrors.invalid(path, value, `${path} in body should be at least ${raw['minLength']} chars long`));
      if (node.pattern !== undefined && !node.pattern.test(value)) errors.push(fieldErrors.invalid(path, value, `${path} in body should match '${String(raw['pattern'])}'`));
      if (raw['format'] === 'date-time' && Number.isNaN(Date.parse(value))) errors.push(fieldErrors.invalid(path, value, `${path} in body must be of type date-time: ${JSON.stringify(value)}`));
    }
    if (Array.isArray(value)) this.#validateArray(value, node, path, errors);
    if (isObject(value)) this.#validateObject(value, node, path, errors, false);
    this.#validateCombinators(value, node, path, errors);
  }

  #validateNumber(value: number, raw: JsonObject, path: string, errors: FieldError[]): void {
    const minimum = raw['minimum'];
    const maximum = raw['maximum'];
    if (typeof minimum === 'number') {
      if (raw['exclusiveMinimum'] === true ? value <= minimum : value < minimum) errors.push(fieldErrors.invalid(path, value, `${path} in body should be greater than ${raw['exclusiveMinimum'] === true ? '' : 'or equal to '}${minimum}`));
    }
    if (typeof maximum === 'number') {
      if (raw['exclusiveMaximum'] === true ? value >= maximum : value > maximum) errors.push(fieldErrors.invalid(path, value, `${path} in body should be less than ${raw['exclusiveMaximum'] === true ? '' : 'or equal to '}${maximum}`));
    }
    if (typeof raw['multipleOf'] === 'number' && raw['multipleOf'] !== 0 && value % raw['multipleOf'] !== 0) errors.push(fieldErrors.invalid(path, value, `${path} in body should be a multiple of ${raw['multipleOf']}`));
  }

  #validateArray(value: Json[], node: SchemaNode, path: string, errors: FieldError[]): void {
    const raw = node.raw;
    if (typeof raw['maxItems'] === 'number' && value.length > raw['maxItems']) errors.push(fieldErrors.tooMany(path, value.length, raw['maxItems']));
    if (typeof raw['minItems'] === 'number' && value.length < raw['minItems']) errors.push(fieldErrors.invalid(path, value.length, `${path} in body should have at least ${raw['minItems']} items`));
    if (node.items !== undefined) value.forEach((item, index) => this.#validateValue(item, node.items as SchemaNode, `${path}[${index}]`, errors));
    if (node.listMapKeys !== undefined) {
      const seen = new Set<string>();
      value.forEach((item, index) => {
        if (!isObject(item)) return;
        const id = JSON.stringify((node.listMapKeys ?? []).map((key) => item[key] ?? null));
        if (seen.has(id)) errors.push(fieldErrors.duplicate(`${path}[${index}]`, Object.fromEntries((node.listMapKeys ?? []).map((key) => [key, item[key] ?? null]))));
        seen.add(id);
      });
    } else if (node.listSet || raw['uniqueItems'] === true) {
      value.forEach((item, index) => {
        if (value.findIndex((other) => jsonEqual(other, item)) !== index) errors.push(fieldErrors.duplicate(`${path}[${index}]`, item));
      });
    }
  }

  #validateCombinators(value: Json, node: SchemaNode, path: string, errors: FieldError[]): void {
    const passes = (sub: SchemaNode): boolean => {
      const subErrors: FieldError[] = [];
      this.#validateValue(value, sub, path, subErrors);
      return subErrors.length === 0;
    };
    const label = path === '' ? '<nil>' : path;
    for (const sub of node.allOf) this.#validateValue(value, sub, path, errors);
    if (node.oneOf.length > 0 && node.oneOf.filter(passes).length !== 1) errors.push(fieldErrors.invalid(label, shownValue(value), `${path} in body must validate one and only one schema (oneOf)`));
    if (node.anyOf.length > 0 && !node.anyOf.some(passes)) errors.push(fieldErrors.invalid(label, shownValue(value), `${path} in body must validate at least one schema (anyOf)`));
    if (node.not !== undefined && passes(node.not)) errors.push(fieldErrors.invalid(label, shownValue(value), `${path} in body should not validate the schema (not)`));
  }

  #evaluateRules(value: Json | undefined, old: Json | undefined, node: SchemaNode, path: string, errors: FieldError[]): void {
    if (value === undefined || value === null) return;
    if (node.rules.length > 0) {
      const self = toCelValue(value, node.raw);
      const oldSelf = old === undefined || old === null ? undefined : toCelValue(old, node.raw);
      for (const rule of node.rules) {
        if (rule.transition && oldSelf === undefined) continue;
        const message = evaluateRule(rule, self, rule.transition ? oldSelf : undefined);
        if (message === undefined) continue;
        const field = rule.fieldPath === undefined ? path || '<nil>' : join(path, rule.fieldPath.replace(/^\./, ''));
        const shown = celTypeName(value, node);
        if (rule.reason === 'FieldValueForbidden') errors.push(fieldErrors.forbidden(field, message));
        else if (rule.reason === 'FieldValueRequired') errors.push(fieldErrors.required(field, message));
        else errors.push(fieldErrors.invalid(field, shown, message));
      }
    }
    if (isObject(value)) {
      const oldObject = isObject(old) ? old : undefined;
      for (const [key, item] of Object.entries(value)) {
        if (path === '' && key === 'metadata') continue;
        const property = node.properties?.get(key);
        const schema = property ?? node.additional;
        if (schema !== undefined) this.#evaluateRules(item, oldObject?.[key], schema, property !== undefined ? join(path, key) : `${path}[${key}]`, errors);
      }
    } else if (Array.isArray(value) && node.items !== undefined) {
      const keys = node.listMapKeys;
      const oldList = Array.isArray(old) ? old : [];
      value.forEach((item, index) => {
        // Old values correlate only for list-type map items (by key) and sets; atomic lists have no oldSelf.
        const oldItem = keys !== undefined && isObject(item) ? oldList.find((candidate) => isObject(candidate) && keys.every((key) => jsonEqual(candidate[key], item[key]))) : node.listSet ? oldList.find((candidate) => jsonEqual(candidate, item)) : undefined;
        this.#evaluateRules(item, oldItem, node.items as SchemaNode, `${path}[${index}]`, errors);
      });
    }
  }
}
