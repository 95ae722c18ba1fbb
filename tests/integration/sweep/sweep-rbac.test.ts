import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ClusterHarness } from '../../support/cluster.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { REPO_ROOT, startSweepOperator, type SweepOperator } from './sweep-operator.ts';
import { createSweep, eventually, finished, jobCheck, JobWatch, startSweepCluster, SWEEPS_PATH, waitForSweep } from './sweep-suite.ts';

const HMAC_KEY = 'sweep-rbac-suite-0d3e';

let cluster: ClusterHarness;
let stopCluster: () => Promise<void>;
let checker: FakeChecker;
let operator: SweepOperator | undefined;
let role = '';

beforeAll(async () => {
  ({ cluster, stop: stopCluster } = await startSweepCluster('sweep-rbac', { rbac: true }));
  checker = await startFakeChecker({ key: HMAC_KEY });
  role = `${cluster.namespace}-operator`;
  // The shipped ClusterRole, under a name of this suite's, bound to a ServiceAccount the operator runs as.
  const shipped = parse(readFileSync(join(REPO_ROOT, 'manifests/base/cluster-role.yaml'), 'utf8')) as { rules: unknown[] };
  const calls = [
    cluster.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: role }, rules: shipped.rules } }),
    cluster.request('POST', `/api/v1/namespaces/${cluster.namespace}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'checker' }, stringData: { hmac: HMAC_KEY } } }),
  ];
  for (const call of calls) expect((await call).status).toBe(201);
  await cluster.bindClusterRole(role, 'operator');
});
afterAll(async () => {
  await operator?.stop();
  await checker.close();
  await cluster.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}`);
  await cluster.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}`);
  await stopCluster();
});

describe('the Sweep controller under the shipped ClusterRole', () => {
  it('runs job and http checks and lets a deleted Sweep go, with no permission beyond the ClusterRole', async () => {
    const token = await cluster.serviceAccountToken('operator');
    operator = await startSweepOperator(cluster.kubeconfigForToken(token), cluster.namespace);
    const watch = await JobWatch.start(cluster);
    try {
      await createSweep(cluster, 'least-privilege', {
        repositories: [
          { name: 'api', url: 'https://github.com/acme/api' },
          { name: 'web', url: 'https://github.com/acme/web' },
        ],
        checks: [
          jobCheck('lint', 'succeed'),
          { name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds: 10 },
        ],
      });
      const done = await waitForSweep(cluster, 'least-privilege', finished, 30_000);
      expect(done.status?.phase).toBe('Succeeded');
      expect(done.status?.summary).toEqual({ passed: 4, failed: 0, errored: 0, skipped: 0 });
      expect(watch.created).toHaveLength(2);
      expect(checker.rejectedSignatures).toBe(0);

      const deleted = await cluster.request('DELETE', `${SWEEPS_PATH(cluster.namespace)}/least-privilege`);
      expect(deleted.status).toBeLessThan(300);
      await eventually(async () => (await cluster.request('GET', `${SWEEPS_PATH(cluster.namespace)}/least-privilege`)).status === 404);
      const metrics = await operator.metrics();
      expect(metrics).not.toMatch(/rest_client_requests_total\{code="403"/);
    } finally {
      await watch.stop();
    }
  }, 60_000);
});
