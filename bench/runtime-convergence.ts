// Benchmark: time for the runtime to converge 10,000 Widgets needing one status write each, against a bare client writing the same statuses.
import { KubeClient } from '../src/kube/client.ts';
import { publish, size } from './report.ts';
import { createWidgets, startBenchCluster, startBenchOperator, widgets, type BenchCluster, type BenchOperator, type Widget } from './runtime-bench-cluster.ts';

const OBJECTS = size(10_000, 1_000);
const CONCURRENCY = 4;
const TARGET_RATIO = 1.25;

const ROUNDS = size(5, 3);

/** A timed round: wall time, CPU of this process (client or operator) and of the API server, in seconds. */
interface Round {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly serverCpuSeconds: number;
  /** Operator rounds: from manager start to the cache holding the initial list. */
  readonly syncSeconds?: number;
}

/** Measures wall time and both processes' CPU around `run`. */
async function timed(cluster: BenchCluster, run: (started: number) => Promise<{ syncSeconds?: number }>): Promise<Round> {
  const cpu = process.cpuUsage();
  const serverCpu = cluster.serverCpuSeconds();
  const started = performance.now();
  const extra = await run(started);
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, serverCpuSeconds: cluster.serverCpuSeconds() - serverCpu, ...extra };
}

/** The bare client: list once (not timed), then the same status writes at the same concurrency. */
async function bareClient(cluster: BenchCluster, namespace: string, round: string): Promise<Round> {
  const client = KubeClient.fromFile(cluster.kubeconfigPath);
  const items = (await client.listAll<Widget>(widgets, { namespace })).items;
  const writeAll = async (): Promise<{ syncSeconds?: number }> => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < items.length) {
          const item = items[next++] as Widget;
          await client.patch(widgets, item.metadata.name ?? '', { metadata: { resourceVersion: item.metadata.resourceVersion }, status: { observedGeneration: item.metadata.generation, round } }, { namespace, subresource: 'status' });
        }
      }),
    );
    return {};
  };
  const measured = await timed(cluster, writeAll);
  client.close();
  return measured;
}

/** The runtime: from manager start (initial list included) to the last of the 10,000 status writes. */
async function operator(cluster: BenchCluster, namespace: string, round: string): Promise<Round> {
  let written = 0;
  let finish = (): void => undefined;
  const converged = new Promise<void>((resolve) => (finish = resolve));
  let running: BenchOperator | undefined;
  const converge = async (started: number): Promise<{ syncSeconds?: number }> => {
    running = startBenchOperator(
      cluster,
      namespace,
      async (object, context, status) => {
        const after = await status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0, round }), { signal: context.signal });
        if (after.metadata.resourceVersion !== object.metadata.resourceVersion && ++written === OBJECTS) finish();
      },
      { workers: CONCURRENCY },
    );
    await running.manager.reflector(widgets).store.waitForSync();
    const syncSeconds = (performance.now() - started) / 1000;
    await converged;
    return { syncSeconds };
  };
  const measured = await timed(cluster, converge);
  await running?.stop();
  return measured;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const seconds = (values: readonly number[]): string => values.map((value) => value.toFixed(2)).join(', ');

const cluster = await startBenchCluster();
try {
  const namespace = await cluster.namespace('bench-convergence');
  await createWidgets(cluster.client, namespace, 'w', OBJECTS);
  const bareRounds: Round[] = [];
  const ourRounds: Round[] = [];
  // Alternate the two on the same objects: each run writes its own round marker, so every object needs one write.
  for (let round = 0; round < ROUNDS; round += 1) {
    bareRounds.push(await bareClient(cluster, namespace, `bare-${round}`));
    ourRounds.push(await operator(cluster, namespace, `operator-${round}`));
  }
  const bare = bareRounds.map((entry) => entry.seconds);
  const ours = ourRounds.map((entry) => entry.seconds);
  const cpuNote = 'CPU seconds from process.cpuUsage() and /proc/<pid>/stat around each round, median of the rounds; on a shared 2-core machine the wall time follows the CPU both processes need';
  publish('runtime-convergence', [
    {
      name: `${OBJECTS.toLocaleString('en-US')} Widgets converged, one status write each, ${CONCURRENCY} at a time`,
      value: median(ours),
      unit: 's',
      target: TARGET_RATIO,
      comparator: '<=',
      judge: 'ratio',
      baseline: median(bare),
      baselineLabel: `a bare client writing the same statuses at the same concurrency (its list not timed); rounds ${seconds(bare)} s`,
      note: `from manager start (initial list included) to the last status write, median of ${ROUNDS} rounds alternating with the baseline; rounds ${seconds(ours)} s; best against best ${(Math.min(...ours) / Math.min(...bare)).toFixed(2)}. The devcluster runs in its own process; the operator also receives a watch event for each of its writes, which the bare client does not`,
    },
    { name: 'of which the initial list and cache sync (operator only)', value: median(ourRounds.map((entry) => entry.syncSeconds ?? Number.NaN)), unit: 's' },
    { name: 'API server CPU per round', value: median(ourRounds.map((entry) => entry.serverCpuSeconds)), unit: 's', baseline: median(bareRounds.map((entry) => entry.serverCpuSeconds)), baselineLabel: 'the same during the bare client rounds', note: cpuNote },
    { name: 'operator (or bare client) process CPU per round', value: median(ourRounds.map((entry) => entry.cpuSeconds)), unit: 's', baseline: median(bareRounds.map((entry) => entry.cpuSeconds)) },
  ]);
} finally {
  await cluster.stop();
}
