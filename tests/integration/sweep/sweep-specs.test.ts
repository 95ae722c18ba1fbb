import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { startSweepCluster, sweep, SWEEPS_PATH, waitForSweep } from './sweep-suite.ts';

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let operator: SweepOperator;

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-specs'));
  operator = await startSweepOperator(cluster.kubeconfigPath, cluster.namespace);
});
afterAll(async () => {
  await operator.stop();
  await stopCluster();
});

const repository = { name: 'api', url: 'https://github.com/acme/api' };
const lint = { name: 'lint', runner: 'job', image: 'node:24' };

describe('Sweep specs the API server refuses', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a job check without an image', { repositories: [repository], checks: [{ name: 'lint', runner: 'job' }] }, /spec\.checks\[0\]\.image: Required value: image is required when runner is job/],
    [
      'an http check without its secretRef',
      { repositories: [repository], checks: [{ name: 'merge', runner: 'http', url: 'https://checker.example/merge' }] },
      /spec\.checks\[0\]\.secretRef: Required value: secretRef is required when runner is http/,
    ],
    ['job fields on an http check', { repositories: [repository], checks: [{ name: 'merge', runner: 'http', url: 'https://c.example/m', secretRef: { name: 's', key: 'k' }, image: 'node:24' }] }, /apply only when runner is job/],
    [
      'more than 1,000 units',
      { repositories: Array.from({ length: 501 }, (_, i) => ({ name: `r${i}`, url: `https://github.com/acme/r${i}` })), checks: [lint, { ...lint, name: 'test' }] },
      /repositories × checks must not exceed 1000 units/,
    ],
    ['two checks of one name', { repositories: [repository], checks: [lint, lint] }, /spec\.checks\[1\]: Duplicate value/],
    ['a concurrency of 0', { repositories: [repository], checks: [lint], concurrency: 0 }, /spec\.concurrency: Invalid value: 0: .*greater than or equal to 1/],
    ['a schedule that is not cron', { repositories: [repository], checks: [lint], schedule: 'every night' }, /spec\.schedule: Invalid value: "every night"/],
    ['an unknown runner', { repositories: [repository], checks: [{ name: 'lint', runner: 'lambda' }] }, /spec\.checks\[0\]\.runner: Unsupported value: "lambda"/],
  ];

  for (const [what, spec, message] of cases) {
    it(`rejects ${what} with 422 and a message naming the field`, async () => {
      const created = await cluster.request('POST', SWEEPS_PATH(cluster.namespace), { body: sweep(cluster.namespace, 'bad', spec) });
      expect(created.status).toBe(422);
      expect(created.json<{ message: string }>().message).toMatch(message);
    });
  }
});

describe('a Sweep spec the API server accepts and the operator cannot act on', () => {
  it('a schedule cron-parser refuses stalls the Sweep with reason InvalidSpec, naming the schedule', async () => {
    const created = await cluster.request('POST', SWEEPS_PATH(cluster.namespace), { body: sweep(cluster.namespace, 'bad-cron', { repositories: [repository], checks: [lint], schedule: '61 * * * *' }) });
    expect(created.status).toBe(201);
    const stalled = await waitForSweep(cluster, 'bad-cron', (status) => status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True') === true);
    expect(stalled.status?.phase).toBe('Failed');
    expect(stalled.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ reason: 'InvalidSpec', message: expect.stringMatching(/^invalid spec: spec\.schedule: .*not a valid cron schedule: .*61 expected range 0-59/) as unknown });
    expect(stalled.status?.results).toBeUndefined();
  });
});
