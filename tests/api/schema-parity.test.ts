import { describe, expect, it } from 'vitest';
import { openApiSchemaOf } from '../../src/api/crd.ts';
import { DEPLOY_KIND, deploySpecSchema } from '../../src/api/deploy.ts';
import type { KindDefinition } from '../../src/api/kind-definition.ts';
import type { SchemaNode } from '../../src/api/structural-schema.ts';
import { SWEEP_KIND, sweepSpecSchema } from '../../src/api/sweep.ts';
import { validateObject } from '../../src/api/validate-object.ts';
import { admit } from './crd-model.ts';
import { kubernetesDeploySpec, object, sweepSpec } from './fixtures.ts';

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const specSchemaOf = (kind: KindDefinition): SchemaNode => openApiSchemaOf(kind).properties?.['spec'] as SchemaNode;

function zodFields(kind: KindDefinition, spec: unknown): string[] {
  return validateObject(object(kind.names.kind as 'Deploy' | 'Sweep', spec)).errors.map((error) => error.field);
}

function crdFields(kind: KindDefinition, spec: unknown): string[] {
  return admit(specSchemaOf(kind), spec, 'spec').errors.map((error) => error.field);
}

interface Case {
  readonly title: string;
  readonly kind: KindDefinition;
  readonly spec: () => Spec;
  readonly field: string;
  /** The CRD cannot express this check (see ADR 006); zod alone rejects it. */
  readonly zodOnly?: boolean;
}

const deploy = (change: (spec: Spec) => void) => (): Spec => {
  const spec: Spec = kubernetesDeploySpec();
  change(spec);
  return spec;
};
const sweep = (change: (spec: Spec) => void) => (): Spec => {
  const spec: Spec = sweepSpec();
  change(spec);
  return spec;
};
const repositories = (count: number) => Array.from({ length: count }, (_, index) => ({ name: `repo-${index}`, url: `https://github.com/acme/repo-${index}` }));

const INVALID: readonly Case[] = [
  { title: 'a service name that is not a DNS label', kind: DEPLOY_KIND, spec: deploy((s) => (s.service = 'Api_1')), field: 'spec.service' },
  { title: 'a missing version', kind: DEPLOY_KIND, spec: deploy((s) => delete s.version), field: 'spec.version' },
  { title: 'no provider set', kind: DEPLOY_KIND, spec: deploy((s) => (s.provider = {})), field: 'spec.provider' },
  {
    title: 'two providers set',
    kind: DEPLOY_KIND,
    spec: deploy((s) => (s.provider.webhook = { url: 'https://hooks.example/deploy', secretRef: { name: 'hook', key: 'hmac' } })),
    field: 'spec.provider',
  },
  { title: 'a kubernetes provider without image', kind: DEPLOY_KIND, spec: deploy((s) => delete s.provider.kubernetes.image), field: 'spec.provider.kubernetes.image' },
  {
    title: 'a railway provider without token Secret',
    kind: DEPLOY_KIND,
    spec: deploy((s) => (s.provider = { railway: { projectId: 'p', environmentId: 'e', serviceId: 's', image: 'ghcr.io/acme/api:1' } })),
    field: 'spec.provider.railway.tokenSecretRef',
  },
  {
    title: 'a webhook URL that is not http(s)',
    kind: DEPLOY_KIND,
    spec: deploy((s) => (s.provider = { webhook: { url: 'ftp://hooks.example', secretRef: { name: 'hook', key: 'hmac' } } })),
    field: 'spec.provider.webhook.url',
  },
  {
    title: 'a Secret key with a space',
    kind: DEPLOY_KIND,
    spec: deploy((s) => (s.provider = { webhook: { url: 'https://hooks.example', secretRef: { name: 'hook', key: 'hm ac' } } })),
    field: 'spec.provider.webhook.secretRef.key',
  },
  { title: 'a probe interval longer than the timeout', kind: DEPLOY_KIND, spec: deploy((s) => Object.assign(s.healthCheck, { intervalSeconds: 600, timeoutSeconds: 60 })), field: 'spec.healthCheck.intervalSeconds' },
  { title: 'an impossible HTTP status', kind: DEPLOY_KIND, spec: deploy((s) => (s.healthCheck.expectStatus = 700)), field: 'spec.healthCheck.expectStatus' },
  { title: 'approval without compliance sensitivity', kind: DEPLOY_KIND, spec: deploy((s) => (s.compliance = { requireApproval: true })), field: 'spec.compliance.requireApproval' },
  { title: 'an unknown compliance category', kind: DEPLOY_KIND, spec: deploy((s) => (s.compliance = { category: 'health' })), field: 'spec.compliance.category' },
  { title: 'an unknown retry policy', kind: DEPLOY_KIND, spec: deploy((s) => (s.retryPolicy = 'fast')), field: 'spec.retryPolicy' },
  { title: 'a string where a boolean belongs', kind: DEPLOY_KIND, spec: deploy((s) => (s.suspend = 'yes')), field: 'spec.suspend' },
  { title: 'no repositories', kind: SWEEP_KIND, spec: sweep((s) => (s.repositories = [])), field: 'spec.repositories' },
  { title: 'two repositories with one name', kind: SWEEP_KIND, spec: sweep((s) => (s.repositories[1].name = 'api')), field: 'spec.repositories[1].name' },
  { title: 'two checks with one name', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[1].name = 'lint')), field: 'spec.checks[1].name' },
  { title: 'a job check without image', kind: SWEEP_KIND, spec: sweep((s) => delete s.checks[0].image), field: 'spec.checks[0].image' },
  { title: 'an http check without url', kind: SWEEP_KIND, spec: sweep((s) => delete s.checks[1].url), field: 'spec.checks[1].url' },
  { title: 'an http check without HMAC Secret', kind: SWEEP_KIND, spec: sweep((s) => delete s.checks[1].secretRef), field: 'spec.checks[1].secretRef' },
  { title: 'a job check with an http url', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[0].url = 'https://checker.example')), field: 'spec.checks[0]' },
  { title: 'an http check with a job image', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[1].image = 'node:24')), field: 'spec.checks[1]' },
  { title: 'more than 1,000 units (501 repositories × 2 checks)', kind: SWEEP_KIND, spec: sweep((s) => (s.repositories = repositories(501))), field: 'spec' },
  { title: 'a concurrency of zero', kind: SWEEP_KIND, spec: sweep((s) => (s.concurrency = 0)), field: 'spec.concurrency' },
  { title: 'a schedule that is not cron', kind: SWEEP_KIND, spec: sweep((s) => (s.schedule = 'every day')), field: 'spec.schedule' },
  { title: 'a cron field out of range', kind: SWEEP_KIND, spec: sweep((s) => (s.schedule = '61 * * * *')), field: 'spec.schedule', zodOnly: true },
  { title: 'two environment variables with one name', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[0].env = [{ name: 'A', value: '1' }, { name: 'A', value: '2' }])), field: 'spec.checks[0].env[1].name' },
  { title: 'a repository URL with another scheme', kind: SWEEP_KIND, spec: sweep((s) => (s.repositories[0].url = 'file:///etc')), field: 'spec.repositories[0].url' },
  { title: 'a CPU quantity that is not one', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[0].resources = { limits: { cpu: 'lots' } })), field: 'spec.checks[0].resources.limits.cpu' },
  { title: 'an annotation key that is not a qualified name', kind: SWEEP_KIND, spec: sweep((s) => (s.checks[0].annotations = { 'not a key': 'x' })), field: 'spec.checks[0].annotations[not a key]', zodOnly: true },
];

const VALID: readonly { title: string; kind: KindDefinition; spec: () => Spec }[] = [
  { title: 'a kubernetes Deploy', kind: DEPLOY_KIND, spec: deploy(() => undefined) },
  {
    title: 'a railway Deploy',
    kind: DEPLOY_KIND,
    spec: deploy((s) => (s.provider = { railway: { projectId: 'p1', environmentId: 'e1', serviceId: 's1', image: 'ghcr.io/acme/api:1', tokenSecretRef: { name: 'railway', key: 'token' } } })),
  },
  { title: 'a sensitive Deploy that requires approval', kind: DEPLOY_KIND, spec: deploy((s) => (s.compliance = { sensitive: true, category: 'finance', requireApproval: true })) },
  { title: 'a Sweep', kind: SWEEP_KIND, spec: sweep((s) => (s.schedule = '0 3 * * *')) },
  { title: 'exactly 1,000 units (500 repositories × 2 checks)', kind: SWEEP_KIND, spec: sweep((s) => (s.repositories = repositories(500))) },
  { title: 'a Sweep on a macro schedule', kind: SWEEP_KIND, spec: sweep((s) => (s.schedule = '@daily')) },
];

describe('zod and the generated CRD reject the same specs', () => {
  for (const { title, kind, spec, field, zodOnly } of INVALID) {
    it(`${kind.names.kind}: ${title} is rejected at ${field}`, () => {
      expect(zodFields(kind, spec())).toContain(field);
      const crd = crdFields(kind, spec());
      if (zodOnly) expect(crd).toEqual([]);
      else expect(crd.some((reported) => reported === field || reported.startsWith(`${field}.`) || field.startsWith(`${reported}.`))).toBe(true);
    });
  }

  for (const { title, kind, spec } of VALID) {
    it(`${kind.names.kind}: ${title} is accepted by both`, () => {
      expect(validateObject(object(kind.names.kind as 'Deploy' | 'Sweep', spec())).errors).toEqual([]);
      expect(admit(specSchemaOf(kind), spec(), 'spec').errors).toEqual([]);
    });
  }
});

describe('defaults', () => {
  it('zod and the CRD fill in the same defaults for a minimal Deploy', () => {
    const minimal = { service: 'api', version: '1.0.0', provider: { webhook: { url: 'https://hooks.example/deploy', secretRef: { name: 'hook', key: 'hmac' } } }, healthCheck: { url: 'https://api.example/healthz' } };
    const parsed = deploySpecSchema.parse(minimal);
    expect(admit(specSchemaOf(DEPLOY_KIND), minimal, 'spec').stored).toEqual(parsed);
    expect(parsed).toMatchObject({
      rollback: { enabled: true },
      compliance: { sensitive: false, category: 'none', requireApproval: false },
      retryPolicy: 'default',
      suspend: false,
      healthCheck: { expectStatus: 200, intervalSeconds: 10, timeoutSeconds: 300, successThreshold: 3, failureThreshold: 3 },
    });
  });

  it('zod and the CRD fill in the same defaults for a minimal Sweep', () => {
    const minimal = { repositories: [{ name: 'api', url: 'https://github.com/acme/api' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] };
    const parsed = sweepSpecSchema.parse(minimal);
    expect(admit(specSchemaOf(SWEEP_KIND), minimal, 'spec').stored).toEqual(parsed);
    expect(parsed).toMatchObject({ concurrency: 5, failFast: false, retryPolicy: 'default', suspend: false, ttlSecondsAfterFinished: 3600, checks: [{ timeoutSeconds: 600 }] });
  });

  it('a Railway provider defaults to the public GraphQL endpoint', () => {
    const spec = deploySpecSchema.parse({
      service: 'api',
      version: '1',
      provider: { railway: { projectId: 'p', environmentId: 'e', serviceId: 's', image: 'ghcr.io/acme/api:1', tokenSecretRef: { name: 'railway', key: 'token' } } },
    });
    expect(spec.provider.railway?.endpoint).toBe('https://backboard.railway.com/graphql/v2');
  });
});
