// Benchmark: a resync of 10,000 converged objects reconciles every one and makes no write, counted at the server.
import { setTimeout as delay } from 'node:timers/promises';
import { KubeClient } from '../src/kube/client.ts';
import { publish, size } from './report.ts';
import { createWidgets, startBenchCluster, startBenchOperator, widgets, type Widget } from './runtime-bench-cluster.ts';

const OBJECTS = size(10_000, 1_000);
const RESYNC_PERIOD_MS = size(30_000, 10_000);

const cluster = await startBenchCluster();
try {
  const namespace = await cluster.namespace('bench-resync');
  await createWidgets(cluster.client, namespace, 'w', OBJECTS);

  // The server's own account of writes: every change of a Widget in the namespace is a watch event, and moves the
  // list's resourceVersion; an independent watch counts them.
  const observer = KubeClient.fromFile(cluster.kubeconfigPath);
  const start = await observer.list(widgets, { namespace, limit: 1 });
  const stopObserving = new AbortController();
  let modifications = 0;
  const stream = await observer.watch<Widget>(widgets, { namespace, resourceVersion: start.metadata.resourceVersion ?? '0', signal: stopObserving.signal });
  void (async () => {
    for await (const event of stream) if (event.type === 'MODIFIED') modifications += 1;
  })();

  let reconciles = 0;
  const startedAt = performance.now();
  const operator = startBenchOperator(
    cluster,
    namespace,
    async (object, context, status) => {
      reconciles += 1;
      await status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0 }), { signal: context.signal });
    },
    { resyncPeriodMs: RESYNC_PERIOD_MS },
  );
  while (modifications < OBJECTS) await delay(50);
  const convergedMs = performance.now() - startedAt;
  const convergenceWrites = modifications;
  await delay(Math.max(0, RESYNC_PERIOD_MS - (performance.now() - startedAt) - 2_000));
  const before = { modifications, reconciles, resourceVersion: (await observer.list(widgets, { namespace, limit: 1 })).metadata.resourceVersion };
  while (reconciles < before.reconciles + OBJECTS) await delay(50);
  await delay(2_000);
  const after = { modifications, reconciles, resourceVersion: (await observer.list(widgets, { namespace, limit: 1 })).metadata.resourceVersion };
  await operator.stop();
  stopObserving.abort();
  observer.close();

  const resyncWrites = after.modifications - before.modifications;
  publish('runtime-resync', [
    {
      name: `writes during a resync of ${OBJECTS.toLocaleString('en-US')} converged Widgets`,
      value: resyncWrites,
      unit: 'writes',
      target: 0,
      comparator: '==',
      baseline: convergenceWrites,
      baselineLabel: `the writes the server saw while the same objects first converged (${(convergedMs / 1000).toFixed(1)} s)`,
      note: `${after.reconciles - before.reconciles} reconciles during the resync; Widget list resourceVersion ${before.resourceVersion ?? '?'} -> ${after.resourceVersion ?? '?'}${before.resourceVersion === after.resourceVersion ? ' (unchanged)' : ' (CHANGED)'}; resync period ${RESYNC_PERIOD_MS / 1000} s for the run (default 10 h); writes counted by an independent watch of the namespace`,
    },
  ]);
} finally {
  await cluster.stop();
}
