import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sweepSpecSchema } from '../../../src/api/sweep.ts';
import type { CheckUnit } from '../../../src/providers/checks/check-runner.ts';
import { checkJobLabels, checkJobName, jobCheckManifest, labelValue } from '../../../src/providers/checks/job-check-manifest.ts';
import { InvalidSpecError } from '../../../src/providers/provider-error.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function unit(overrides: Partial<CheckUnit> = {}, check: Record<string, unknown> = {}): CheckUnit {
  const spec = sweepSpecSchema.parse({
    repositories: [{ name: 'api', url: 'https://github.com/acme/api', ref: 'main' }],
    checks: [
      {
        name: 'lint',
        runner: 'job',
        image: 'node:24',
        command: ['npm'],
        args: ['run', 'lint'],
        env: [{ name: 'CI', value: 'true' }, { name: 'REPOSITORY_URL', value: 'spoofed' }],
        annotations: { 'devcluster.blackroad.io/outcome': 'fail', 'devcluster.blackroad.io/delay-ms': '50' },
        resources: { limits: { cpu: '1', memory: '512Mi' } },
        timeoutSeconds: 600,
        ...check,
      },
    ],
  });
  return {
    sweep: { name: 'nightly', namespace: 'ci', uid: '7c1e7f6a-1111-4a4a-9b9b-000000000001' },
    runId: '7c1e7f6a-1111-4a4a-9b9b-000000000001/4',
    repository: spec.repositories[0] as CheckUnit['repository'],
    check: spec.checks[0] as CheckUnit['check'],
    ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
    ...overrides,
  };
}

describe('checkJobName', () => {
  it('is the same for the same run, repository and check, and differs when any of them differs', () => {
    const name = checkJobName('nightly', 'run-1', 'api', 'lint');

    expect(checkJobName('nightly', 'run-1', 'api', 'lint')).toBe(name);
    expect(name).toMatch(/^nightly-[0-9a-f]{10}$/);
    expect(new Set([name, checkJobName('nightly', 'run-2', 'api', 'lint'), checkJobName('nightly', 'run-1', 'web', 'lint'), checkJobName('nightly', 'run-1', 'api', 'test')]).size).toBe(4);
  });

  it('is a DNS-1123 label of at most 63 characters for any Sweep name', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/), fc.string(), fc.string(), fc.string(), (sweep, run, repository, check) => {
        const name = checkJobName(sweep, run, repository, check);
        expect(name.length).toBeLessThanOrEqual(63);
        expect(name).toMatch(DNS1123_LABEL);
      }),
    );
  });
});

describe('labelValue', () => {
  it('keeps a valid value and makes any other one valid, distinct values staying distinct', () => {
    expect(labelValue('api')).toBe('api');
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (a, b) => {
        expect(labelValue(a)).toMatch(LABEL_VALUE);
        expect(labelValue(a).length).toBeLessThanOrEqual(63);
        if (a !== b && labelValue(a) === labelValue(b)) expect(LABEL_VALUE.test(a) && a.length <= 63).toBe(false);
      }),
    );
    expect(labelValue('uid-1/4')).toMatch(/^uid-1-4-[0-9a-f]{8}$/);
  });
});

describe('jobCheckManifest', () => {
  it('builds a Job owned by the Sweep that runs the check once against the repository', () => {
    const job = jobCheckManifest(unit(), 'key-1');

    expect(job.metadata).toMatchObject({
      name: checkJobName('nightly', '7c1e7f6a-1111-4a4a-9b9b-000000000001/4', 'api', 'lint'),
      namespace: 'ci',
      ownerReferences: [{ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Sweep', name: 'nightly', uid: '7c1e7f6a-1111-4a4a-9b9b-000000000001', controller: true, blockOwnerDeletion: true }],
      annotations: { 'devcluster.blackroad.io/outcome': 'fail', 'devcluster.blackroad.io/delay-ms': '50', 'operator.blackroad.io/idempotency-key': 'key-1' },
    });
    expect(job.metadata.labels).toEqual({
      'operator.blackroad.io/sweep': 'nightly',
      'operator.blackroad.io/sweep-uid': '7c1e7f6a-1111-4a4a-9b9b-000000000001',
      'operator.blackroad.io/run': labelValue('7c1e7f6a-1111-4a4a-9b9b-000000000001/4'),
      'operator.blackroad.io/repository': 'api',
      'operator.blackroad.io/check': 'lint',
      'app.kubernetes.io/managed-by': 'blackroad-os-operator',
    });
    expect(job.spec).toEqual({
      backoffLimit: 0,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: job.metadata.labels, annotations: { 'devcluster.blackroad.io/outcome': 'fail', 'devcluster.blackroad.io/delay-ms': '50' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'check',
              image: 'node:24',
              command: ['npm'],
              args: ['run', 'lint'],
              env: [
                { name: 'CI', value: 'true' },
                { name: 'REPOSITORY_NAME', value: 'api' },
                { name: 'REPOSITORY_URL', value: 'https://github.com/acme/api' },
                { name: 'REPOSITORY_REF', value: 'main' },
                { name: 'CHECK_NAME', value: 'lint' },
              ],
              resources: { limits: { cpu: '1', memory: '512Mi' } },
            },
          ],
        },
      },
    });
  });

  it('makes label values of a long Sweep name and a run id with slashes valid', () => {
    const labels = checkJobLabels(unit({ sweep: { name: `sweep.${'a'.repeat(100)}`, namespace: 'ci', uid: 'u' }, runId: 'u/12' }));

    for (const value of Object.values(labels)) expect(value).toMatch(LABEL_VALUE);
    expect(labels['operator.blackroad.io/sweep']?.length).toBeLessThanOrEqual(63);
  });

  it('refuses a check that is not a job check', () => {
    const httpUnit = unit({ check: { name: 'merge', runner: 'http', url: 'https://checker.example/', secretRef: { name: 's', key: 'k' }, timeoutSeconds: 60 } });

    expect(() => jobCheckManifest(httpUnit, 'key')).toThrow(InvalidSpecError);
  });
});
