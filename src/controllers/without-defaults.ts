// A spec with every field that holds its schema's default left out (a form that fields added later with a default do not change), and the short hash run labels take of it.
import { createHash } from 'node:crypto';
import type { SchemaNode } from '../api/structural-schema.ts';
import { canonicalJson } from '../events/canonical-json.ts';
import { jsonEqual } from '../runtime/merge-patch.ts';

/**
 * `value` (a spec as parsed, defaults applied) without the fields that hold their default under `schema` (its
 * {@link structuralSchema}), at every depth; an object whose fields all went that way is left out too when an
 * empty object is its own default (`rollback: {}` fills in `enabled` and `onDelete`).
 *
 * Guarantees: a field a later schema adds with a default, a field the API server's defaulting filled in, and a
 * field written out with its default value all leave the result unchanged; any value other than the default
 * stays. Fields the schema does not describe, and array items without an item schema, are kept as they are.
 */
export function withoutDefaults(value: unknown, schema: SchemaNode): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items === undefined ? value : value.map((item: unknown) => withoutDefaults(item, items));
  }
  const properties = schema.properties;
  if (typeof value !== 'object' || value === null || properties === undefined) return value;
  const kept: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    const node = properties[name];
    const canonical = node === undefined ? field : withoutDefaults(field, node);
    if (node?.default !== undefined && jsonEqual(canonical, withoutDefaults(node.default, node))) continue;
    kept[name] = canonical;
  }
  return kept;
}

/** How many hex digits of the hash a run label keeps. */
const RUN_HASH_LENGTH = 10;

/** The hash a run label holds of `value` (the work of a run): the start of the SHA-256 of its canonical JSON. */
export function runHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex').slice(0, RUN_HASH_LENGTH);
}
