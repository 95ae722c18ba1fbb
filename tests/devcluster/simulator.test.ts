import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DELAY_ANNOTATION, FAIL_IMAGES_ANNOTATION, OUTCOME_ANNOTATION, WorkloadSimulator } from '../../src/devcluster/simulator.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { FAULTS_AVAILABLE, skipReason, startCluster, type ClusterHarness } from '../support/cluster.ts';

let cluster: ClusterHarness;
const controller = new AbortController();
let running: Promise<void>;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'simulator' });
  client = KubeClient.fromKubeConfig(cluster.kubeConfig);
  const simulator = new WorkloadSimulator({ client, clock: systemClock, logger: pino({ level: 'silent' }), retryDelayMs: 100 });
  running = simulator.run(controller.signal);
});
afterAll(async () => {
  controller.abort();
  await running;
  client.close();
  await cluster.stop();
});

type Obj = { metadata: { generation: number }; status?: { observedGeneration?: number; replicas?: number; availableReplicas?: number; updatedReplicas?: number; succeeded?: number; failed?: number; startTime?: string; conditions?: { type: string; status: string; reason: string }[] } };

async function until(path: string, done: (obj: Obj) => boolean, timeoutMs = 10_000): Promise<Obj> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const obj = (await cluster.request('GET', path)).json<Obj>();
    if (done(obj)) return obj;
    if (Date.now() > deadline) throw new Error(`${path} did not reach the expected state: ${JSON.stringify(obj.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const condition = (obj: Obj, type: string) => obj.status?.conditions?.find((c) => c.type === type);

function deployment(name: string, annotations: Record<string, string>, image = 'nginx:1.27') {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, annotations },
    spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } } },
  };
}

describe('workload simulator', () => {
  it('rolls a Deployment out after its delay: observedGeneration, replicas and Available', async () => {
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments`;
    await cluster.request('POST', path, { body: deployment('web', { [DELAY_ANNOTATION]: '150' }) });
    const progressing = await until(`${path}/web`, (obj) => obj.status?.observedGeneration === 1);
    expect(condition(progressing, 'Progressing')?.reason).toBe('ReplicaSetUpdated');
    const done = await until(`${path}/web`, (obj) => condition(obj, 'Available')?.status === 'True');
    expect(done.status).toMatchObject({ observedGeneration: 1, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(condition(done, 'Progressing')).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
  });

  it.skipIf(!FAULTS_AVAILABLE)('finishes a rollout whose status writes failed: it tries again, as a controller requeues', async () => {
    const faults = cluster.faults;
    if (faults === null) return void skipReason('simulator retrying failed writes');
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments`;
    // The finishing write fails twice: no later event would bring the Deployment back to the simulator.
    await cluster.request('POST', path, { body: deployment('flaky', { [DELAY_ANNOTATION]: '300' }) });
    await until(`${path}/flaky`, (obj) => obj.status?.observedGeneration === 1);
    faults.failNext({ verb: 'update', resource: 'deployments/status', group: 'apps', namespace: cluster.namespace, name: 'flaky', code: 500, count: 2 });
    const done = await until(`${path}/flaky`, (obj) => condition(obj, 'Available')?.status === 'True');
    expect(done.status).toMatchObject({ observedGeneration: 1, availableReplicas: 3 });
  });

  it('fails the rollout of a bad image and rolls the good one out again, as a real cluster would', async () => {
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments`;
    await cluster.request('POST', path, { body: deployment('bad-image', { [DELAY_ANNOTATION]: '20', [FAIL_IMAGES_ANNOTATION]: 'nginx:broken, other:1' }) });
    await until(`${path}/bad-image`, (obj) => condition(obj, 'Available')?.status === 'True');
    const patch = (image: string) => cluster.request('PATCH', `${path}/bad-image`, { body: { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } }, contentType: 'application/strategic-merge-patch+json' });
    await patch('nginx:broken');
    const failed = await until(`${path}/bad-image`, (obj) => obj.status?.observedGeneration === 2 && condition(obj, 'Progressing')?.reason === 'ProgressDeadlineExceeded');
    expect(condition(failed, 'Available')?.status).toBe('False');
    await patch('nginx:1.27');
    await until(`${path}/bad-image`, (obj) => obj.status?.observedGeneration === 3 && condition(obj, 'Progressing')?.reason === 'NewReplicaSetAvailable');
  });

  it('rolls out again when the template changes (a new generation)', async () => {
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments/web`;
    await cluster.request('PATCH', path, { body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:1.28' }] } } } }, contentType: 'application/strategic-merge-patch+json' });
    const done = await until(path, (obj) => obj.status?.observedGeneration === 2 && condition(obj, 'Progressing')?.reason === 'NewReplicaSetAvailable');
    expect(done.metadata.generation).toBe(2);
  });

  it('fails a rollout with ProgressDeadlineExceeded when the pod template asks for it', async () => {
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments`;
    const body = deployment('broken', {});
    const withTemplateAnnotation = { ...body, spec: { ...body.spec, template: { ...body.spec.template, metadata: { ...body.spec.template.metadata, annotations: { [OUTCOME_ANNOTATION]: 'fail', [DELAY_ANNOTATION]: '50' } } } } };
    await cluster.request('POST', path, { body: withTemplateAnnotation });
    const done = await until(`${path}/broken`, (obj) => condition(obj, 'Progressing')?.status === 'False');
    expect(condition(done, 'Progressing')?.reason).toBe('ProgressDeadlineExceeded');
    expect(condition(done, 'Available')?.status).toBe('False');
  });

  const jobsPath = () => `/apis/batch/v1/namespaces/${cluster.namespace}/jobs`;
  const job = (name: string, annotations: Record<string, string>, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, annotations },
    spec: { ...spec, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] } } },
  });

  it('completes a Job, or fails it with BackoffLimitExceeded', async () => {
    const path = jobsPath();
    await cluster.request('POST', path, { body: job('ok', { [DELAY_ANNOTATION]: '50' }) });
    await cluster.request('POST', path, { body: job('ko', { [DELAY_ANNOTATION]: '50', [OUTCOME_ANNOTATION]: 'fail' }) });
    const ok = await until(`${path}/ok`, (obj) => condition(obj, 'Complete')?.status === 'True');
    expect(ok.status?.succeeded).toBe(1);
    expect(ok.status?.startTime).toBeDefined();
    const ko = await until(`${path}/ko`, (obj) => condition(obj, 'Failed')?.status === 'True');
    expect(condition(ko, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(ko.status?.failed).toBe(7);
  });

  it('fails a Job with DeadlineExceeded at its activeDeadlineSeconds when its delay is longer', async () => {
    const path = jobsPath();
    const createdAtMs = Date.now();
    await cluster.request('POST', path, { body: job('overdue', { [DELAY_ANNOTATION]: '60000' }, { activeDeadlineSeconds: 1, backoffLimit: 0 }) });
    const overdue = await until(`${path}/overdue`, (obj) => condition(obj, 'Failed')?.status === 'True', 5_000);
    expect(Date.now() - createdAtMs).toBeGreaterThanOrEqual(1_000);
    expect(condition(overdue, 'Failed')).toMatchObject({ reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' });
    expect(condition(overdue, 'Complete')).toBeUndefined();
    expect(overdue.status?.failed).toBe(1);
  });

  it('never finishes a Job recreated under the same name with the write meant for the deleted one', async () => {
    const path = jobsPath();
    await cluster.request('POST', path, { body: job('recycled', { [DELAY_ANNOTATION]: '400' }) });
    await until(`${path}/recycled`, (obj) => obj.status?.startTime !== undefined);
    expect((await cluster.request('DELETE', `${path}/recycled`)).status).toBe(200);
    const recreated = await cluster.request('POST', path, { body: job('recycled', { [DELAY_ANNOTATION]: '1500', [OUTCOME_ANNOTATION]: 'fail' }) });
    expect(recreated.status).toBe(201);
    // Every state the new Job goes through until its own outcome: the old Job's completion must not be among them.
    const seen: Obj[] = [];
    const failed = await until(`${path}/recycled`, (obj) => {
      seen.push(obj);
      return condition(obj, 'Failed')?.status === 'True';
    });
    expect(seen.filter((obj) => condition(obj, 'Complete') !== undefined)).toEqual([]);
    expect(failed.status?.succeeded).toBeUndefined();
    expect(condition(failed, 'Failed')?.reason).toBe('BackoffLimitExceeded');
  });
});
