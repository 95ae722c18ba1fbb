// The Deploy integration suites' world: a cluster (devcluster with the simulator, or TEST_KUBECONFIG), the real operator, and helpers.
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import { KINDS } from '../../../src/api/kinds.ts';
import type { OperatorTuning } from '../../../src/cli/operator.ts';
import { deploySpecOf } from '../../../src/controllers/deploy/deploy-resource.ts';
import type { DeployTuning } from '../../../src/controllers/deploy/deploy-workflow.ts';
import { deploySpecHash } from '../../../src/controllers/deploy/deploy-run.ts';
import { WorkloadSimulator } from '../../../src/devcluster/simulator.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { exponentialBackoff } from '../../../src/resilience/backoff.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import { idempotencyKey } from '../../../src/resilience/idempotency-store.ts';
import type { RetrySettings } from '../../../src/resilience/retry.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { startInProcessOperator, type InProcessOperator } from '../../support/in-process-operator.ts';

/** Images that exist on a real registry (for TEST_KUBECONFIG); the devcluster accepts any. */
export const OLD_IMAGE = 'registry.k8s.io/pause:3.9';
export const NEW_IMAGE = 'registry.k8s.io/pause:3.10';
/** An image no registry serves: its rollout fails (the simulator is told so by the fail-images annotation). */
export const BAD_IMAGE = 'registry.invalid/blackroad/missing:1.0.0';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The retry presets of the suites: 100 ms doubling to 1 s, no jitter. */
export const TEST_RETRY: { readonly default: RetrySettings; readonly critical: RetrySettings } = {
  default: { name: 'default', maxAttempts: 5, backoff: exponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 'none' }), attemptTimeoutMs: 10_000, maxInCallWaitMs: 0 },
  critical: { name: 'critical', maxAttempts: 10, backoff: exponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 'none' }), attemptTimeoutMs: 10_000, maxInCallWaitMs: 0 },
};

/** The Deploy workflow's timings in the suites. */
export const TEST_DEPLOY_TUNING: DeployTuning = { rolloutPollMs: { minMs: 100, maxMs: 500 }, approvalRecheckMs: 60_000, validateRecheckMs: { minMs: 100, maxMs: 500 } };

/** Short timings, so every wait of a test takes a fraction of a second; the logic is the production one. */
export const TEST_TUNING: OperatorTuning = {
  breakers: { consecutiveFailures: 3, halfOpenAfterMs: 1_500 },
  retry: TEST_RETRY,
  deploy: TEST_DEPLOY_TUNING,
  agentSampleMs: 100,
};

interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
}

/** A Deploy as read back from the API server. */
export interface DeployView {
  readonly metadata: { readonly name: string; readonly uid: string; readonly generation: number; readonly finalizers?: string[]; readonly annotations?: Record<string, string> };
  readonly spec: Record<string, unknown>;
  readonly status?: {
    readonly phase?: string;
    readonly observedGeneration?: number;
    readonly conditions?: Condition[];
    readonly workflow?: { readonly id: string; readonly finishedAt?: string; readonly steps: { name: string; state: string; attempts: number; message?: string; nextAttemptAt?: string }[] };
    readonly revision?: number;
    readonly current?: { version: string; image?: string };
    readonly previous?: { version: string; image?: string };
    readonly providerRef?: { provider: string; id: string };
    readonly rollback?: { state: string; reason: string; message: string; toVersion: string; toImage?: string };
    readonly approval?: { required: boolean; approvedBy?: string };
    readonly health?: { consecutiveSuccesses: number; consecutiveFailures: number };
  };
}

export const condition = (deploy: DeployView, type: string): Condition | undefined => deploy.status?.conditions?.find((entry) => entry.type === type);
/**
 * The idempotency key of a step's side effect in the run the spec of `generation` started: the run is labelled with
 * the hash of the spec it deploys, so `deploy` is the object as created (or as of that generation).
 */
export function deployKey(deploy: { readonly body: Record<string, unknown> } | DeployView, generation = 1, step = 'deploy', unit = step): string {
  const object = ('body' in deploy ? deploy.body : deploy) as { metadata: { uid: string }; spec?: unknown };
  return idempotencyKey({ uid: object.metadata.uid, generation, run: deploySpecHash(deploySpecOf(object as never)), step, unit });
}

export const stepOf = (deploy: DeployView, name: string) => deploy.status?.workflow?.steps.find((entry) => entry.name === name);

/** A running operator. */
export type OperatorUnderTest = InProcessOperator;

export interface DeploySuite {
  readonly cluster: ClusterHarness;
  readonly namespace: string;
  readonly client: KubeClient;
  /** Starts the operator in this process, watching the suite's namespace. */
  startOperator(options?: { readonly tuning?: OperatorTuning; readonly env?: Record<string, string> }): Promise<OperatorUnderTest>;
  createSecret(name: string, data: Record<string, string>): Promise<void>;
  createDeployment(name: string, options?: { readonly image?: string; readonly annotations?: Record<string, string>; readonly replicas?: number }): Promise<void>;
  deploymentImage(name: string): Promise<string | undefined>;
  /** POSTs a Deploy; answers the API server's status code and body. */
  applyDeploy(name: string, spec: Record<string, unknown>, metadata?: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  getDeploy(name: string): Promise<DeployView | undefined>;
  patchDeploy(name: string, patch: Record<string, unknown>): Promise<DeployView>;
  deleteDeploy(name: string): Promise<void>;
  /** Polls the Deploy until `done` holds; fails with its last status after `timeoutMs`. */
  waitForDeploy(name: string, done: (deploy: DeployView) => boolean, timeoutMs?: number): Promise<DeployView>;
  /** Reasons of the Kubernetes Events recorded about a Deploy. */
  eventReasons(name: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts the suite's cluster (CRDs installed) and, on the devcluster, the workload simulator. */
export async function startDeploySuite(suite: string): Promise<DeploySuite> {
  const cluster = await startCluster({ suite, crds: KINDS.map((kind) => customResourceDefinition(kind) as unknown as Record<string, unknown>) });
  const namespace = cluster.namespace;
  const client = KubeClient.fromKubeConfig(cluster.kubeConfig);
  const simulation = new AbortController();
  const simulating =
    cluster.devcluster === null
      ? Promise.resolve()
      : new WorkloadSimulator({ client, clock: systemClock, logger: pino({ level: 'silent' }), retryDelayMs: 100 }).run(simulation.signal);
  const operators: OperatorUnderTest[] = [];
  const deploys = `/apis/operator.blackroad.io/v1alpha1/namespaces/${namespace}/deploys`;

  const expectOk = async (what: string, call: Promise<{ status: number; text: string }>): Promise<void> => {
    const response = await call;
    if (response.status >= 300) throw new Error(`${what}: HTTP ${response.status} ${response.text}`);
  };

  const self: DeploySuite = {
    cluster,
    namespace,
    client,
    async startOperator(options = {}) {
      const env = { HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0', LOG_LEVEL: 'debug', ...options.env };
      const operator = await startInProcessOperator({ kubeconfigPath: cluster.kubeconfigPath, namespace, tuning: options.tuning ?? TEST_TUNING, env, logLevel: 'debug' });
      operators.push(operator);
      return operator;
    },
    async createSecret(name, data) {
      const encoded = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
      await expectOk(`creating Secret ${name}`, cluster.request('POST', `/api/v1/namespaces/${namespace}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: encoded } }));
    },
    async createDeployment(name, options = {}) {
      const body = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, annotations: { 'devcluster.blackroad.io/delay-ms': '100', ...options.annotations } },
        spec: {
          replicas: options.replicas ?? 1,
          progressDeadlineSeconds: 15,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: options.image ?? OLD_IMAGE }] } },
        },
      };
      await expectOk(`creating Deployment ${name}`, cluster.request('POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, { body }));
    },
    async deploymentImage(name) {
      const response = await cluster.request('GET', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
      return response.json<{ spec: { template: { spec: { containers: { image: string }[] } } } }>().spec.template.spec.containers[0]?.image;
    },
    async applyDeploy(name, spec, metadata = {}) {
      const response = await cluster.request('POST', deploys, { body: { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', metadata: { name, ...metadata }, spec } });
      return { status: response.status, body: response.json() };
    },
    async getDeploy(name) {
      const response = await cluster.request('GET', `${deploys}/${name}`);
      return response.status === 404 ? undefined : response.json<DeployView>();
    },
    async patchDeploy(name, patch) {
      const response = await cluster.request('PATCH', `${deploys}/${name}`, { body: patch, contentType: 'application/merge-patch+json' });
      if (response.status !== 200) throw new Error(`patching Deploy ${name}: HTTP ${response.status} ${response.text}`);
      return response.json<DeployView>();
    },
    async deleteDeploy(name) {
      await expectOk(`deleting Deploy ${name}`, cluster.request('DELETE', `${deploys}/${name}`));
    },
    async waitForDeploy(name, done, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: DeployView | undefined;
      for (;;) {
        last = await self.getDeploy(name);
        if (last !== undefined && done(last)) return last;
        if (Date.now() > deadline) throw new Error(`Deploy ${name} did not reach the expected state within ${timeoutMs} ms; last status: ${JSON.stringify(last?.status)}`);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    },
    async eventReasons(name) {
      const response = await cluster.request('GET', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`);
      const items = response.json<{ items: { reason?: string; regarding?: { kind?: string; name?: string } }[] }>().items;
      return items.filter((event) => event.regarding?.kind === 'Deploy' && event.regarding.name === name).map((event) => event.reason ?? '');
    },
    async stop() {
      for (const operator of operators) await operator.stop();
      simulation.abort();
      await simulating;
      client.close();
      await cluster.stop();
    },
  };
  return self;
}

/** A Deploy spec with the kubernetes provider. */
export function kubernetesSpec(deployment: string, image: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { service: deployment, version: image.slice(image.lastIndexOf(':') + 1), provider: { kubernetes: { deployment, container: deployment, image } }, ...extra };
}

/** A health check that decides within a second or two. */
export function quickHealthCheck(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { url, intervalSeconds: 1, timeoutSeconds: 30, successThreshold: 1, failureThreshold: 2, ...extra };
}
