// What the server knows about one served resource: names, scope, verbs, and the strategy that shapes its objects.
import type { JsonObject } from './json.ts';
import type { PatchMeta } from './strategic-merge-patch.ts';
import type { FieldError } from './status-error.ts';

/** A printed column of `kubectl get` (a Table column) and how its cell is computed. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
  cell(obj: JsonObject, nowMs: number): unknown;
}

/** Writes that the strategy sees; `warnings` collects Warning headers (unknown fields). */
export interface WriteContext {
  readonly warnings: string[];
  /** `fieldValidation` of the request: Strict turns dropped fields into a 400. */
  readonly fieldValidation: 'Ignore' | 'Warn' | 'Strict';
  readonly nowMs: number;
  /** `status` for writes through the status subresource: only status changed, the rest is the stored object. */
  readonly subresource: string;
}

/**
 * How objects of one kind are defaulted, validated and converted. Every hook is optional; custom
 * resources get theirs from the CRD's schema.
 */
export interface ObjectStrategy {
  /** Drops unknown fields (reporting them) and fills defaults. Called on every write, before validation. */
  normalize?(obj: JsonObject, ctx: WriteContext): void;
  /** Server-set fields on create (a Namespace's label, a Job's selector). Runs after normalize. */
  prepareForCreate?(obj: JsonObject): void;
  /** Field errors of the object (`old` on updates; `subresource` is `status` for status writes). */
  validate?(obj: JsonObject, old: JsonObject | undefined, subresource?: string): FieldError[];
  /** Converts a stored object to this version's shape (events.k8s.io/v1 reads core Events). */
  fromStorage?(obj: JsonObject): JsonObject;
  /** Converts an object of this version to the stored shape. */
  toStorage?(obj: JsonObject): JsonObject;
  /** Field labels accepted by `fieldSelector`, beyond metadata.name and metadata.namespace, with their values. */
  selectableFields?(obj: JsonObject): Record<string, string>;
  /** Strategic merge patch metadata; absent means 415 for strategic merge patch (custom resources). */
  readonly patchMeta?: PatchMeta;
  /** Columns of `kubectl get` besides Name; absent means the default (Created At). */
  readonly printerColumns?: readonly PrinterColumn[];
}

export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly string[];
  /** Subresources listed in discovery (`status`, `scale`, `token`, ...), with their verbs. */
  readonly subresources: readonly { readonly name: string; readonly verbs: readonly string[]; readonly kind?: string; readonly group?: string; readonly version?: string }[];
  /** With a status subresource, the main endpoint ignores status and `/status` ignores everything else. */
  readonly statusSubresource: boolean;
  /** Storage bucket; two resources sharing one (core and events.k8s.io Events) see the same objects. */
  readonly storage: string;
  readonly builtin: boolean;
  /** Whether metadata.generation is maintained (not for Leases, Events, ConfigMaps, ...). */
  readonly hasGeneration: boolean;
  readonly storageVersionHash?: string;
  /** Kind and group named in a 422 message and its details (events.k8s.io reports plain `Event`). */
  readonly invalidKind: { readonly kind: string; readonly group: string };
  readonly strategy: ObjectStrategy;
  /**
   * Top-level fields of a built-in kind besides apiVersion, kind and metadata; others are unknown fields
   * (dropped with a warning, or refused with `fieldValidation=Strict`). Absent: not checked (custom resources
   * are pruned by their schema instead).
   */
  readonly topLevelFields?: readonly string[];
  /** Virtual resources (access reviews) answer a create without storing anything. */
  readonly virtual?: boolean;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const STATUS_VERBS = ['get', 'patch', 'update'] as const;

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}
