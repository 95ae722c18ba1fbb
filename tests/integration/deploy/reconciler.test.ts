import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployReconciler } from '../../../src/controllers/deploy/deploy-reconciler.ts';
import type { DeployObject } from '../../../src/controllers/deploy/deploy-resource.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import { reconcileContextFor, testControllerContext, type TestControllerContext } from '../../support/controller-context.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { deployKey, startDeploySuite, stepOf, TEST_DEPLOY_TUNING, TEST_RETRY, type DeploySuite } from './deploy-suite.ts';

const HOOK_KEY = 'reconciler-hook-key-0e7d41c9';

let suite: DeploySuite;
let hook: WebhookReceiver;

beforeAll(async () => {
  [suite, hook] = await Promise.all([startDeploySuite('deploy-reconciler'), startWebhookReceiver({ key: HOOK_KEY })]);
  await suite.createSecret('deploy-hook', { hmac: HOOK_KEY });
});
afterAll(async () => {
  await suite?.stop();
  await hook?.close();
});

const webhook = (version: string, extra: Record<string, unknown> = {}) => ({ service: 'web', version, provider: { webhook: { url: hook.url, secretRef: { name: 'deploy-hook', key: 'hmac' } } }, ...extra });

/** The Deploy reconciler over the suite's cluster, called as the runtime controller calls it. */
function reconcilerFor(operator: TestControllerContext): (object: DeployObject) => ReturnType<DeployReconciler['reconcile']> {
  const reconciler = new DeployReconciler(operator.context, { tuning: TEST_DEPLOY_TUNING });
  return (object) => reconciler.reconcile(object, reconcileContextFor(`${suite.namespace}/${object.metadata.name ?? ''}`, 'deploy'));
}

const read = async (name: string): Promise<DeployObject> => (await suite.getDeploy(name)) as unknown as DeployObject;

describe('a reconcile handed a copy of the Deploy older than its own last write (a cache that lags)', () => {
  it('reads the Deploy again instead of failing with 409 Conflict, and repeats nothing the run did', async () => {
    const operator = testControllerContext(suite.cluster.kubeconfigPath, systemClock, TEST_RETRY);
    const reconcile = reconcilerFor(operator);
    hook.pollsToFinish = 1_000;
    try {
      const created = await suite.applyDeploy('lagging', webhook('4.0.0'));
      const asCreated = await read('lagging');
      // The first reconcile puts the finalizer on, deploys, and leaves verify waiting on the hook's rollout.
      expect((await reconcile(asCreated)).requeueAfterMs).toBeGreaterThan(0);
      const verifying = await read('lagging');
      expect(stepOf(verifying as never, 'verify')?.state).toBe('Waiting');

      // The cache still shows the Deploy as created: no finalizer, no status.
      expect((await reconcile(asCreated)).requeueAfterMs).toBeGreaterThan(0);

      // The run finishes; then a reconcile is handed the copy from before, verify still waiting in its status.
      hook.pollsToFinish = 1;
      let latest = verifying;
      for (let pass = 0; pass < 50 && latest.status?.workflow?.finishedAt === undefined; pass += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await reconcile(latest);
        latest = await read('lagging');
      }
      expect(latest.status?.phase).toBe('Succeeded');
      expect(await reconcile(verifying)).toEqual({});
      expect(await read('lagging')).toEqual(latest);
      expect(operator.emitted('deploy.succeeded')).toBe(1);
      expect(hook.deliveries(deployKey(created))).toBe(1);
    } finally {
      hook.pollsToFinish = 1;
      await operator.close();
    }
  });
});
