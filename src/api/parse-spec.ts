// A spec read as kube-apiserver admits it (null fields absent), parsed by its kind's zod schema, with kube-style errors.
import type { z } from 'zod';
import { fieldErrorsFromZod, type FieldError } from './field-error.ts';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of `value` without the object members whose value is null, at any depth; list items are kept.
 *
 * kube-apiserver reads a custom resource so before it defaults and validates it: a null field that is not
 * `nullable` gets its default when it has one and is pruned when not (its CRD defaulting), and no field of
 * this API is nullable. So `concurrency: ~` is the default concurrency, `schedule: ~` no schedule, and a
 * required field set to null is missing. A null list item is not a field and stays (the wrong type).
 */
export function withoutNullFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullFields);
  if (!isObject(value)) return value;
  const kept: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) if (member !== null) kept[key] = withoutNullFields(member);
  return kept;
}

/** What {@link parseSpec} finds: the spec with its defaults, or kube-style errors whose fields start with `spec`. */
export type SpecParse<T> = { readonly success: true; readonly spec: T } | { readonly success: false; readonly errors: readonly FieldError[] };

/**
 * Parses an object's `spec` with `schema` as the API server would admit it: null fields read as absent, defaults
 * filled in. Errors name each field from the object's root (`spec.checks[0].image`) and show the value refused.
 */
export function parseSpec<S extends z.ZodType>(schema: S, spec: unknown): SpecParse<z.output<S>> {
  const parsed = schema.safeParse(withoutNullFields(spec), { reportInput: true });
  if (parsed.success) return { success: true, spec: parsed.data };
  return { success: false, errors: fieldErrorsFromZod(parsed.error.issues.map((issue) => ({ ...issue, path: ['spec', ...issue.path] }))) };
}
