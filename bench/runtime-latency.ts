// Benchmark: time from a spec change to the start of its reconcile, at 50 changes/s, idle and while a 10,000-object backlog drains.
import { setTimeout as delay } from 'node:timers/promises';
import { KubeClient } from '../src/kube/client.ts';
import { createWidgets, quantile, report, startBenchCluster, startBenchOperator, widgets, type BenchCluster, type BenchOperator, type Widget } from './runtime-bench-cluster.ts';

const RATE_PER_SECOND = 50;
const STEADY_SECONDS = 20;
const BACKLOG = 10_000;
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

const ms = (value: number): string => `${value.toFixed(1)} ms`;

const cluster = await startBenchCluster();
try {
  // Idle: 200 converged objects, 50 changes per second for 20 s.
  const idleNamespace = await cluster.namespace('bench-latency');
  await createWidgets(cluster.client, idleNamespace, 'w', 200);
  const idle = new Probe();
  const idleOperator = await startOperator(cluster, idleNamespace, idle);
  // Warm-up (not measured): the first thousand requests run unoptimized code in the server and here.
  const warmUpEnd = performance.now() + 5_000;
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

  const idleP99 = quantile(idle.operator, 0.99);
  const busyP99 = quantile(busy.operator, 0.99);
  report(`runtime latency: spec change sent -> reconcile start, ${RATE_PER_SECOND} changes/s`, {
    figure: `idle (200 objects, ${idleSent} changes): p50 ${ms(quantile(idle.operator, 0.5))}, p99 ${ms(idleP99)}; during a ${BACKLOG.toLocaleString('en-US')}-object backlog (${busySent} fresh changes over ${(drainMs / 1000).toFixed(1)} s of draining): p50 ${ms(quantile(busy.operator, 0.5))}, p99 ${ms(busyP99)}`,
    target: 'idle p99 <= 20 ms; fresh changes during the backlog p99 <= 1000 ms',
    met: idleP99 <= 20 && busyP99 <= 1000,
    baseline: `a bare watch of the same changes, same run: idle p50 ${ms(quantile(idle.watch, 0.5))}, p99 ${ms(quantile(idle.watch, 0.99))}; during the backlog p50 ${ms(quantile(busy.watch, 0.5))}, p99 ${ms(quantile(busy.watch, 0.99))}`,
    ratio: `operator p99 / bare watch p99: idle ${(idleP99 / quantile(idle.watch, 0.99)).toFixed(2)}, backlog ${(busyP99 / quantile(busy.watch, 0.99)).toFixed(2)}; a FIFO queue would have kept fresh changes up to ${(drainMs / 1000).toFixed(1)} s behind the backlog`,
    notes: ['changes are merge patches of spec (a new generation each); latency counts from just before the PATCH is sent; the reconcile writes status.observedGeneration'],
  });
} finally {
  await cluster.stop();
}
