// Benchmark: time from a spec change to the start of its reconcile, at 50 changes/s, idle and while a 10,000-object backlog drains.
import { setTimeout as delay } from 'node:timers/promises';
import { KubeClient } from '../src/kube/client.ts';
import { publish, size } from './report.ts';
import { createWidgets, quantile, startBenchCluster, startBenchOperator, widgets, type BenchCluster, type BenchOperator, type Widget } from './runtime-bench-cluster.ts';

const RATE_PER_SECOND = 50;
const STEADY_SECONDS = size(20, 5);
const BACKLOG = size(10_000, 2_000);
const FRESH_OBJECTS = 100;

/** Spec changes sent and the latencies measured for them, by the operator and by a bare watch. */
class Probe {
  /** `namespace/name` → changes not yet seen: generation and when it was sent. */
  readonly #pending = new Map<string, { generation: number; sentAt: number }[]>();
  readonly #pendingWatch = new Map<string, { generation: number; sentAt: number }[]>();
  readonly operator: number[] = [];
  readonly watch: number[] = [];

  sent(key: string, generation: number): void {
    const now = performance.now();
    for (const pending of [this.#pending, this.#pendingWatch]) pending.set(key, [...(pending.get(key) ?? []), { generation, sentAt: now }]);
  }

  /** A change is seen at the first reconcile (or watch event) carrying its generation or a later one. */
  seen(by: 'operator' | 'watch', key: string, generation: number): void {
    const pending = by === 'operator' ? this.#pending : this.#pendingWatch;
    const waiting = pending.get(key);
    if (waiting === undefined) return;
    const now = performance.now();
    const [done, rest] = [waiting.filter((change) => change.generation <= generation), waiting.filter((change) => change.generation > generation)];
    for (const change of done) (by === 'operator' ? this.operator : this.watch).push(now - change.sentAt);
    if (rest.length === 0) pending.delete(key);
    else pending.set(key, rest);
  }
}

/** The operator under test: records each reconcile's start, then writes status.observedGeneration. */
async function startOperator(cluster: BenchCluster, namespace: string, probe: Probe): Promise<BenchOperator> {
  const operator = startBenchOperator(cluster, namespace, async (object, context, status) => {
    probe.seen('operator', context.key, object.metadata.generation ?? 0);
    await status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0 }), { signal: context.signal });
  });
  await operator.manager.reflector(widgets).store.waitForSync();
  return operator;
}

/** A bare watch of the namespace, the baseline: when does the change arrive at all. */
async function startWatch(cluster: BenchCluster, namespace: string, probe: Probe): Promise<() => void> {
  const client = KubeClient.fromFile(cluster.kubeconfigPath);
  const { metadata } = await client.list(widgets, { namespace, limit: 1 });
  const controller = new AbortController();
  const events = await client.watch<Widget>(widgets, { namespace, resourceVersion: metadata.resourceVersion ?? '0', signal: controller.signal });
  void (async () => {
    for await (const event of events) {
      if (event.type === 'MODIFIED') probe.seen('watch', `${namespace}/${event.object.metadata.name ?? ''}`, (event.object as Widget).metadata.generation ?? 0);
    }
  })();
  return () => {
    controller.abort();
    client.close();
  };
}

/** Sends spec changes to `names` in turn at RATE_PER_SECOND until `until` says stop; returns how many. */
/** The generation each object will have after the changes sent so far (all objects start at 1). */
const generations = new Map<string, number>();

async function changeAtRate(client: KubeClient, namespace: string, names: readonly string[], probe: Probe, until: () => boolean): Promise<number> {
  const started = performance.now();
  let sent = 0;
  const inFlight: Promise<unknown>[] = [];
  while (!until()) {
    const name = names[sent % names.length] as string;
    const generation = (generations.get(`${namespace}/${name}`) ?? 1) + 1;
    generations.set(`${namespace}/${name}`, generation);
    probe.sent(`${namespace}/${name}`, generation);
    inFlight.push(client.patch(widgets, name, { spec: { size: generation } }, { namespace }));
    sent += 1;
    const nextAt = started + (sent * 1000) / RATE_PER_SECOND;
    await delay(Math.max(0, nextAt - performance.now()));
  }
  await Promise.all(inFlight);
  return sent;
}

const cluster = await startBenchCluster();
try {
  // Idle: 200 converged objects, 50 changes per second for 20 s.
  const idleNamespace = await cluster.namespace('bench-latency');
  await createWidgets(cluster.client, idleNamespace, 'w', 200);
  const idle = new Probe();
  const idleOperator = await startOperator(cluster, idleNamespace, idle);
  // Warm-up (not measured): the first thousand requests run unoptimized code in the server and here.
  const warmUpEnd = performance.now() + size(5_000, 2_000);
  await changeAtRate(cluster.client, idleNamespace, Array.from({ length: 200 }, (_, i) => `w-${i}`), new Probe(), () => performance.now() >= warmUpEnd);
  await delay(1_000);
  const stopIdleWatch = await startWatch(cluster, idleNamespace, idle);
  const idleEnd = performance.now() + STEADY_SECONDS * 1000;
  const idleSent = await changeAtRate(cluster.client, idleNamespace, Array.from({ length: 200 }, (_, i) => `w-${i}`), idle, () => performance.now() >= idleEnd);
  await delay(1_000);
  stopIdleWatch();
  await idleOperator.stop();

  // Backlog: 10,000 objects to converge from cold; fresh changes to 100 of them at 50/s while the backlog drains.
  const backlogNamespace = await cluster.namespace('bench-latency-backlog');
  await createWidgets(cluster.client, backlogNamespace, 'w', BACKLOG);
  const busy = new Probe();
  const stopBusyWatch = await startWatch(cluster, backlogNamespace, busy);
  const drainStarted = performance.now();
  const busyOperator = await startOperator(cluster, backlogNamespace, busy);
  const backlogLeft = (): number => busyOperator.controller.queue?.stats().depthLow ?? 0;
  await delay(200);
  const fresh = Array.from({ length: FRESH_OBJECTS }, (_, i) => `w-${BACKLOG - 1 - i * 7}`);
  const busySent = await changeAtRate(cluster.client, backlogNamespace, fresh, busy, () => backlogLeft() === 0);
  const drainMs = performance.now() - drainStarted;
  await delay(1_000);
  stopBusyWatch();
  await busyOperator.stop();

  const backlogLabel = `a ${BACKLOG.toLocaleString('en-US')}-object backlog`;
  const idleNote = `${idleSent} spec changes (merge patches, a new generation each) to 200 converged Widgets at ${RATE_PER_SECOND}/s; latency from just before the PATCH is sent to the reconcile's start`;
  const busyNote = `${busySent} changes to ${FRESH_OBJECTS} objects at ${RATE_PER_SECOND}/s over ${(drainMs / 1000).toFixed(1)} s of draining ${backlogLabel}; a FIFO queue would have kept them up to ${(drainMs / 1000).toFixed(1)} s behind it`;
  const watchLabel = 'a bare watch of the same namespace receiving the same changes';
  publish('runtime-latency', [
    { name: `event -> reconcile start p99, idle, ${RATE_PER_SECOND} changes/s`, value: quantile(idle.operator, 0.99), unit: 'ms', target: 20, comparator: '<=', baseline: quantile(idle.watch, 0.99), baselineLabel: watchLabel, note: idleNote },
    { name: `event -> reconcile start p50, idle`, value: quantile(idle.operator, 0.5), unit: 'ms', baseline: quantile(idle.watch, 0.5) },
    { name: `fresh event -> reconcile start p99, during ${backlogLabel}`, value: quantile(busy.operator, 0.99), unit: 'ms', target: 1000, comparator: '<=', baseline: quantile(busy.watch, 0.99), baselineLabel: watchLabel, note: busyNote },
    { name: `fresh event -> reconcile start p50, during the backlog`, value: quantile(busy.operator, 0.5), unit: 'ms', baseline: quantile(busy.watch, 0.5) },
  ]);
} finally {
  await cluster.stop();
}
