// Strategic merge patch for built-in kinds: lists merged by key (containers by name, conditions by type) and `$patch` directives.
import { isObject, type Json, type JsonObject } from './json.ts';
import { StatusError } from './status-error.ts';

/**
 * Patch metadata of a field, as Go struct tags give it (`patchStrategy`, `patchMergeKey`). `fields`
 * describes an object's children, or a list's items.
 */
export interface PatchMeta {
  readonly strategy?: 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';
  readonly mergeKey?: string;
  readonly fields?: Readonly<Record<string, PatchMeta>>;
}

const SET_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';

function badPatch(message: string): StatusError {
  return new StatusError(400, 'BadRequest', message);
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.filter((item) => !(isObject(item) && item['$patch'] === 'delete')).map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    if (v === null) continue;
    out[key] = stripDirectives(v);
  }
  return out;
}

function mergeList(original: Json[], patch: Json[], meta: PatchMeta): Json[] {
  const key = meta.mergeKey;
  if (key === undefined) {
    // A set of primitives (finalizers): union, keeping the original order.
    const out = [...original];
    for (const item of patch) if (!out.some((existing) => existing === item)) out.push(item);
    return out;
  }
  if (patch.some((item) => isObject(item) && item['$patch'] === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item['$patch'] === 'replace')).map(stripDirectives);
  }
  const out = [...original];
  for (const item of patch) {
    if (!isObject(item)) throw badPatch(`merging an object in json but data type is not an object: ${JSON.stringify(item)}`);
    const id = item[key];
    if (id === undefined) throw badPatch(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const index = out.findIndex((existing) => isObject(existing) && existing[key] === id);
    if (item['$patch'] === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = mergeMap(out[index] as JsonObject, item, meta);
    else out.push(stripDirectives(item));
  }
  return out;
}

function orderBy(list: Json[], order: Json, key: string | undefined): Json[] {
  if (!Array.isArray(order)) return list;
  const identity = (item: Json): Json | undefined => (key === undefined ? item : isObject(item) ? item[key] : undefined);
  const position = (item: Json): number => {
    const id = identity(item);
    const index = order.findIndex((entry) => (key === undefined ? entry === id : isObject(entry) && entry[key] === id));
    return index < 0 ? order.length : index;
  };
  return list
    .map((item, index) => ({ item, index, rank: position(item) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.item);
}

function mergeMap(original: JsonObject, patch: JsonObject, meta: PatchMeta | undefined): JsonObject {
  const directive = patch['$patch'];
  if (directive === 'replace') return stripDirectives(patch) as JsonObject;
  if (directive !== undefined && directive !== 'merge' && directive !== 'delete') throw badPatch(`unknown patch type: ${JSON.stringify(directive)}`);
  const result: JsonObject = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) result[field] = current.filter((item) => !value.some((removed) => removed === item));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    const fieldMeta = meta?.fields?.[key];
    const current = original[key];
    if (isObject(value)) {
      if (value['$patch'] === 'delete') delete result[key];
      else result[key] = mergeMap(isObject(current) ? current : {}, value, fieldMeta);
    } else if (Array.isArray(value)) {
      const merges = fieldMeta?.strategy === 'merge' || fieldMeta?.strategy === 'merge,retainKeys';
      result[key] = merges && Array.isArray(current) ? mergeList(current, value, fieldMeta as PatchMeta) : (stripDirectives(value) as Json[]);
    } else {
      result[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const list = result[field];
    if (Array.isArray(list)) result[field] = orderBy(list, order, meta?.fields?.[field]?.mergeKey);
  }
  const retain = patch['$retainKeys'];
  if (Array.isArray(retain)) {
    for (const key of Object.keys(result)) if (!retain.includes(key) && !Object.hasOwn(patch, key)) delete result[key];
  }
  return result;
}

/** Applies a strategic merge patch to `original` without mutating it (unchanged subtrees are shared). */
export function applyStrategicMergePatch(original: JsonObject, patch: Json, meta: PatchMeta): JsonObject {
  if (!isObject(patch)) throw badPatch('error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
  return mergeMap(original, patch, meta);
}
