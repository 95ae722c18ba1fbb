// Generated Deploy and Sweep manifests, valid and not: zod (`validate`, the controllers) and the CRD as the devcluster
// enforces it (its own pruning, defaulting, structural validation and CEL code) accept and reject the same ones, and
// fill in the same defaults. tests/api/ checks chosen cases field by field; this checks the space around them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { customResourceDefinition, openApiSchemaOf } from '../../src/api/crd.ts';
import { DEPLOY_KIND } from '../../src/api/deploy.ts';
import type { KindDefinition } from '../../src/api/kind-definition.ts';
import type { SchemaNode } from '../../src/api/structural-schema.ts';
import { SWEEP_KIND } from '../../src/api/sweep.ts';
import { parseSpec } from '../../src/api/parse-spec.ts';
import { validateObject } from '../../src/api/validate-object.ts';
import { crdResourceTypes } from '../../src/devcluster/crd.ts';
import type { JsonObject } from '../../src/devcluster/json.ts';
import type { ResourceType, WriteContext } from '../../src/devcluster/resource-type.ts';
import { admit } from '../api/crd-model.ts';
import { propertyRuns, propertyTimeoutMs } from './property-runs.ts';
import { manifests } from './spec-arbitraries.ts';

interface Admission {
  readonly accepted: boolean;
  readonly fields: readonly string[];
  readonly stored: JsonObject;
}

/** The custom resource type the devcluster serves for `kind`'s generated CRD. */
function servedType(kind: KindDefinition): ResourceType {
  const [type] = crdResourceTypes(JSON.parse(JSON.stringify(customResourceDefinition(kind))) as JsonObject);
  if (type === undefined) throw new Error(`the ${kind.names.kind} CRD serves no version`);
  return type;
}

const served = { Deploy: servedType(DEPLOY_KIND), Sweep: servedType(SWEEP_KIND) };
const kinds = { Deploy: DEPLOY_KIND, Sweep: SWEEP_KIND };

/** What the devcluster does with a create of `manifest`: prune, default, validate, in its own order. */
function devclusterAdmits(kind: 'Deploy' | 'Sweep', manifest: Record<string, unknown>, fieldValidation: WriteContext['fieldValidation']): Admission {
  const type = served[kind];
  // The object as it arrives over the wire.
  const stored = JSON.parse(JSON.stringify(manifest)) as JsonObject;
  try {
    type.strategy.normalize?.(stored, { warnings: [], fieldValidation, nowMs: Date.parse('2026-01-01T00:00:00Z'), subresource: '' });
  } catch (error) {
    // Strict field validation answers 400 BadRequest for unknown fields.
    return { accepted: false, fields: [error instanceof Error ? error.message : String(error)], stored };
  }
  type.strategy.prepareForCreate?.(stored);
  const errors = type.strategy.validate?.(stored, undefined) ?? [];
  return { accepted: errors.length === 0, fields: errors.map((error) => error.field), stored };
}

/** What `validate` and the controllers' zod schemas say, and the spec zod parses to. */
function zodAdmits(kind: 'Deploy' | 'Sweep', manifest: Record<string, unknown>): { accepted: boolean; fields: readonly string[]; spec: unknown } {
  const { errors } = validateObject(manifest);
  const parsed = parseSpec(kinds[kind].specSchema, manifest['spec']);
  return { accepted: errors.length === 0, fields: errors.map((error) => error.field), spec: parsed.success ? parsed.spec : undefined };
}

/**
 * The checks zod alone makes, which ADR 006 documents as beyond the CRD: cron value ranges (the CRD checks the
 * five-field shape) and the key format of maps (annotations).
 */
function onlyZodChecks(fields: readonly string[], manifest: Record<string, unknown>): boolean {
  const zodOnly = (field: string): boolean => {
    if (field === 'spec.schedule') return typeof (manifest['spec'] as { schedule?: unknown } | undefined)?.schedule === 'string';
    return /^spec\.checks\[\d+\]\.annotations\[.*\]$/.test(field);
  };
  return fields.length > 0 && fields.every(zodOnly);
}

function agreement(kind: 'Deploy' | 'Sweep') {
  return (manifest: Record<string, unknown>): void => {
    const zod = zodAdmits(kind, manifest);
    const devcluster = devclusterAdmits(kind, manifest, 'Strict');
    const context = `zod: ${JSON.stringify(zod.fields)}; devcluster: ${JSON.stringify(devcluster.fields)}`;
    if (zod.accepted !== devcluster.accepted) {
      expect(!zod.accepted && devcluster.accepted && onlyZodChecks(zod.fields, manifest), `they disagree beyond the documented zod-only checks: ${context}`).toBe(true);
      return;
    }
    if (zod.accepted) {
      // Both accepted: the object the API server stores carries the spec zod parses, defaults included.
      expect(devcluster.stored['spec'], 'the devcluster stored another spec than zod parses').toEqual(zod.spec);
    }
  };
}

/** The counts the two `describe`s below run, to tell how often the generators produce each outcome. */
function outcomes(kind: 'Deploy' | 'Sweep', samples: readonly Record<string, unknown>[]): { accepted: number; rejected: number } {
  const accepted = samples.filter((manifest) => zodAdmits(kind, manifest).accepted).length;
  return { accepted, rejected: samples.length - accepted };
}

const RUNS = propertyRuns(250, 3_000);
const TIMEOUT_MS = propertyTimeoutMs(30_000, 600_000);

describe.each(['Deploy', 'Sweep'] as const)('%s manifests through zod and through the CRD as the devcluster serves it', (kind) => {
  it('generates valid and invalid manifests alike, so agreement on both sides is tested', () => {
    const { accepted, rejected } = outcomes(kind, fc.sample(manifests(kind), { numRuns: 400, seed: 42 }));
    expect(accepted).toBeGreaterThan(80);
    expect(rejected).toBeGreaterThan(80);
  });

  it(
    'accept and reject the same manifests (beyond the documented zod-only checks), and store the spec zod parses',
    () => {
      fc.assert(fc.property(manifests(kind), agreement(kind)), RUNS);
    },
    TIMEOUT_MS,
  );

  it(
    "the CRD model tests/api/ relies on admits specs exactly as the devcluster does",
    () => {
      const schema = openApiSchemaOf(kinds[kind]).properties?.['spec'] as SchemaNode;
      fc.assert(
        fc.property(manifests(kind), (manifest) => {
          // Pruning, not strictness: the model prunes unknown fields as kube-apiserver does by default.
          const devcluster = devclusterAdmits(kind, { ...manifest, metadata: { name: 'example', namespace: 'default' } }, 'Ignore');
          const model = admit(schema, manifest['spec'], 'spec');
          expect(model.errors.length === 0, `model: ${JSON.stringify(model.errors)}; devcluster: ${JSON.stringify(devcluster.fields)}`).toBe(devcluster.accepted);
          if (devcluster.accepted) expect(model.stored).toEqual(devcluster.stored['spec']);
        }),
        RUNS,
      );
    },
    TIMEOUT_MS,
  );
});
