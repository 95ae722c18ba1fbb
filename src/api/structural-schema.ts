// Turns a zod schema into a structural OpenAPI v3 schema for a CRD, and lists what would make kube-apiserver refuse one.
import { z } from 'zod';

/** A node of an OpenAPI v3 schema, as a CRD's openAPIV3Schema holds it. */
export interface SchemaNode {
  type?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  [keyword: string]: unknown;
}

/** Keywords in the order they are written, so generated YAML reads the same every time. */
const KEYWORD_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
] as const;

const ALLOWED_KEYWORDS: ReadonlySet<string> = new Set(KEYWORD_ORDER);
const TYPES: ReadonlySet<string> = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

function sortKeywords(node: Record<string, unknown>): SchemaNode {
  const sorted: Record<string, unknown> = {};
  for (const keyword of KEYWORD_ORDER) if (node[keyword] !== undefined) sorted[keyword] = node[keyword];
  for (const [keyword, value] of Object.entries(node)) if (!(keyword in sorted)) sorted[keyword] = value;
  return sorted as SchemaNode;
}

/** Rewrites what zod emits into what a structural schema allows, recursively. */
function normalize(raw: Record<string, unknown>): SchemaNode {
  const node: Record<string, unknown> = { ...raw };
  delete node['$schema'];
  // A date-time carries zod's own regex; kube-apiserver checks the format itself.
  if (node['format'] === 'date-time') delete node['pattern'];
  // JavaScript's RegExp#source escapes '/'; RE2 and JavaScript both read a bare '/' the same way.
  if (typeof node['pattern'] === 'string') node['pattern'] = node['pattern'].replace(/(?<!\\)\\\//g, '/');
  // Map keys are checked by zod only: propertyNames is not part of a CRD schema.
  delete node['propertyNames'];
  // Objects are closed by pruning in a CRD; `additionalProperties: false` is refused next to properties.
  if (node['additionalProperties'] === false) delete node['additionalProperties'];
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    delete node['additionalProperties'];
    delete node['properties'];
  }
  const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
  if (properties !== undefined) {
    node['properties'] = Object.fromEntries(Object.entries(properties).map(([name, child]) => [name, normalize(child)]));
  }
  const additional = node['additionalProperties'];
  if (typeof additional === 'object' && additional !== null) node['additionalProperties'] = normalize(additional as Record<string, unknown>);
  const items = node['items'];
  if (typeof items === 'object' && items !== null && !Array.isArray(items)) node['items'] = normalize(items as Record<string, unknown>);
  return sortKeywords(node);
}

/**
 * The OpenAPI v3 schema of `schema` as kube-apiserver reads it: the input side (fields with defaults are
 * optional and carry `default`), every node inlined, CEL rules and list types from zod metadata.
 *
 * Guarantees: throws when zod cannot represent a part of the schema, rather than emitting a looser one.
 */
export function structuralSchema(schema: z.ZodType): SchemaNode {
  const raw = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', reused: 'inline', cycles: 'throw', unrepresentable: 'throw' });
  return normalize(raw as Record<string, unknown>);
}

/** One reason kube-apiserver would refuse or mistreat a schema, at a path like `spec.checks[].image`. */
export interface StructuralProblem {
  readonly path: string;
  readonly problem: string;
}

export interface StructuralCheckOptions {
  /** Path of `root` in the object, e.g. `spec`; problems are reported under it. */
  readonly path?: string;
  /** Paths allowed to carry `x-kubernetes-preserve-unknown-fields: true`. */
  readonly preserveUnknownFieldsAt?: readonly string[];
}

/**
 * Lists what breaks the structural-schema rules of apiextensions.k8s.io/v1, and the house rules on top:
 * every property described, every string, list and map bounded (CEL cost budget, etcd size), no keyword
 * outside a known set (no `$ref`, `anyOf`, `nullable`, `uniqueItems`, ...).
 */
export function structuralProblems(root: SchemaNode, options: StructuralCheckOptions = {}): StructuralProblem[] {
  const problems: StructuralProblem[] = [];
  const preserveAt = new Set(options.preserveUnknownFieldsAt ?? []);
  const report = (path: string, problem: string): void => {
    problems.push({ path: path === '' ? '<root>' : path, problem });
  };

  const visit = (node: SchemaNode, path: string, isProperty: boolean): void => {
    for (const keyword of Object.keys(node)) if (!ALLOWED_KEYWORDS.has(keyword)) report(path, `keyword ${keyword} is not allowed`);
    if (node.type === undefined || !TYPES.has(node.type)) report(path, 'has no type');
    if (isProperty && (node.description === undefined || node.description.trim() === '')) report(path, 'has no description');
    const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
    if (preserve && !preserveAt.has(path)) report(path, 'keeps unknown fields but is not listed as allowed to');
    switch (node.type) {
      case 'string':
        if (node.enum === undefined && node['maxLength'] === undefined) report(path, 'string without maxLength or enum');
        break;
      case 'array':
        if (node.items === undefined) report(path, 'array without items');
        if (node['maxItems'] === undefined) report(path, 'array without maxItems');
        if (node.items !== undefined) visit(node.items, `${path}[]`, false);
        if (node['x-kubernetes-list-type'] === 'map') {
          const keys = (node['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
          if (keys.length === 0) report(path, 'list map without keys');
          for (const key of keys) {
            const required = node.items?.required ?? [];
            if (!required.includes(key) && node.items?.properties?.[key]?.default === undefined) report(path, `list map key ${key} is neither required nor defaulted`);
          }
        }
        break;
      case 'object': {
        const additional = node.additionalProperties;
        if (typeof additional === 'boolean') report(path, 'additionalProperties must be a schema');
        if (node.properties !== undefined && additional !== undefined) report(path, 'properties and additionalProperties are mutually exclusive');
        if (node.properties === undefined && additional === undefined && !preserve) report(path, 'object without properties or additionalProperties');
        if (typeof additional === 'object') {
          if (node['maxProperties'] === undefined) report(path, 'map without maxProperties');
          visit(additional, `${path}[*]`, false);
        }
        for (const name of node.required ?? []) if (node.properties?.[name] === undefined) report(path, `required property ${name} is not defined`);
        for (const [name, child] of Object.entries(node.properties ?? {})) visit(child, path === '' ? name : `${path}.${name}`, true);
        break;
      }
    }
    for (const [index, rule] of ((node['x-kubernetes-validations'] as { rule?: string; message?: string }[] | undefined) ?? []).entries()) {
      if (typeof rule.rule !== 'string' || rule.rule.trim() === '') report(path, `validation rule ${index} has no rule`);
      if (typeof rule.message !== 'string' || rule.message.trim() === '' || /[\r\n]/.test(rule.message)) report(path, `validation rule ${index} needs a one-line message`);
    }
  };

  visit(root, options.path ?? '', options.path !== undefined);
  return problems;
}
