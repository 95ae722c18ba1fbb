import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployReconciler } from '../../../src/controllers/deploy/deploy-reconciler.ts';
import type { DeployObject } from '../../../src/controllers/deploy/deploy-resource.ts';
import type { DeployTuning } from '../../../src/controllers/deploy/deploy-workflow.ts';
import { ManualClock, systemClock } from '../../../src/resilience/clock.ts';
import { reconcileContextFor, testControllerContext, type TestControllerContext } from '../../support/controller-context.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { condition, deployKey, startDeploySuite, stepOf, TEST_DEPLOY_TUNING, TEST_RETRY, type DeploySuite, type DeployView } from './deploy-suite.ts';

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
function reconcilerFor(operator: TestControllerContext, tuning: DeployTuning = TEST_DEPLOY_TUNING): (object: DeployObject) => ReturnType<DeployReconciler['reconcile']> {
  const reconciler = new DeployReconciler(operator.context, { tuning });
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

describe('a Deploy suspended while it verifies', () => {
  it('does not count the time suspended against the verify timeout: verification starts over on resume, with the whole timeout', async () => {
    const clock = new ManualClock(Date.parse('2026-03-02T09:00:00Z'));
    const operator = testControllerContext(suite.cluster.kubeconfigPath, clock, TEST_RETRY);
    const reconcile = reconcilerFor(operator, { ...TEST_DEPLOY_TUNING, verifyTimeoutSeconds: 30 });
    const step = async () => {
      await reconcile(await read('paused-verify'));
      return (await suite.getDeploy('paused-verify')) as DeployView;
    };
    hook.pollsToFinish = 1_000;
    try {
      await suite.applyDeploy('paused-verify', webhook('5.0.0'));
      expect(stepOf(await step(), 'verify')?.state).toBe('Waiting');

      // Suspended and resumed before verify's next poll is due: the status says so at once all the same.
      await suite.patchDeploy('paused-verify', { spec: { suspend: true } });
      expect((await step()).status?.phase).toBe('Suspended');
      await suite.patchDeploy('paused-verify', { spec: { suspend: false } });
      const resumedEarly = await step();
      expect(resumedEarly.status).toMatchObject({ phase: 'Verifying', observedGeneration: 3 });
      expect(condition(resumedEarly, 'Reconciling')?.status).toBe('True');

      // Suspended for ten minutes, twenty times the timeout, with the rollout still going on.
      clock.advance(1_000);
      await suite.patchDeploy('paused-verify', { spec: { suspend: true } });
      expect((await step()).status?.phase).toBe('Suspended');
      clock.advance(10 * 60_000);
      await suite.patchDeploy('paused-verify', { spec: { suspend: false } });
      const resumed = await step();
      expect(stepOf(resumed, 'verify')?.state).toBe('Waiting');
      expect(resumed.status?.phase).toBe('Verifying');

      // The timeout counts from the resume: 25 s later verification goes on; 31 s later it has failed.
      clock.advance(25_000);
      expect(stepOf(await step(), 'verify')?.state).toBe('Waiting');
      clock.advance(6_000);
      const overdue = await step();
      expect(stepOf(overdue, 'verify')?.state).toBe('Failed');
      expect(overdue.status?.rollback).toMatchObject({ reason: 'RolloutDeadlineExceeded', message: expect.stringMatching(/^The rollout did not finish within 30 s/) as unknown });
    } finally {
      hook.pollsToFinish = 1;
      await operator.close();
    }
  });
});

describe('a Deploy whose run an operator labelled with a hash of its own', () => {
  it('is not deployed again while its generation is the run’s: an upgrade that hashes specs otherwise starts no run', async () => {
    const operator = testControllerContext(suite.cluster.kubeconfigPath, systemClock, TEST_RETRY);
    const reconcile = reconcilerFor(operator);
    try {
      await suite.applyDeploy('upgraded', webhook('6.0.0'));
      let deploy = await read('upgraded');
      for (let pass = 0; pass < 50 && deploy.status?.workflow?.finishedAt === undefined; pass += 1) {
        await reconcile(deploy);
        await new Promise((resolve) => setTimeout(resolve, 100));
        deploy = await read('upgraded');
      }
      expect(deploy.status?.phase).toBe('Succeeded');
      // What an operator whose hash covers other fields (a later schema's defaults) would have written.
      const id = `${deploy.metadata.uid ?? ''}/1/ffffffffff`;
      const path = `/apis/operator.blackroad.io/v1alpha1/namespaces/${suite.namespace}/deploys/upgraded/status`;
      const patched = await suite.cluster.request('PATCH', path, { body: { status: { workflow: { id } } }, contentType: 'application/merge-patch+json' });
      expect(patched.status).toBe(200);

      expect(await reconcile(await read('upgraded'))).toEqual({});
      const after = await read('upgraded');
      expect(after.status?.workflow?.id).toBe(id);
      expect(after.status?.phase).toBe('Succeeded');
      expect(hook.operations.filter((operation) => operation.payload['name'] === 'upgraded')).toHaveLength(1);
    } finally {
      await operator.close();
    }
  });
});
