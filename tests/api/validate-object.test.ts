import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../../src/api/field-error.ts';
import { validateObject } from '../../src/api/validate-object.ts';
import { kubernetesDeploySpec, object, sweepSpec } from './fixtures.ts';

function messages(document: unknown): string[] {
  return validateObject(document).errors.map(formatFieldError);
}

describe('validateObject', () => {
  it('words a broken cross-field rule as kube-apiserver does for a CEL rule', () => {
    expect(messages(object('Deploy', { ...kubernetesDeploySpec(), provider: {} }))).toEqual([
      'spec.provider: Invalid value: "object": exactly one of kubernetes, railway, webhook must be set',
    ]);
  });

  it('words missing, unsupported, out-of-range, too-long and mismatched values as kube-apiserver does', () => {
    const spec: Record<string, unknown> = { ...kubernetesDeploySpec(), service: 'a'.repeat(64), retryPolicy: 'fast', healthCheck: { url: 'https://api.example', expectStatus: 99 } };
    delete spec['version'];
    expect(messages(object('Deploy', spec))).toEqual([
      'spec.service: Too long: may not be more than 63 bytes',
      'spec.version: Required value',
      'spec.healthCheck.expectStatus: Invalid value: 99: spec.healthCheck.expectStatus in body should be greater than or equal to 100',
      'spec.retryPolicy: Unsupported value: "fast": supported values: "default", "critical"',
    ]);
    expect(messages(object('Deploy', { ...kubernetesDeploySpec(), version: 1.1 }))).toEqual([
      'spec.version: Invalid value: "number": spec.version in body must be of type string: "number"',
    ]);
  });

  it('reports fields the schema does not know, which kubectl apply would reject', () => {
    expect(messages({ ...object('Sweep', { ...sweepSpec(), paralellism: 3 }), extra: true })).toEqual([
      'extra: Unknown field: the field is not part of the schema',
      'spec.paralellism: Unknown field: the field is not part of the schema',
    ]);
  });

  it('reports per-runner requirements at the field, with the reason the CRD rule gives', () => {
    const spec = sweepSpec() as { checks: Record<string, unknown>[] };
    delete spec.checks[0]?.['image'];
    expect(messages(object('Sweep', spec))).toEqual(['spec.checks[0].image: Required value: image is required when runner is job']);
  });

  it('prints map keys in brackets and list indexes in brackets', () => {
    const spec = sweepSpec() as { checks: Record<string, unknown>[]; repositories: Record<string, unknown>[] };
    spec.checks[0] = { ...spec.checks[0], annotations: { 'not a key': 'x' } };
    spec.repositories[1] = { ...spec.repositories[1], name: 'api' };
    expect(messages(object('Sweep', spec))).toEqual([
      'spec.repositories[1].name: Duplicate value: "api": name must be unique',
      `spec.checks[0].annotations[not a key]: Invalid value: "not a key": must be a qualified name: an optional DNS subdomain and '/', then alphanumerics, '-', '_' or '.'`,
    ]);
  });

  it('checks apiVersion, kind and metadata.name, and skips objects of other groups', () => {
    expect(messages({ kind: 'Deploy' })).toEqual(['apiVersion: Required value']);
    expect(messages({ ...object('Deploy', kubernetesDeploySpec()), apiVersion: 'operator.blackroad.io/v1' })).toEqual([
      'apiVersion: Unsupported value: "operator.blackroad.io/v1": supported values: "operator.blackroad.io/v1alpha1"',
    ]);
    expect(messages({ ...object('Deploy', kubernetesDeploySpec()), kind: 'Deployment' })).toEqual(['kind: Unsupported value: "Deployment": supported values: "Deploy", "Sweep"']);
    expect(messages({ ...object('Deploy', kubernetesDeploySpec()), metadata: {} })).toEqual(['metadata.name: Required value: name or generateName is required']);
    expect(validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api' } })).toEqual({ kind: 'Deployment', name: 'api', skipped: 'apps/v1 is not operator.blackroad.io', errors: [] });
    expect(messages(['not', 'an', 'object'])).toEqual(['<root>: Invalid value: "array": a manifest must be an object']);
  });

  it('accepts a status the operator wrote and rejects one that breaks the schema', () => {
    const status = {
      observedGeneration: 2,
      phase: 'Succeeded',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Verified', message: 'healthy', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      revision: 3,
      previous: { version: '1.41.0', recordedAt: '2026-01-01T00:00:00Z', podTemplate: { spec: { containers: [{ name: 'api', image: 'x' }] } } },
      health: { consecutiveSuccesses: 3, consecutiveFailures: 0, lastProbe: { at: '2026-01-01T00:00:10Z', healthy: true, statusCode: 200 } },
    };
    expect(messages({ ...object('Deploy', kubernetesDeploySpec()), status })).toEqual([]);
    expect(messages({ ...object('Deploy', kubernetesDeploySpec()), status: { ...status, phase: 'Done' } })[0]).toMatch(/^status\.phase: Unsupported value: "Done"/);
  });

  it('reads null as an absent field, as kube-apiserver does: defaulted, dropped, or Required when the field is required', () => {
    const sweep = sweepSpec() as { checks: Record<string, unknown>[] } & Record<string, unknown>;
    sweep['concurrency'] = null;
    sweep['schedule'] = null;
    sweep.checks[1] = { ...sweep.checks[1], timeoutSeconds: null };
    sweep.checks[0] = { ...sweep.checks[0], annotations: { 'example.com/note': null } };
    expect(messages(object('Sweep', sweep))).toEqual([]);
    expect(messages(object('Deploy', { ...kubernetesDeploySpec(), rollback: null, healthCheck: null, suspend: null }))).toEqual([]);
    expect(messages(object('Deploy', { ...kubernetesDeploySpec(), version: null }))).toEqual(['spec.version: Required value']);
    // A null list item is not a field: it stays, and is of the wrong type.
    expect(messages(object('Sweep', { ...sweepSpec(), repositories: [null] }))).toEqual(['spec.repositories[0]: Invalid value: "null": spec.repositories[0] in body must be of type object: "null"']);
  });

  it('shows the value a rule refused, never null', () => {
    expect(messages(object('Sweep', { ...sweepSpec(), schedule: '61 * * * *' }))).toEqual(['spec.schedule: Invalid value: "61 * * * *": not a valid cron schedule: Constraint error, got value 61 expected range 0-59']);
  });
});
