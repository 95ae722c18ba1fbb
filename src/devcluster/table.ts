// Table rendering for `kubectl get` (the `as=Table` Accept): columns, rows of cells, PartialObjectMetadata.
import { child, isObject, type Json, type JsonObject } from './json.ts';
import type { PrinterColumn, ResourceType } from './resource-type.ts';

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const CREATED_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** kube's `duration.HumanDuration`: 5s, 4m26s, 3h10m, 2d5h, ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The age cell of a timestamp string, or null when absent. */
export function ageOf(timestamp: Json | undefined, nowMs: number): string | null {
  if (typeof timestamp !== 'string') return null;
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? null : humanDuration(nowMs - at);
}

/** A column built from a function of the object. */
export function column(name: string, type: string, description: string, cell: PrinterColumn['cell'], priority = 0, format = ''): PrinterColumn {
  return { name, type, format, description, priority, cell };
}

export const ageColumn = column('Age', 'date', CREATED_DESCRIPTION, (obj, nowMs) => ageOf(child(obj, 'metadata')?.['creationTimestamp'], nowMs));
const createdAtColumn = column('Created At', 'date', CREATED_DESCRIPTION, (obj) => child(obj, 'metadata')?.['creationTimestamp'] ?? null);

function columnsOf(type: ResourceType): readonly PrinterColumn[] {
  return type.strategy.printerColumns ?? [createdAtColumn];
}

/** The PartialObjectMetadata a row carries. */
export function partialObjectMetadata(obj: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: child(obj, 'metadata') ?? {} };
}

function row(type: ResourceType, obj: JsonObject, nowMs: number, includeObject: string): JsonObject {
  const cells: Json[] = [child(obj, 'metadata')?.['name'] ?? ''];
  for (const col of columnsOf(type)) {
    const value = col.cell(obj, nowMs);
    cells.push(value === undefined ? null : (value as Json));
  }
  const out: JsonObject = { cells };
  if (includeObject === 'Object') out['object'] = obj;
  else if (includeObject !== 'None') out['object'] = partialObjectMetadata(obj);
  return out;
}

/** The column definitions of a resource's Table. */
export function columnDefinitions(type: ResourceType): Json[] {
  return [
    { name: 'Name', type: 'string', format: 'name', description: NAME_DESCRIPTION, priority: 0 },
    ...columnsOf(type).map((col) => ({ name: col.name, type: col.type, format: col.format, description: col.description, priority: col.priority })),
  ];
}

/** A Table of `objects`; `withColumns` false sends `columnDefinitions: null` (watch events after the first). */
export function renderTable(type: ResourceType, objects: readonly JsonObject[], listMeta: JsonObject, nowMs: number, includeObject: string, withColumns = true): JsonObject {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withColumns ? columnDefinitions(type) : null,
    rows: objects.map((obj) => row(type, obj, nowMs, includeObject)),
  };
}

/** Evaluates a CRD printer column's simple JSONPath (`.spec.size`, `.status.conditions[0].type`) on an object. */
export function evaluateJsonPath(obj: JsonObject, path: string): Json | undefined {
  const tokens = path.replace(/^\{|\}$/g, '').replace(/^\./, '').match(/[^.[\]]+|\[\d+\]|\[\?[^\]]*\]/g) ?? [];
  let current: Json | undefined = obj;
  for (const token of tokens) {
    if (token.startsWith('[?')) {
      const filter = /@\.([\w.]+)\s*==\s*["']([^"']*)["']/.exec(token);
      if (!Array.isArray(current) || filter === null) return undefined;
      const [, field = '', expected] = filter;
      current = current.find((item) => isObject(item) && String(item[field]) === expected);
    } else if (token.startsWith('[')) {
      if (!Array.isArray(current)) return undefined;
      current = current[Number(token.slice(1, -1))];
    } else {
      if (!isObject(current)) return undefined;
      current = current[token];
    }
  }
  return current;
}
