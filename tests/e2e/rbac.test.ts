import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DevCluster } from '../../src/devcluster/dev-cluster.ts';
import { WorkloadSimulator } from '../../src/devcluster/simulator.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { startCli, type CliProcess } from '../support/cli-process.ts';
import { startFakeChecker, type FakeChecker } from '../support/fakes/fake-checker.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/fakes/webhook-receiver.ts';
import { parsePrometheusText } from '../support/prometheus-text.ts';
import { REPO_ROOT, renderKustomization, theOne, type Manifest } from '../support/kustomize.ts';

// The operator as manifests/base installs it, proven end to end: an API server that enforces RBAC, the shipped
// ServiceAccount, ClusterRole and leader-election Role (and nothing else), `blackroad-operator run` with the
// Deployment's environment, leader election on, every namespace watched.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'e2e-rbac-'));
const HMAC_KEY = 'e2e-rbac-hmac-5f0c2a';
const APPS = 'shop';
const OPERATOR_NAMESPACE = 'blackroad-system';
const SERVICE_ACCOUNT = 'blackroad-os-operator';
/** Kinds of manifests/base applied to the cluster: what the operator needs to run, not its own workload. */
const INSTALLED_KINDS = new Set(['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

type RoleManifest = Manifest & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
}

let cluster: DevCluster;
let adminKubeconfig: string;
let operatorKubeconfig: string;
let stopSimulator: () => Promise<void>;
let checker: FakeChecker;
let hook: WebhookReceiver;
const base = renderKustomization('manifests/base');

const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', adminKubeconfig, ...args]);

/** Applies manifests as the cluster's admin, through a file (what `kubectl apply -f` sends). */
async function apply(name: string, manifests: readonly unknown[]): Promise<void> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, manifests.map((manifest) => stringify(manifest)).join('---\n'));
  await kubectl('apply', '-f', file);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The environment the Deployment of manifests/base gives the container, downward-API fields resolved for `pod`. */
function deploymentEnvironment(pod: string): Record<string, string> {
  const deployment = theOne(base, 'Deployment') as Manifest & { spec: { template: { spec: { containers: { name: string; env?: EnvVar[] }[] } } } };
  const container = deployment.spec.template.spec.containers.find((candidate) => candidate.name === 'operator');
  const fields: Record<string, string> = { 'metadata.name': pod, 'metadata.namespace': OPERATOR_NAMESPACE };
  return Object.fromEntries(
    (container?.env ?? []).map((variable) => {
      const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
      if (fieldPath === undefined) return [variable.name, variable.value ?? ''];
      const resolved = fields[fieldPath];
      if (resolved === undefined) throw new Error(`the Deployment reads ${fieldPath}, which this test does not resolve`);
      return [variable.name, resolved];
    }),
  );
}

interface Operator {
  readonly process: CliProcess;
  /** Samples of `rest_client_requests_total` answered 403. */
  forbidden(): Promise<number>;
  metric(name: string): Promise<number>;
}

/** `blackroad-operator run` as the shipped ServiceAccount, with the Deployment's environment and its metrics on a free port. */
async function startOperator(pod: string): Promise<Operator> {
  const metricsPort = await freePort();
  const env = { ...process.env, ...deploymentEnvironment(pod), KUBECONFIG: operatorKubeconfig, METRICS_BIND_ADDRESS: `127.0.0.1:${metricsPort}`, HEALTH_PROBE_BIND_ADDRESS: '0', SHUTDOWN_TIMEOUT_SECONDS: '5' };
  const operator = startCli(['run'], { cwd: REPO_ROOT, env });
  await operator.waitForOutput(/"msg":"operator started"/);
  const families = async () => parsePrometheusText(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  return {
    process: operator,
    forbidden: async () => ((await families()).get('rest_client_requests_total')?.samples ?? []).filter((sample) => sample.labels['code'] === '403').reduce((sum, sample) => sum + sample.value, 0),
    metric: async (name) => ((await families()).get(name)?.samples ?? []).reduce((sum, sample) => sum + sample.value, 0),
  };
}

/** Log lines of the operator that mention a refusal, for failure messages. */
const refusals = (operator: Operator): string =>
  operator.process.stdout
    .split('\n')
    .filter((line) => /forbidden|403/i.test(line))
    .slice(0, 5)
    .join('\n');

const deployment = (name: string, image: string, annotations: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: APPS, annotations: { 'devcluster.blackroad.io/delay-ms': '100', ...annotations } },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } } },
});
const deploy = (name: string, provider: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'operator.blackroad.io/v1alpha1',
  kind: 'Deploy',
  metadata: { name, namespace: APPS },
  spec: { service: name, version: '2.0.0', provider, ...extra },
});
const sweep = (name: string, checks: Record<string, unknown>[]) => ({
  apiVersion: 'operator.blackroad.io/v1alpha1',
  kind: 'Sweep',
  metadata: { name, namespace: APPS },
  spec: { repositories: [{ name: 'api', url: 'https://github.com/acme/api' }, { name: 'web', url: 'https://github.com/acme/web' }], checks, concurrency: 4 },
});
const jobCheck = { name: 'lint', runner: 'job', image: 'node:24', command: ['true'], annotations: { 'devcluster.blackroad.io/outcome': 'succeed', 'devcluster.blackroad.io/delay-ms': '100' } };

beforeAll(async () => {
  cluster = await DevCluster.start({ auth: { rbac: true } });
  adminKubeconfig = join(dir, 'admin.kubeconfig');
  cluster.writeKubeconfig(adminKubeconfig);
  const simulatorClient = KubeClient.fromFile(adminKubeconfig, {});
  const stopping = new AbortController();
  const simulating = new WorkloadSimulator({ client: simulatorClient, clock: systemClock, logger: createLogger({ level: 'silent' }), retryDelayMs: 100 }).run(stopping.signal);
  stopSimulator = async () => {
    stopping.abort();
    await simulating;
    simulatorClient.close();
  };
  checker = await startFakeChecker({ key: HMAC_KEY });
  hook = await startWebhookReceiver({ key: HMAC_KEY });

  await apply('install', base.filter((manifest) => INSTALLED_KINDS.has(manifest.kind)));
  await kubectl('wait', '--for=condition=Established', 'crd/deploys.operator.blackroad.io', 'crd/sweeps.operator.blackroad.io', '--timeout=30s');
  const { stdout: token } = await kubectl('create', 'token', SERVICE_ACCOUNT, '-n', OPERATOR_NAMESPACE, '--duration=1h');
  operatorKubeconfig = join(dir, 'operator.kubeconfig');
  cluster.writeKubeconfig(operatorKubeconfig, { token: token.trim() });

  await apply('namespace', [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APPS } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hmac', namespace: APPS }, stringData: { key: HMAC_KEY } },
  ]);
}, 60_000);

afterAll(async () => {
  await stopSimulator();
  await checker.close();
  await hook.close();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the operator under the shipped RBAC', () => {
  it('reconciles Deploys (kubernetes with a rollback, webhook with a Secret) and a Sweep (job + http) as the shipped ServiceAccount, leading through the Lease, and is never refused', async () => {
    const operator = await startOperator('blackroad-os-operator-e2e-0');
    try {
      await apply('workloads', [
        deployment('api', 'ghcr.io/acme/api:1.0.0'),
        deploy('api', { kubernetes: { deployment: 'api', container: 'api', image: 'ghcr.io/acme/api:2.0.0' } }),
        // The new image fails its rollout: the provider puts the recorded template back (an update of the Deployment).
        deployment('cart', 'ghcr.io/acme/cart:1.0.0', { 'devcluster.blackroad.io/fail-images': 'ghcr.io/acme/cart:2.0.0' }),
        deploy('cart', { kubernetes: { deployment: 'cart', container: 'cart', image: 'ghcr.io/acme/cart:2.0.0' } }),
        deploy('web', { webhook: { url: hook.url, secretRef: { name: 'hmac', key: 'key' } } }),
        sweep('nightly', [jobCheck, { name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'hmac', key: 'key' }, timeoutSeconds: 10 }]),
      ]);
      const waited = await kubectl('wait', '-n', APPS, '--for=condition=Ready', 'deploys/api', 'deploys/web', 'sweeps/nightly', '--timeout=30s').catch((error: unknown) => {
        throw new Error(`not Ready under the shipped RBAC: ${String(error)}\n${refusals(operator)}`);
      });
      expect(waited.stdout.trim().split('\n')).toHaveLength(3);
      await kubectl('wait', '-n', APPS, '--for=jsonpath={.status.phase}=RolledBack', 'deploys/cart', '--timeout=30s');
      const image = await kubectl('get', '-n', APPS, 'deployment/cart', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
      expect(image.stdout).toBe('ghcr.io/acme/cart:1.0.0');
      const summary = await kubectl('get', '-n', APPS, 'sweeps/nightly', '-o', 'jsonpath={.status.summary}');
      expect(JSON.parse(summary.stdout)).toEqual({ passed: 4, failed: 0, errored: 0, skipped: 0 });
      expect(checker.rejectedSignatures + hook.rejectedSignatures).toBe(0);
      const events = await kubectl('get', 'events.events.k8s.io', '-n', APPS, '-o', 'jsonpath={.items[*].reportingController}');
      expect(events.stdout).toContain('operator.blackroad.io/blackroad-os-operator');

      // Deletion: the finalizer's cleanup runs and the finalizer is removed, under the same rights.
      await kubectl('delete', '-n', APPS, 'sweeps/nightly', 'deploys/web', '--wait=true', '--timeout=30s');

      const holder = await kubectl('get', 'lease', 'blackroad-os-operator', '-n', OPERATOR_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}');
      expect(holder.stdout).toBe('blackroad-os-operator-e2e-0');
      expect(await operator.metric('leader_election_master_status')).toBe(1);
      expect(await operator.forbidden(), refusals(operator)).toBe(0);
    } finally {
      expect(await operator.process.stop(), operator.process.stderr.slice(-2000)).toBe(0);
    }
  }, 90_000);

  it('makes no progress when the ClusterRole lacks a rule the code needs (jobs: create), and the refusal shows', async () => {
    const shipped = theOne(base, 'ClusterRole', 'blackroad-os-operator') as RoleManifest;
    const withoutJobCreate = { ...shipped, rules: shipped.rules.map((rule) => (rule.resources.includes('jobs') ? { ...rule, verbs: rule.verbs.filter((verb) => verb !== 'create') } : rule)) };
    await apply('cluster-role-without-job-create', [withoutJobCreate]);
    const operator = await startOperator('blackroad-os-operator-e2e-1');
    try {
      await apply('sweep-without-jobs', [sweep('no-jobs', [jobCheck])]);
      await kubectl('wait', '-n', APPS, '--for=jsonpath={.status.phase}=Failed', 'sweeps/no-jobs', '--timeout=30s');
      const status = JSON.parse((await kubectl('get', '-n', APPS, 'sweeps/no-jobs', '-o', 'jsonpath={.status}')).stdout) as {
        summary: Record<string, number>;
        results: { state: string; message: string }[];
        conditions: { type: string; status: string }[];
      };
      expect(status.summary).toMatchObject({ passed: 0, errored: 2 });
      expect(status.conditions.find((condition) => condition.type === 'Ready')?.status).toBe('False');
      for (const result of status.results) expect(result.message).toMatch(/cannot create resource "jobs"/);
      expect(await operator.forbidden()).toBeGreaterThan(0);
    } finally {
      await operator.process.stop();
      await apply('cluster-role-restored', [shipped]);
    }
  }, 60_000);
});
