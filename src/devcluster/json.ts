// JSON value types and the few structural operations the server applies to stored objects.

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** Whether a value is a JSON object (not null, not an array). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values; identical references short-circuit, so structurally shared trees compare fast. */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  if (aKeys.length !== Object.keys(b).length) return false;
  for (const key of aKeys) {
    if (!Object.hasOwn(b, key) || !jsonEqual(a[key], b[key])) return false;
  }
  return true;
}

/** A deep copy of a JSON value (used where a value is about to be mutated and may be shared). */
export function jsonClone<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** The object at `obj[key]`, or undefined when absent or not an object. */
export function child(obj: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = obj?.[key];
  return isObject(value) ? value : undefined;
}

/** The string at `obj[key]`, or undefined. */
export function stringAt(obj: JsonObject | undefined, key: string): string | undefined {
  const value = obj?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** Reads a dotted path (`spec.template.metadata`) from an object. */
export function valueAtPath(obj: Json | undefined, path: readonly string[]): Json | undefined {
  let current: Json | undefined = obj;
  for (const segment of path) {
    if (!isObject(current)) return undefined;
    current = current[segment];
  }
  return current;
}

/** Sets `obj.metadata` to a fresh object when missing and returns it. */
export function metadataOf(obj: JsonObject): JsonObject {
  const existing = obj['metadata'];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  obj['metadata'] = created;
  return created;
}

/** `labels` / `annotations` style string maps; non-string values are dropped. */
export function stringMap(value: Json | undefined): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}
