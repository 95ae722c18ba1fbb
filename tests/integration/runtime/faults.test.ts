import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FAULTS_AVAILABLE, skipReason } from '../../support/cluster.ts';
import { sampleValue } from '../../support/prometheus-text.ts';
import { createWidgets, eventually, runtimeSuite, waitConverged, type OperatorUnderTest } from './operator-under-test.ts';
import { widgets, type Widget } from './widget-resource.ts';

const suite = runtimeSuite('runtime-faults');

const resource = { resource: 'widgets', group: widgets.group };
const statusResource = { resource: 'widgets/status', group: widgets.group };

/** Bumps the generation of `names` (a spec change each). */
async function touch(operatorUnderTest: OperatorUnderTest, names: readonly string[], size: number): Promise<void> {
  for (const name of names) await operatorUnderTest.client.patch(widgets, name, { spec: { size } }, { namespace: suite.cluster.namespace });
}

describe.skipIf(!FAULTS_AVAILABLE)('the runtime under injected faults', () => {
  it('converges through dropped watches, 429, 500 and 409 answers, and never reconciles a key twice at once', async () => {
    const { faults, namespace } = suite.cluster;
    if (faults === null) return;
    const running = await suite.start();
    faults.failNext({ verb: 'patch', ...statusResource, code: 409, count: 40 });
    faults.failNext({ verb: 'patch', ...statusResource, code: 429, count: 15, retryAfterSeconds: 1 });
    faults.failNext({ verb: 'patch', ...statusResource, code: 500, count: 15 });
    faults.failNext({ verb: 'watch', ...resource, code: 500, count: 2 });
    const drops = setInterval(() => faults.closeWatches(), 1_500);
    try {
      await createWidgets(running.client, namespace, 'faulty', 200);
      await waitConverged(running.client, namespace, 200, 60_000);
      await touch(
        running,
        Array.from({ length: 40 }, (_, i) => `faulty-${i}`),
        1000,
      );
      await waitConverged(running.client, namespace, 200, 60_000);
    } finally {
      clearInterval(drops);
    }
    expect(running.overlaps).toBe(0);
    expect(faults.pending().filter((pending) => pending.rule.resource === 'widgets/status')).toEqual([]);
    const families = await running.metrics();
    expect(sampleValue(families, 'blackroad_watch_restarts_total', { resource: 'widgets.runtime-test.blackroad.io' })).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('sees an update made while its watch was down, after a forced 410 relist', async () => {
    const { faults, namespace } = suite.cluster;
    if (faults === null) return;
    const running = await suite.startConverged('gone', 20);
    // Keep the operator from watching (each attempt answers 500 and backs off), change objects meanwhile,
    // and drop the history so its resume fails with 410 and it has to relist.
    faults.failNext({ verb: 'watch', ...resource, code: 500, count: 3 });
    faults.closeWatches();
    await touch(running, ['gone-1', 'gone-2', 'gone-3'], 77);
    faults.compactHistory();
    await waitConverged(running.client, namespace, 20, 30_000);
    const key = `${namespace}/gone-2`;
    expect(running.reconciles.get(key)?.at(-1)).toBe(2);
    const families = await running.metrics();
    expect(sampleValue(families, 'blackroad_watch_relists_total', { resource: 'widgets.runtime-test.blackroad.io' })).toBeGreaterThanOrEqual(1);
    expect(running.overlaps).toBe(0);
  }, 60_000);

  it('recovers from an API server restart and sees the changes made as it reconnects', async () => {
    const { faults, namespace } = suite.cluster;
    if (faults === null) return;
    const running = await suite.startConverged('restart', 20);
    await faults.restart({ keepState: true, downMs: 1_000 });
    await touch(running, ['restart-4', 'restart-5'], 55);
    await waitConverged(running.client, namespace, 20, 30_000);
    await eventually(() => running.manager.reflector<Widget>(widgets).store.get(`${namespace}/restart-5`)?.metadata.generation === 2, 10_000, 'the cache saw the change');
    await delay(200);
    expect(running.overlaps).toBe(0);
    expect(sampleValue(await running.metrics(), 'blackroad_watch_restarts_total', { resource: 'widgets.runtime-test.blackroad.io' })).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('the runtime against any cluster', () => {
  it.skipIf(FAULTS_AVAILABLE)('skips fault injection on a real cluster', () => {
    expect(skipReason('runtime fault injection')).toContain('TEST_KUBECONFIG');
  });
});
