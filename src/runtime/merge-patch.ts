// JSON merge patches (RFC 7386) computed as the difference of two documents, and JSON deep equality.

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
