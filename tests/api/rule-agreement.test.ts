import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openApiSchemaOf } from '../../src/api/crd.ts';
import { DEPLOY_KIND, deploySpecSchema } from '../../src/api/deploy.ts';
import type { SchemaNode } from '../../src/api/structural-schema.ts';
import { SWEEP_KIND, sweepSpecSchema } from '../../src/api/sweep.ts';
import { admit } from './crd-model.ts';

const deploySchema = openApiSchemaOf(DEPLOY_KIND).properties?.['spec'] as SchemaNode;
const sweepSchema = openApiSchemaOf(SWEEP_KIND).properties?.['spec'] as SchemaNode;

const secretRef = { name: 'creds', key: 'value' };
const providers = fc.record(
  {
    kubernetes: fc.constant({ deployment: 'api', container: 'api', image: 'ghcr.io/acme/api:1' }),
    railway: fc.constant({ projectId: 'p', environmentId: 'e', serviceId: 's', image: 'ghcr.io/acme/api:1', tokenSecretRef: secretRef }),
    webhook: fc.constant({ url: 'https://hooks.example/deploy', secretRef }),
  },
  { requiredKeys: [] },
);

const deploySpecs = fc.record({
  service: fc.constant('api'),
  version: fc.constant('1.0.0'),
  provider: providers,
  healthCheck: fc.record({ url: fc.constant('https://api.example/healthz'), intervalSeconds: fc.integer({ min: 1, max: 3600 }), timeoutSeconds: fc.integer({ min: 1, max: 86400 }) }, { requiredKeys: ['url'] }),
  compliance: fc.record({ sensitive: fc.boolean(), requireApproval: fc.boolean() }, { requiredKeys: [] }),
});

const checks = fc.record(
  {
    name: fc.constant('check'),
    runner: fc.constantFrom('job', 'http'),
    image: fc.constant('node:24'),
    command: fc.constant(['npm']),
    args: fc.constant(['test']),
    env: fc.constant([{ name: 'CI', value: 'true' }]),
    resources: fc.constant({ limits: { cpu: '500m', memory: '512Mi' } }),
    annotations: fc.constant({ 'example.com/team': 'core' }),
    url: fc.constant('https://checker.example/run'),
    secretRef: fc.constant(secretRef),
  },
  { requiredKeys: ['name', 'runner'] },
);

const repositories = (count: number) => Array.from({ length: count }, (_, index) => ({ name: `r${index}`, url: `https://git.example/r${index}` }));

describe('the CEL rules of the CRD and the zod refinements agree', () => {
  it('on every combination of providers, probe timings and compliance flags of a Deploy', () => {
    fc.assert(
      fc.property(deploySpecs, (spec) => {
        const zodAccepts = deploySpecSchema.safeParse(spec).success;
        const crdAccepts = admit(deploySchema, spec, 'spec').errors.length === 0;
        expect(crdAccepts).toBe(zodAccepts);
      }),
      { numRuns: 300 },
    );
  });

  it('on every combination of runner and runner fields of a Sweep check', () => {
    fc.assert(
      fc.property(checks, (check) => {
        const spec = { repositories: repositories(1), checks: [check] };
        expect(admit(sweepSchema, spec, 'spec').errors.length === 0).toBe(sweepSpecSchema.safeParse(spec).success);
      }),
      { numRuns: 300 },
    );
  });

  it('on the 1,000-unit cap for any number of repositories and checks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 4 }), (repositoryCount, checkCount) => {
        const spec = {
          repositories: repositories(repositoryCount),
          checks: Array.from({ length: checkCount }, (_, index) => ({ name: `c${index}`, runner: 'job', image: 'node:24' })),
        };
        const zodAccepts = sweepSpecSchema.safeParse(spec).success;
        expect(zodAccepts).toBe(repositoryCount * checkCount <= 1000);
        expect(admit(sweepSchema, spec, 'spec').errors.length === 0).toBe(zodAccepts);
      }),
      { numRuns: 60 },
    );
  });
});
