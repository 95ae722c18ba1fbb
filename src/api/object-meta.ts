// The parts of ObjectMeta a manifest of ours is checked for offline; the API server owns the rest.
import { z } from 'zod';
import { fields } from './fields.ts';

/** Paths of the string maps in metadata, whose keys print in brackets in field errors. */
export const METADATA_MAP_PATHS = ['metadata.labels', 'metadata.annotations'] as const;

export const objectMetaSchema = z
  .looseObject({
    name: fields.dnsSubdomain('Name of the object, unique in its namespace.').optional(),
    generateName: z.string().min(1).max(247).optional().describe('Prefix of a name the API server generates.'),
    namespace: fields.dnsLabel('Namespace of the object.').optional(),
    labels: fields.stringMap(256, 63, 'Labels.').optional(),
    annotations: fields.stringMap(256, 262144, 'Annotations.').optional(),
  })
  .superRefine((meta, ctx) => {
    if (meta.name === undefined && meta.generateName === undefined) {
      ctx.addIssue({ code: 'custom', message: 'name or generateName is required', path: ['name'], params: { fieldError: { type: 'Required' } } });
    }
  })
  .describe('Standard object metadata.');

export type ObjectMeta = z.infer<typeof objectMetaSchema>;
