// The job check runner against a real API server: the embedded devcluster, or the cluster TEST_KUBECONFIG names.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { customResourceDefinition } from '../../../src/api/crd.ts';
import { API_GROUP, API_VERSION } from '../../../src/api/group-version.ts';
import { SWEEP_KIND, sweepSpecSchema } from '../../../src/api/sweep.ts';
import { builtinResources, KubeClient, type KubeObject, type ResourceDescriptor } from '../../../src/kube/client.ts';
import { SecretMask } from '../../../src/observability/redact.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import type { CheckObservation, CheckUnit, JobCheckHandle } from '../../../src/providers/checks/check-runner.ts';
import { checkJobName, SWEEP_UID_LABEL, type Job } from '../../../src/providers/checks/job-check-manifest.ts';
import { JobCheckRunner } from '../../../src/providers/checks/job-check-runner.ts';
import { isOwnershipConflict, type ProviderError } from '../../../src/providers/provider-error.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { captureLogger, eventually, rejectionOf, runSimulator } from '../provider-fixtures.ts';

const SWEEPS: ResourceDescriptor = { group: API_GROUP, version: API_VERSION, plural: 'sweeps', kind: 'Sweep', namespaced: true };

let cluster: ClusterHarness;
let kube: KubeClient;
let counter = 0;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'job-check-runner', crds: [customResourceDefinition(SWEEP_KIND) as unknown as Record<string, unknown>] });
  kube = KubeClient.fromKubeConfig(cluster.kubeConfig);
});
afterAll(async () => {
  kube.close();
  await cluster.stop();
});

/** The check's annotations; by default the workload simulator (where it runs) is held back, so the Job stays as created. */
function specWith(annotations: Record<string, string> = { 'devcluster.blackroad.io/delay-ms': '600000' }) {
  return {
    repositories: [{ name: 'api', url: 'https://github.com/acme/api', ref: 'main' }],
    checks: [{ name: 'lint', runner: 'job', image: 'node:24', command: ['npm'], args: ['run', 'lint'], annotations, timeoutSeconds: 600 }],
  };
}

/** A Sweep in the API, so the Jobs have a real owner (a garbage collector deletes Jobs whose owner is gone). */
async function createSweep(annotations?: Record<string, string>): Promise<CheckUnit> {
  counter += 1;
  const name = `nightly-${counter}`;
  const raw = specWith(annotations);
  const created = await kube.create<KubeObject>(SWEEPS, { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'Sweep', metadata: { name, namespace: cluster.namespace }, spec: raw } as KubeObject);
  const spec = sweepSpecSchema.parse(raw);
  const uid = created.metadata.uid ?? '';
  return {
    sweep: { name, namespace: cluster.namespace, uid },
    runId: `${uid}/1`,
    repository: spec.repositories[0] as CheckUnit['repository'],
    check: spec.checks[0] as CheckUnit['check'],
    ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
  };
}

describe('JobCheckRunner', () => {
  let runner: JobCheckRunner;
  beforeEach(() => {
    runner = new JobCheckRunner({ kube, clock: systemClock, logger: captureLogger(new SecretMask()).logger });
  });

  it('creates one Job per unit under its deterministic name, owned by the Sweep, with the check and repository in it', async () => {
    const unit = await createSweep();

    const handle = (await runner.start({ unit, idempotencyKey: 'key-1' })) as JobCheckHandle;

    const job = await kube.get<Job & { spec: { backoffLimit: number; activeDeadlineSeconds: number; ttlSecondsAfterFinished: number; template: { metadata: { annotations: Record<string, string> }; spec: { containers: { env: { name: string; value: string }[] }[] } } } }>(
      builtinResources.jobs,
      handle.jobName,
      { namespace: cluster.namespace },
    );
    expect(handle).toEqual({ runner: 'job', namespace: cluster.namespace, jobName: checkJobName(unit.sweep.name, unit.runId, 'api', 'lint'), uid: job.metadata.uid });
    expect(job.metadata.ownerReferences).toEqual([{ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Sweep', name: unit.sweep.name, uid: unit.sweep.uid, controller: true, blockOwnerDeletion: true }]);
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 3600 });
    expect(job.spec.template.metadata.annotations).toEqual({ 'devcluster.blackroad.io/delay-ms': '600000' });
    expect(job.spec.template.spec.containers[0]?.env).toContainEqual({ name: 'REPOSITORY_URL', value: 'https://github.com/acme/api' });
    expect(job.spec.template.spec.containers[0]?.env).toContainEqual({ name: 'REPOSITORY_REF', value: 'main' });
  });

  it('finds its own Job on a second start instead of creating another', async () => {
    const unit = await createSweep();
    const first = await runner.start({ unit, idempotencyKey: 'key-1' });

    const second = await runner.start({ unit, idempotencyKey: 'key-1' });

    expect(second).toEqual(first);
    const jobs = await kube.list(builtinResources.jobs, { namespace: cluster.namespace, labelSelector: `${SWEEP_UID_LABEL}=${unit.sweep.uid}` });
    expect(jobs.items).toHaveLength(1);
  });

  it('refuses a Job of the same name that another owner made', async () => {
    const unit = await createSweep();
    const name = checkJobName(unit.sweep.name, unit.runId, 'api', 'lint');
    await kube.create(builtinResources.jobs, {
      metadata: { name, namespace: cluster.namespace },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36' }] } } },
    } as KubeObject);

    const error = (await rejectionOf(runner.start({ unit, idempotencyKey: 'key-1' }))) as ProviderError;

    expect(isOwnershipConflict(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`Job ${cluster.namespace}/${name} exists and does not belong to run ${unit.runId} of Sweep ${cluster.namespace}/${unit.sweep.name}`);
  });

  it('reports a Job still without an outcome as running, and a deleted one as missing', async () => {
    const unit = await createSweep();
    const handle = (await runner.start({ unit, idempotencyKey: 'key-1' })) as JobCheckHandle;

    await expect(runner.observe({ unit, handle })).resolves.toMatchObject({ state: 'running' });
    await kube.delete(builtinResources.jobs, handle.jobName, { namespace: cluster.namespace, propagationPolicy: 'Background' });

    await expect(runner.observe({ unit, handle })).resolves.toEqual({ state: 'missing', message: `Job ${cluster.namespace}/${handle.jobName} not found` });
    // The controller may then start the unit again, once: a new Job of the same name.
    const again = (await runner.start({ unit, idempotencyKey: 'key-1/recreated' })) as JobCheckHandle;
    expect(again.jobName).toBe(handle.jobName);
    expect(again.uid).not.toBe(handle.uid);
  });
});

describe('JobCheckRunner with the workload simulator playing the Job controller', () => {
  let runner: JobCheckRunner;
  let stopSimulator: () => Promise<void>;
  beforeAll(() => {
    stopSimulator = runSimulator(cluster.kubeConfig);
    runner = new JobCheckRunner({ kube, clock: systemClock, logger: captureLogger(new SecretMask()).logger });
  });
  afterAll(async () => {
    await stopSimulator();
  });

  const finished = (observation: CheckObservation): boolean => observation.state !== 'running';

  it('passes a unit whose Job completes, with how long it ran', async () => {
    const unit = await createSweep({ 'devcluster.blackroad.io/delay-ms': '50' });
    const handle = await runner.start({ unit, idempotencyKey: 'key-1' });

    const outcome = await eventually(() => runner.observe({ unit, handle }), finished);

    expect(outcome).toMatchObject({ state: 'passed', message: `Job ${(handle as JobCheckHandle).jobName} completed` });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails a unit whose Job fails', async () => {
    const unit = await createSweep({ 'devcluster.blackroad.io/delay-ms': '50', 'devcluster.blackroad.io/outcome': 'fail' });
    const handle = await runner.start({ unit, idempotencyKey: 'key-1' });

    const outcome = await eventually(() => runner.observe({ unit, handle }), finished);

    expect(outcome).toMatchObject({ state: 'failed', message: `Job ${(handle as JobCheckHandle).jobName} failed (BackoffLimitExceeded): Job has reached the specified backoff limit` });
  });

  it('runs a unit again after its Job was deleted, and the new Job gives the verdict', async () => {
    const unit = await createSweep({ 'devcluster.blackroad.io/delay-ms': '300' });
    const handle = (await runner.start({ unit, idempotencyKey: 'key-1' })) as JobCheckHandle;
    await kube.delete(builtinResources.jobs, handle.jobName, { namespace: cluster.namespace, propagationPolicy: 'Background' });

    const missing = await eventually(() => runner.observe({ unit, handle }), finished);
    const again = await runner.start({ unit, idempotencyKey: 'key-1/again' });
    const outcome = await eventually(() => runner.observe({ unit, handle: again }), finished);

    expect(missing.state).toBe('missing');
    expect(outcome.state).toBe('passed');
  });
});

