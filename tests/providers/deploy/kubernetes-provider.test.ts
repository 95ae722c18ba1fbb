// The kubernetes provider against a real API server: the embedded devcluster, or the cluster TEST_KUBECONFIG names.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deploySpecSchema } from '../../../src/api/deploy.ts';
import { builtinResources, KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import { classifyFailure } from '../../../src/resilience/classify-failure.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import type { DeployPrevious, DeployTarget, RolloutObservation } from '../../../src/providers/deploy/deploy-provider.ts';
import { DEPLOY_KEY_ANNOTATION, KubernetesProvider, ROLLBACK_KEY_ANNOTATION, type Deployment } from '../../../src/providers/deploy/kubernetes-provider.ts';
import { isTargetNotFound, type ProviderError } from '../../../src/providers/provider-error.ts';
import { SecretMask } from '../../../src/observability/redact.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { captureLogger, eventually, rejectionOf, runSimulator } from '../provider-fixtures.ts';

interface Container {
  readonly name: string;
  readonly image: string;
}

let cluster: ClusterHarness;
let kube: KubeClient;
let counter = 0;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'kubernetes-provider' });
  kube = KubeClient.fromKubeConfig(cluster.kubeConfig);
});
afterAll(async () => {
  kube.close();
  await cluster.stop();
});

/**
 * A fresh two-container Deployment. By default the workload simulator (where it runs) is held back, so only the
 * test changes the Deployment; `annotations` replace that.
 */
async function createDeployment(annotations: Record<string, string> = { 'devcluster.blackroad.io/delay-ms': '600000' }): Promise<string> {
  counter += 1;
  const name = `web-${counter}`;
  await kube.create(builtinResources.deployments, {
    metadata: { name, namespace: cluster.namespace, annotations },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'app', image: 'ghcr.io/acme/web:1.41.0', ports: [{ containerPort: 80 }] },
            { name: 'sidecar', image: 'busybox:1.36', command: ['sleep', 'infinity'] },
          ],
        },
      },
    },
  } as KubeObject);
  return name;
}

function targetFor(deployment: string, container = 'app', image = 'ghcr.io/acme/web:1.42.0'): DeployTarget {
  return {
    namespace: cluster.namespace,
    name: 'web',
    spec: deploySpecSchema.parse({ service: 'web', version: '1.42.0', provider: { kubernetes: { deployment, container, image } } }),
  };
}

/** The client, with a count of the writes the provider sends through it. */
function counting(): { client: Pick<KubeClient, 'get' | 'patch' | 'replace'>; writes: () => number } {
  let writes = 0;
  return {
    client: {
      get: kube.get.bind(kube),
      patch: (...args: Parameters<KubeClient['patch']>) => {
        writes += 1;
        return kube.patch(...args);
      },
      replace: (...args: Parameters<KubeClient['replace']>) => {
        writes += 1;
        return kube.replace(...args);
      },
    } as Pick<KubeClient, 'get' | 'patch' | 'replace'>,
    writes: () => writes,
  };
}

async function read(name: string): Promise<Deployment & { spec: { template: { metadata?: { labels?: Record<string, string> }; spec: { containers: Container[] } } } }> {
  return kube.get(builtinResources.deployments, name, { namespace: cluster.namespace });
}

describe('KubernetesProvider', () => {
  let provider: KubernetesProvider;
  let writes: () => number;
  beforeEach(() => {
    const client = counting();
    writes = client.writes;
    provider = new KubernetesProvider({ kube: client.client, clock: systemClock, logger: captureLogger(new SecretMask()).logger });
  });

  it('records the pod template and the image before anything changes', async () => {
    const name = await createDeployment();
    const before = await read(name);

    const recorded = await provider.recordPrevious({ target: targetFor(name) });

    expect(recorded.image).toBe('ghcr.io/acme/web:1.41.0');
    expect(recorded.podTemplate).toEqual(before.spec.template);
    expect(recorded.providerRef).toEqual({ provider: 'kubernetes', id: String(before.metadata.generation) });
  });

  it("sets only the named container's image, with the deploy key, and returns the new generation", async () => {
    const name = await createDeployment();
    const before = await read(name);

    const ref = await provider.deploy({ target: targetFor(name), idempotencyKey: 'uid-1/2/deploy' });

    const after = await read(name);
    expect(after.spec.template.spec.containers.map((container) => [container.name, container.image])).toEqual([
      ['app', 'ghcr.io/acme/web:1.42.0'],
      ['sidecar', 'busybox:1.36'],
    ]);
    expect(after.metadata.annotations?.[DEPLOY_KEY_ANNOTATION]).toBe('uid-1/2/deploy');
    expect(after.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
    expect(ref).toEqual({ provider: 'kubernetes', id: String(after.metadata.generation) });
  });

  it('writes nothing when the deploy is repeated with the same key', async () => {
    const name = await createDeployment();
    const first = await provider.deploy({ target: targetFor(name), idempotencyKey: 'key-1' });

    const second = await provider.deploy({ target: targetFor(name), idempotencyKey: 'key-1' });

    expect(second).toEqual(first);
    expect(writes()).toBe(1);
  });

  it('restores the recorded template exactly, once per rollback key', async () => {
    const name = await createDeployment();
    const previous: DeployPrevious = { version: '1.41.0', ...(await provider.recordPrevious({ target: targetFor(name) })) };
    await provider.deploy({ target: targetFor(name), idempotencyKey: 'key-deploy' });
    // Someone else also changed the template after the deploy; a rollback must not keep it.
    await kube.patch(builtinResources.deployments, name, { spec: { template: { metadata: { labels: { extra: 'x' } } } } }, { namespace: cluster.namespace });

    const ref = await provider.rollback({ target: targetFor(name), previous, idempotencyKey: 'key-rollback' });
    const restored = await read(name);
    const again = await provider.rollback({ target: targetFor(name), previous, idempotencyKey: 'key-rollback' });

    expect(restored.spec.template).toEqual(previous.podTemplate);
    expect(restored.metadata.annotations?.[ROLLBACK_KEY_ANNOTATION]).toBe('key-rollback');
    expect(ref).toEqual({ provider: 'kubernetes', id: String(restored.metadata.generation) });
    expect(again).toEqual(ref);
    expect(writes()).toBe(2);
  });

  it('names a missing Deployment in a terminal InvalidSpec error', async () => {
    const error = (await rejectionOf(provider.deploy({ target: targetFor('absent'), idempotencyKey: 'key-1' }))) as ProviderError;

    expect(isTargetNotFound(error)).toBe(true);
    expect(error.code).toBe('InvalidSpec');
    expect(error.message).toBe(`Deployment ${cluster.namespace}/absent not found`);
  });

  it('names a missing container, lists the ones there are, and adds none', async () => {
    const name = await createDeployment();
    const before = await read(name);

    const error = (await rejectionOf(provider.deploy({ target: targetFor(name, 'worker'), idempotencyKey: 'key-1' }))) as ProviderError;

    expect(isTargetNotFound(error)).toBe(true);
    expect(error.message).toBe(`container "worker" not found in Deployment ${cluster.namespace}/${name} (it has "app", "sidecar")`);
    expect(writes()).toBe(0);
    expect((await read(name)).spec.template).toEqual(before.spec.template);
  });

  /** A provider whose writes are each preceded by another writer's change, the first `races` times. */
  function racingProvider(name: string, races: number): { provider: KubernetesProvider; attempts: () => number } {
    let attempts = 0;
    const client: Pick<KubeClient, 'get' | 'patch' | 'replace'> = {
      get: kube.get.bind(kube),
      replace: kube.replace.bind(kube),
      patch: async (...args: Parameters<KubeClient['patch']>) => {
        attempts += 1;
        if (attempts <= races) await kube.patch(builtinResources.deployments, name, { metadata: { labels: { touched: String(attempts) } } }, { namespace: cluster.namespace });
        return kube.patch(...args);
      },
    } as Pick<KubeClient, 'get' | 'patch' | 'replace'>;
    return { provider: new KubernetesProvider({ kube: client, clock: systemClock, logger: captureLogger(new SecretMask()).logger }), attempts: () => attempts };
  }

  it('re-reads and writes again when a concurrent writer changed the Deployment in between', async () => {
    const name = await createDeployment();
    const racing = racingProvider(name, 2);

    await racing.provider.deploy({ target: targetFor(name), idempotencyKey: 'key-1' });

    expect(racing.attempts()).toBe(3);
    expect((await read(name)).spec.template.spec.containers[0]?.image).toBe('ghcr.io/acme/web:1.42.0');
  });

  it('gives the workflow a retryable 409 Conflict after losing five times in a row', async () => {
    const name = await createDeployment();
    const racing = racingProvider(name, Number.POSITIVE_INFINITY);

    const error = await rejectionOf(racing.provider.deploy({ target: targetFor(name), idempotencyKey: 'key-1' }));

    expect(isConflict(error)).toBe(true);
    expect(classifyFailure(error).kind).toBe('transient');
    expect(racing.attempts()).toBe(5);
    expect((await read(name)).spec.template.spec.containers[0]?.image).toBe('ghcr.io/acme/web:1.41.0');
  });
});

describe('KubernetesProvider with the workload simulator playing the Deployment controller', () => {
  let provider: KubernetesProvider;
  let stopSimulator: () => Promise<void>;
  beforeAll(() => {
    stopSimulator = runSimulator(cluster.kubeConfig);
    provider = new KubernetesProvider({ kube, clock: systemClock, logger: captureLogger(new SecretMask()).logger });
  });
  afterAll(async () => {
    await stopSimulator();
  });

  const settled = (observation: RolloutObservation): boolean => observation.state !== 'progressing';

  it('follows the rollout until every replica is updated and available', async () => {
    const name = await createDeployment({ 'devcluster.blackroad.io/delay-ms': '500' });
    const target = targetFor(name);
    await eventually(() => provider.observe({ target, ref: { provider: 'kubernetes', id: '1' } }), settled);

    const ref = await provider.deploy({ target, idempotencyKey: 'key-1' });
    const seen: RolloutObservation[] = [await provider.observe({ target, ref })];
    seen.push(await eventually(() => provider.observe({ target, ref }), settled));

    expect(seen[0]?.state).toBe('progressing');
    expect(seen[1]).toEqual({ state: 'succeeded', message: '2 of 2 replicas updated and available' });
  });

  it('fails a rollout whose progress deadline is exceeded, and the rollback to the recorded template rolls out', async () => {
    const name = await createDeployment({});
    const target = targetFor(name);
    await eventually(() => provider.observe({ target, ref: { provider: 'kubernetes', id: '1' } }), settled);
    const previous: DeployPrevious = { version: '1.41.0', ...(await provider.recordPrevious({ target })) };
    // The new version is broken: its pods never become available (the simulator reads this from the template).
    await kube.patch(builtinResources.deployments, name, { spec: { template: { metadata: { annotations: { 'devcluster.blackroad.io/outcome': 'fail', 'devcluster.blackroad.io/delay-ms': '50' } } } } }, { namespace: cluster.namespace });

    const ref = await provider.deploy({ target, idempotencyKey: 'key-deploy' });
    const failed = await eventually(() => provider.observe({ target, ref }), settled);
    const rollbackRef = await provider.rollback({ target, previous, current: ref, idempotencyKey: 'key-rollback' });
    const rolledBack = await eventually(() => provider.observe({ target, ref: rollbackRef as NonNullable<typeof rollbackRef> }), settled);

    expect(failed.state).toBe('failed');
    expect(failed.message).toMatch(/^rollout exceeded its progress deadline: ReplicaSet "web-\d+-\w+" has timed out progressing\.$/);
    expect(rolledBack).toEqual({ state: 'succeeded', message: '2 of 2 replicas updated and available' });
    expect((await read(name)).spec.template.spec.containers[0]?.image).toBe('ghcr.io/acme/web:1.41.0');
  });
});

