// Rules that span fields, written once and enforced twice: as a zod refinement and as a CEL rule of the CRD.
import type { z } from 'zod';
import { renderValue, type FieldErrorParams } from './field-error.ts';

/** The `reason`s kube-apiserver accepts on an x-kubernetes-validations rule, and how each error prints. */
const REASONS = {
  FieldValueInvalid: 'Invalid',
  FieldValueRequired: 'Required',
  FieldValueForbidden: 'Forbidden',
} as const;

/**
 * One rule over a node. `rule` is CEL over `self` for kube-apiserver; `holds` is the same rule in TypeScript
 * for zod. Both see the object after defaulting, as the API server does.
 */
export interface ValidationRule<T> {
  readonly rule: string;
  readonly message: string;
  /** Where the error is reported, relative to the node (`.image`); the node itself when absent. */
  readonly fieldPath?: string;
  readonly reason?: keyof typeof REASONS;
  readonly holds: (self: T) => boolean;
}

/** The rule as the CRD carries it under `x-kubernetes-validations`. */
export interface CelRule {
  readonly rule: string;
  readonly message: string;
  readonly fieldPath?: string;
  readonly reason?: string;
}

function celTypeName(schema: z.core.$ZodType): string {
  const def = schema._zod.def;
  if ((def.type === 'default' || def.type === 'prefault' || def.type === 'optional') && 'innerType' in def) return celTypeName(def.innerType as z.core.$ZodType);
  const type = def.type;
  if (type === 'record' || type === 'object') return 'object';
  if (type === 'int' || type === 'number') return 'integer';
  return type;
}

/**
 * Attaches `rules` to `schema`: a zod refinement reporting each broken rule at its field, and the CEL rules
 * under the `x-kubernetes-validations` metadata the CRD generator copies into the schema.
 *
 * Assumptions: `fieldPath` is a chain of plain property names (`.a.b`); every list and string a rule
 * iterates has maxItems/maxLength so kube-apiserver's cost estimate stays within budget.
 */
export function withValidationRules<S extends z.ZodType>(schema: S, rules: readonly ValidationRule<z.output<S>>[]): S {
  const typeName = celTypeName(schema);
  const existing = (schema.meta()?.['x-kubernetes-validations'] as readonly CelRule[] | undefined) ?? [];
  const celRules: CelRule[] = rules.map(({ rule, message, fieldPath, reason }) => ({
    rule,
    message,
    ...(fieldPath === undefined ? {} : { fieldPath }),
    ...(reason === undefined ? {} : { reason }),
  }));
  return schema
    .superRefine((value, ctx) => {
      for (const rule of rules) {
        if (rule.holds(value)) continue;
        const type = REASONS[rule.reason ?? 'FieldValueInvalid'];
        const params: FieldErrorParams = { fieldError: { type, value: JSON.stringify(typeName) } };
        ctx.addIssue({ code: 'custom', message: rule.message, path: rule.fieldPath?.split('.').filter(Boolean) ?? [], params });
      }
    })
    .meta({ 'x-kubernetes-validations': [...existing, ...celRules] });
}

/**
 * Makes a list of objects a map keyed by `key`: zod reports a repeated key as `Duplicate value`, and the CRD
 * declares `x-kubernetes-list-type: map`, so kube-apiserver rejects duplicates itself, in linear time.
 *
 * Assumptions: `key` is a required scalar property of the items (kube-apiserver requires that of map keys).
 */
export function withUniqueKey<S extends z.ZodArray>(schema: S, key: string): S {
  return schema
    .superRefine((items, ctx) => {
      const seen = new Set<unknown>();
      (items as readonly Record<string, unknown>[]).forEach((item, index) => {
        const value = item[key];
        if (seen.has(value)) {
          const params: FieldErrorParams = { fieldError: { type: 'Duplicate', value: renderValue(value) } };
          ctx.addIssue({ code: 'custom', message: `${key} must be unique`, path: [index, key], params });
        }
        seen.add(value);
      });
    })
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [key] });
}
