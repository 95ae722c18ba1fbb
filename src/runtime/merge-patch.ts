// JSON merge patches (RFC 7386) computed as the difference of two documents, JSON deep equality and deep copies.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values (key order ignored; `undefined` members count as absent). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => jsonEqual(a[key], b[key]));
  }
  return false;
}

/**
 * The merge patch that turns `before` into `after`, or `undefined` when they are equal. Members removed in
 * `after` become `null`; arrays and scalars are replaced whole (merge patches cannot edit arrays).
 */
export function mergePatchDiff(before: unknown, after: unknown): Json | undefined {
  if (!isPlainObject(before) || !isPlainObject(after)) return jsonEqual(before, after) ? undefined : ((after ?? null) as Json);
  const patch: Record<string, Json> = {};
  for (const [key, value] of Object.entries(after)) {
    if (value === undefined) continue;
    const previous = before[key];
    if (previous === undefined) {
      patch[key] = value as Json;
      continue;
    }
    const change = mergePatchDiff(previous, value);
    if (change !== undefined) patch[key] = change;
  }
  for (const [key, value] of Object.entries(before)) {
    if (value !== undefined && value !== null && (after[key] === undefined || after[key] === null)) patch[key] = null;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/**
 * A deep copy of a JSON document (what the API server sends): plain objects and arrays are copied member by
 * member, other objects by `structuredClone`. Several times cheaper than `structuredClone` on the small documents
 * a status is, and it runs for every reconcile that writes one.
 */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? structuredClone(value) : value;
  if (Array.isArray(value)) return value.map((item: unknown) => cloneJson(item)) as T;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = cloneJson((value as Record<string, unknown>)[key]);
    // A `__proto__` member (JSON.parse makes it an own property) must stay a member, not become the prototype.
    if (key === '__proto__') Object.defineProperty(copy, key, { value: member, enumerable: true, writable: true, configurable: true });
    else copy[key] = member;
  }
  return copy as T;
}
