// Canonical JSON (object keys sorted, no whitespace): the byte-stable form that audit hashes are computed over.

/**
 * Serializes a JSON value with object keys in code-point order at every depth, so equal values always
 * give equal text. Properties whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * Errors: throws `TypeError` for values JSON cannot represent (non-finite numbers, bigints, functions).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot represent ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot represent a ${typeof value}`);
}
