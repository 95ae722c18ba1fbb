// What the Sweep integration suites share: a cluster with the Sweep CRD, the workload simulator, the operator, Sweeps and a watch on their Jobs.
import { setTimeout as delay } from 'node:timers/promises';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import { GROUP_VERSION } from '../../../src/api/group-version.ts';
import { KINDS } from '../../../src/api/kinds.ts';
import type { Sweep, SweepStatus } from '../../../src/api/sweep.ts';
import { WorkloadSimulator } from '../../../src/devcluster/simulator.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import { CHECK_LABEL, REPOSITORY_LABEL } from '../../../src/providers/checks/job-check-manifest.ts';
import { startCluster, type ClusterHarness, type RawStream } from '../../support/cluster.ts';

/** Every kind's CRD: the operator runs both controllers. */
export const CRDS = KINDS.map((kind) => customResourceDefinition(kind) as unknown as Record<string, unknown>);
export const SWEEPS_PATH = (namespace: string): string => `/apis/${GROUP_VERSION}/namespaces/${namespace}/sweeps`;
export const JOBS_PATH = (namespace: string): string => `/apis/batch/v1/namespaces/${namespace}/jobs`;

/**
 * A cluster with the operator's CRDs. On the devcluster, the workload simulator completes Jobs as their annotations
 * say; a real cluster (TEST_KUBECONFIG) runs them, and {@link jobCheck}'s commands give the same outcomes.
 */
export async function startSweepCluster(suite: string, options: { readonly rbac?: boolean } = {}): Promise<{ cluster: ClusterHarness; stop: () => Promise<void> }> {
  const cluster = await startCluster({ suite, crds: CRDS, ...options });
  const client = KubeClient.fromFile(cluster.kubeconfigPath, { fieldManager: 'workload-simulator' });
  const stopping = new AbortController();
  const simulating = cluster.devcluster === null ? Promise.resolve() : new WorkloadSimulator({ client, clock: systemClock, logger: createLogger({ level: 'silent' }), retryDelayMs: 100 }).run(stopping.signal);
  return {
    cluster,
    stop: async () => {
      stopping.abort();
      await simulating;
      client.close();
      await cluster.stop();
    },
  };
}

/**
 * A `job` check whose Jobs end as asked on the devcluster (the simulator reads the annotations) and on a real
 * cluster (the command): `succeed` and `fail` after `delayMs`; `hold` never ends on its own (the test finishes it).
 */
export function jobCheck(name: string, outcome: 'succeed' | 'fail' | 'hold', delayMs = 20): Record<string, unknown> {
  const seconds = (delayMs / 1000).toFixed(3);
  const script = outcome === 'hold' ? 'sleep 3600' : `sleep ${seconds}; exit ${outcome === 'fail' ? 1 : 0}`;
  return {
    name,
    runner: 'job',
    image: 'busybox:1.36',
    command: ['sh', '-c', script],
    annotations: { 'devcluster.blackroad.io/outcome': outcome === 'fail' ? 'fail' : 'succeed', 'devcluster.blackroad.io/delay-ms': String(outcome === 'hold' ? 3_600_000 : delayMs) },
  };
}

/** A Sweep manifest in `namespace`. */
export function sweep(namespace: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: GROUP_VERSION, kind: 'Sweep', metadata: { name, namespace }, spec };
}

export async function createSweep(cluster: ClusterHarness, name: string, spec: Record<string, unknown>): Promise<Sweep> {
  const created = await cluster.request('POST', SWEEPS_PATH(cluster.namespace), { body: sweep(cluster.namespace, name, spec) });
  if (created.status !== 201) throw new Error(`creating Sweep ${name}: ${created.status} ${created.text}`);
  return created.json<Sweep>();
}

export async function readSweep(cluster: ClusterHarness, name: string): Promise<Sweep> {
  const read = await cluster.request('GET', `${SWEEPS_PATH(cluster.namespace)}/${name}`);
  if (read.status !== 200) throw new Error(`reading Sweep ${name}: ${read.status} ${read.text}`);
  return read.json<Sweep>();
}

/** Creates Secret `checker` holding the http checks' HMAC key under `hmac`. */
export async function createCheckerSecret(cluster: ClusterHarness, key: string): Promise<void> {
  const secret = await cluster.request('POST', `/api/v1/namespaces/${cluster.namespace}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'checker' }, stringData: { hmac: key } },
  });
  if (secret.status !== 201) throw new Error(`creating the Secret: ${secret.status} ${secret.text}`);
}

/** Polls the Sweep until `done` holds for its status; throws with the last status after `timeoutMs`. */
export async function waitForSweep(cluster: ClusterHarness, name: string, done: (status: SweepStatus | undefined) => boolean, timeoutMs = 60_000): Promise<Sweep> {
  const deadline = Date.now() + timeoutMs;
  let last: Sweep | undefined;
  while (Date.now() < deadline) {
    last = await readSweep(cluster, name);
    if (done(last.status)) return last;
    await delay(50);
  }
  throw new Error(`Sweep ${name} did not get there within ${timeoutMs} ms; last status: ${JSON.stringify({ ...last?.status, results: last?.status?.results?.filter((r) => r.state !== 'Passed').slice(0, 5) })}`);
}

/** Resolves once `condition` holds, polling every 50 ms; throws after `timeoutMs`. */
export async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`the condition did not hold within ${timeoutMs} ms`);
    await delay(50);
  }
}

/** Reasons of the Kubernetes Events recorded about Sweep `name`. */
export async function sweepEventReasons(cluster: ClusterHarness, name: string): Promise<string[]> {
  const response = await cluster.request('GET', `/apis/events.k8s.io/v1/namespaces/${cluster.namespace}/events`);
  const items = response.json<{ items: { reason?: string; regarding?: { kind?: string; name?: string } }[] }>().items;
  return items.filter((event) => event.regarding?.kind === 'Sweep' && event.regarding.name === name).map((event) => event.reason ?? '');
}

/** The run has finished (Succeeded or Failed). */
export const finished = (status: SweepStatus | undefined): boolean => status?.workflow?.finishedAt !== undefined && (status.phase === 'Succeeded' || status.phase === 'Failed');

interface JobEvent {
  readonly type: string;
  readonly object: {
    readonly metadata: { readonly name?: string; readonly uid?: string; readonly labels?: Record<string, string> };
    readonly status?: { readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
  };
}

/**
 * Watches the namespace's Jobs and keeps count: every Job created (by uid), the most unfinished at once,
 * and what a test asks of each new Job (finish it, delete it).
 */
export class JobWatch {
  /** Names of the Jobs created, once per Job (a name twice means it was created again). */
  readonly created: string[] = [];
  peakActive = 0;
  readonly #active = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #stream: RawStream;
  readonly #running: Promise<void>;
  #closed = false;
  onCreated: ((job: { name: string; repository: string; check: string }) => void) | undefined;

  private constructor(stream: RawStream) {
    this.#stream = stream;
    this.#running = this.#read();
  }

  static async start(cluster: ClusterHarness): Promise<JobWatch> {
    const list = await cluster.request('GET', JOBS_PATH(cluster.namespace));
    const resourceVersion = list.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    const stream = await cluster.stream(`${JOBS_PATH(cluster.namespace)}?watch=true&resourceVersion=${resourceVersion}&allowWatchBookmarks=true`);
    if (stream.status !== 200) throw new Error(`watching Jobs: HTTP ${stream.status}`);
    return new JobWatch(stream);
  }

  get active(): number {
    return this.#active.size;
  }

  async #read(): Promise<void> {
    while (!this.#closed) {
      let event: JobEvent | undefined;
      try {
        event = await this.#stream.next<JobEvent>(3_600_000);
      } catch {
        return;
      }
      if (event === undefined) return;
      const { name = '', uid = '', labels = {} } = event.object.metadata;
      const done = (event.object.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      if (event.type === 'ADDED' && !this.#seen.has(uid)) {
        this.#seen.add(uid);
        this.created.push(name);
        this.onCreated?.({ name, repository: labels[REPOSITORY_LABEL] ?? '', check: labels[CHECK_LABEL] ?? '' });
      }
      if (event.type === 'DELETED' || done) this.#active.delete(uid);
      else if (event.type === 'ADDED' || event.type === 'MODIFIED') this.#active.add(uid);
      this.peakActive = Math.max(this.peakActive, this.#active.size);
    }
  }

  async stop(): Promise<void> {
    this.#closed = true;
    this.#stream.close();
    await this.#running;
  }
}

/** Finishes Job `name` as the Job controller would: Complete, Failed, or Failed by its deadline. */
export async function finishJob(cluster: ClusterHarness, name: string, outcome: 'Complete' | 'Failed' | 'DeadlineExceeded'): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition =
    outcome === 'Complete'
      ? { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods', lastTransitionTime: now, lastProbeTime: now }
      : outcome === 'Failed'
        ? { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now, lastProbeTime: now }
        : { type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline', lastTransitionTime: now, lastProbeTime: now };
  const status = { startTime: now, ...(outcome === 'Complete' ? { completionTime: now, succeeded: 1 } : { failed: 1 }), active: null, conditions: [condition] };
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const patched = await cluster.request('PATCH', `${JOBS_PATH(cluster.namespace)}/${name}/status`, { body: { status }, contentType: 'application/merge-patch+json' });
    if (patched.status === 200) return;
    if (patched.status !== 409 && patched.status !== 404) throw new Error(`finishing Job ${name}: ${patched.status} ${patched.text}`);
    await delay(20);
  }
  throw new Error(`finishing Job ${name}: it kept conflicting`);
}
