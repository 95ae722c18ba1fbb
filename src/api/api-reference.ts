// Renders the API reference (docs/API.md) from the same structural schemas the CRDs carry.
import { openApiSchemaOf } from './crd.ts';
import { API_CATEGORY, API_GROUP, API_VERSION, GROUP_VERSION } from './group-version.ts';
import type { KindDefinition } from './kind-definition.ts';
import type { SchemaNode } from './structural-schema.ts';

interface FieldRow {
  readonly path: string;
  readonly node: SchemaNode;
  readonly required: boolean;
}

interface RuleRow {
  readonly path: string;
  readonly rule: string;
  readonly message: string;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${cell(text)}\``;
}

function typeOf(node: SchemaNode): string {
  if (node.type === 'array') return `[]${node.items === undefined ? 'unknown' : typeOf(node.items)}`;
  if (node.type === 'object' && typeof node.additionalProperties === 'object') return `map[string]${typeOf(node.additionalProperties)}`;
  if (node.format === 'date-time') return 'string (date-time)';
  return node.type ?? 'unknown';
}

function constraintsOf(node: SchemaNode): string {
  const parts: string[] = [];
  if (node.enum !== undefined) parts.push(`one of ${node.enum.map((value) => code(String(value))).join(', ')}`);
  const range = (min: unknown, max: unknown, unit: string): void => {
    if (min !== undefined && max !== undefined) parts.push(`${String(min)}–${String(max)}${unit}`);
    else if (min !== undefined) parts.push(`≥ ${String(min)}${unit}`);
    else if (max !== undefined) parts.push(`≤ ${String(max)}${unit}`);
  };
  if (node.type === 'integer' || node.type === 'number') range(node['minimum'], node['maximum'], '');
  if (node.type === 'string') range(node['minLength'], node['maxLength'], ' characters');
  if (node.type === 'array') range(node['minItems'], node['maxItems'], ' items');
  if (node['maxProperties'] !== undefined) parts.push(`≤ ${String(node['maxProperties'])} entries`);
  if (typeof node['pattern'] === 'string') parts.push(`matches ${code(node['pattern'])}`);
  const keys = node['x-kubernetes-list-map-keys'];
  if (Array.isArray(keys)) parts.push(`unique by ${keys.map((key) => code(String(key))).join(', ')}`);
  if (node['x-kubernetes-preserve-unknown-fields'] === true) parts.push('any fields');
  return parts.join('; ');
}

function collect(node: SchemaNode, path: string, required: boolean, rows: FieldRow[], rules: RuleRow[]): void {
  rows.push({ path, node, required });
  for (const { rule, message, fieldPath } of (node['x-kubernetes-validations'] as { rule: string; message: string; fieldPath?: string }[] | undefined) ?? []) {
    rules.push({ path: `${path}${fieldPath ?? ''}`, rule, message });
  }
  const object = node.type === 'array' ? node.items : node;
  if (object === undefined) return;
  const prefix = node.type === 'array' ? `${path}[]` : path;
  for (const [name, child] of Object.entries(object.properties ?? {})) {
    collect(child, `${prefix}.${name}`, object.required?.includes(name) ?? false, rows, rules);
  }
}

function fieldTable(rows: readonly FieldRow[]): string[] {
  const lines = ['| Field | Type | Required | Default | Constraints | Description |', '|---|---|---|---|---|---|'];
  for (const { path, node, required } of rows) {
    const fallback = node.default === undefined ? '' : code(JSON.stringify(node.default));
    lines.push(`| ${code(path)} | ${cell(typeOf(node))} | ${required ? 'yes' : ''} | ${fallback} | ${constraintsOf(node)} | ${cell(node.description ?? '')} |`);
  }
  return lines;
}

function kindSection(kind: KindDefinition): string[] {
  const schema = openApiSchemaOf(kind);
  const { names } = kind;
  const lines = [
    `## ${names.kind}`,
    '',
    kind.description,
    '',
    `\`apiVersion: ${GROUP_VERSION}\`, \`kind: ${names.kind}\`; resource \`${names.plural}.${API_GROUP}\`, short names ${names.shortNames.map(code).join(', ')}.`,
    '',
    '### `kubectl get` columns',
    '',
    '| Column | JSONPath | Meaning |',
    '|---|---|---|',
    ...kind.printerColumns.map((column) => `| ${column.name} | ${code(column.jsonPath)} | ${cell(column.description)} |`),
    '',
  ];
  for (const part of ['spec', 'status'] as const) {
    const node = schema.properties?.[part];
    if (node === undefined) continue;
    const rows: FieldRow[] = [];
    const rules: RuleRow[] = [];
    collect(node, part, part === 'spec', rows, rules);
    lines.push(`### ${part}`, '', ...fieldTable(rows), '');
    if (rules.length > 0) {
      lines.push(`### Rules across fields of ${part}`, '', 'Checked by kube-apiserver (CEL) and by `blackroad-operator validate` (zod).', '');
      lines.push('| Field | Rule (CEL) | Message |', '|---|---|---|');
      for (const rule of rules) lines.push(`| ${code(rule.path)} | ${code(rule.rule)} | ${cell(rule.message)} |`);
      lines.push('');
    }
  }
  return lines;
}

/** The whole API reference as Markdown; deterministic, so a test can tell when the committed copy is stale. */
export function renderApiReference(kinds: readonly KindDefinition[]): string {
  return [
    '# API reference',
    '',
    '<!-- Generated from the zod schemas in src/api/ by `npm run docs:api`; do not edit. -->',
    '',
    `Group \`${API_GROUP}\`, version \`${API_VERSION}\`. Every kind is namespaced, has a status subresource and belongs to the category \`${API_CATEGORY}\` (\`kubectl get ${API_CATEGORY}\`). Secrets are only ever named (\`secretRef: {name, key}\`), never written in a spec.`,
    '',
    'Check manifests offline with `blackroad-operator validate -f FILE`; print the CRDs with `blackroad-operator crds`.',
    '',
    ...kinds.flatMap(kindSection),
  ].join('\n');
}
