// What the CRD generator, the API reference and `validate` need to know about a kind of this API.
import type { z } from 'zod';
import type { ResourceNames } from './group-version.ts';

/** A column of `kubectl get`, as a CRD's additionalPrinterColumns spells it. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description: string;
  readonly priority?: number;
}

export interface KindDefinition {
  readonly names: ResourceNames;
  /** One paragraph for `kubectl explain <kind>` and the API reference. */
  readonly description: string;
  readonly specSchema: z.ZodType;
  readonly statusSchema: z.ZodType;
  /** The whole object (apiVersion, kind, metadata, spec, status), as `validate` and the controllers parse it. */
  readonly objectSchema: z.ZodType;
  readonly printerColumns: readonly PrinterColumn[];
  /** Fields usable in `kubectl get --field-selector`. */
  readonly selectableFields: readonly string[];
  /** Schema paths (`spec.x`, `status.y`) allowed to keep unknown fields; each needs a reason in ADR 006. */
  readonly preserveUnknownFieldsAt: readonly string[];
}

export const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Status of the Ready condition.',
};

export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' };

export const PHASE_COLUMN: PrinterColumn = { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the status.' };
