// Benchmark: time for the runtime to converge 10,000 Widgets needing one status write each, against a bare client writing the same statuses.
import { KubeClient } from '../src/kube/client.ts';
import { publish, size } from './report.ts';
import { createWidgets, startBenchCluster, startBenchOperator, widgets, type BenchCluster, type Widget } from './runtime-bench-cluster.ts';

const OBJECTS = size(10_000, 1_000);
const CONCURRENCY = 4;
const TARGET_RATIO = 1.25;

const ROUNDS = size(5, 3);

/** The bare client: list once (not timed), then the same status writes at the same concurrency. */
async function bareClient(cluster: BenchCluster, namespace: string, round: string): Promise<number> {
  const client = KubeClient.fromFile(cluster.kubeconfigPath);
  const items = (await client.listAll<Widget>(widgets, { namespace })).items;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const item = items[next++] as Widget;
        await client.patch(widgets, item.metadata.name ?? '', { metadata: { resourceVersion: item.metadata.resourceVersion }, status: { observedGeneration: item.metadata.generation, round } }, { namespace, subresource: 'status' });
      }
    }),
  );
  const elapsed = performance.now() - started;
  client.close();
  return elapsed;
}

/** The runtime: from manager start (initial list included) to the last of the 10,000 status writes. */
async function operator(cluster: BenchCluster, namespace: string, round: string): Promise<number> {
  let written = 0;
  let finish = (): void => undefined;
  const converged = new Promise<void>((resolve) => (finish = resolve));
  const started = performance.now();
  const running = startBenchOperator(
    cluster,
    namespace,
    async (object, context, status) => {
      const after = await status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0, round }), { signal: context.signal });
      if (after.metadata.resourceVersion !== object.metadata.resourceVersion && ++written === OBJECTS) finish();
    },
    { workers: CONCURRENCY },
  );
  await converged;
  const elapsed = performance.now() - started;
  await running.stop();
  return elapsed;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const seconds = (values: readonly number[]): string => values.map((ms) => (ms / 1000).toFixed(2)).join(', ');

const cluster = await startBenchCluster();
try {
  const namespace = await cluster.namespace('bench-convergence');
  await createWidgets(cluster.client, namespace, 'w', OBJECTS);
  const bare: number[] = [];
  const ours: number[] = [];
  // Alternate the two on the same objects: each run writes its own round marker, so every object needs one write.
  for (let round = 0; round < ROUNDS; round += 1) {
    bare.push(await bareClient(cluster, namespace, `bare-${round}`));
    ours.push(await operator(cluster, namespace, `operator-${round}`));
  }
  publish('runtime-convergence', [
    {
      name: `${OBJECTS.toLocaleString('en-US')} Widgets converged, one status write each, ${CONCURRENCY} at a time`,
      value: median(ours) / 1000,
      unit: 's',
      target: TARGET_RATIO,
      comparator: '<=',
      judge: 'ratio',
      baseline: median(bare) / 1000,
      baselineLabel: `a bare client writing the same statuses at the same concurrency (its list not timed); rounds ${seconds(bare)} s`,
      note: `from manager start (initial list included) to the last status write, median of ${ROUNDS} rounds alternating with the baseline; rounds ${seconds(ours)} s; best against best ${(Math.min(...ours) / Math.min(...bare)).toFixed(2)}. The devcluster runs in its own process; the operator also receives a watch event for each of its writes, which the bare client does not`,
    },
  ]);
} finally {
  await cluster.stop();
}
