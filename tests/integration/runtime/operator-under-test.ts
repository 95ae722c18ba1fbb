// Runs the runtime against the suite's cluster with a test-only Widget reconciler that records what it sees.
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { KubeClient } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import type { Controller } from '../../../src/runtime/controller.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { Action, type ReconcileContext } from '../../../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { StatusWriter } from '../../../src/runtime/status-writer.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { parsePrometheusText, type MetricFamily } from '../../support/prometheus-text.ts';
import { widget, widgetCrd, widgets, type Widget, type WidgetStatus } from './widget-resource.ts';

/** What the reconciler does for one object; by default: stamp `status.observedGeneration`. */
export type WidgetBehaviour = (object: Widget, context: ReconcileContext, operator: OperatorUnderTest) => Promise<Action>;

export interface OperatorUnderTest {
  readonly client: KubeClient;
  readonly manager: Manager;
  readonly controller: Controller<Widget>;
  readonly status: StatusWriter<WidgetStatus>;
  readonly registry: Registry;
  /** Reconciles started, per key, with the generation each saw. */
  readonly reconciles: Map<string, number[]>;
  /** Keys being reconciled right now. */
  readonly active: Set<string>;
  /** Times a reconcile started for a key that was already being reconciled (must stay 0). */
  overlaps: number;
  behaviour: WidgetBehaviour;
  /** Writes `status.observedGeneration` for the object (the default behaviour's work). */
  stamp(object: Widget, context: ReconcileContext): Promise<Widget>;
  metrics(): Promise<Map<string, MetricFamily>>;
  stop(): Promise<void>;
}

/** Starts a manager (no leader election) reconciling Widgets of `namespace`. */
export async function startOperator(kubeconfigPath: string, namespace: string, options: OperatorOptions = {}): Promise<OperatorUnderTest> {
  const registry = new Registry();
  const client = KubeClient.fromFile(kubeconfigPath, { registry, fieldManager: 'runtime-test' });
  const manager = new Manager({ client, clock: systemClock, logger: createLogger({ level: 'silent' }), metrics: new RuntimeMetrics(registry), namespace, shutdownTimeoutMs: 5_000 });
  const status = new StatusWriter<WidgetStatus>({ client, resource: widgets, clock: systemClock, fieldManager: 'runtime-test' });
  const shutdown = new AbortController();
  const operator: OperatorUnderTest = {
    client,
    manager,
    status,
    registry,
    reconciles: new Map(),
    active: new Set(),
    overlaps: 0,
    behaviour: async (object, context, self) => {
      await self.stamp(object, context);
      return Action.done();
    },
    stamp: (object, context) => status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0 }), { signal: context.signal }),
    metrics: async () => parsePrometheusText(await registry.metrics()),
    stop: async () => {
      shutdown.abort();
      await running;
      client.close();
    },
    controller: undefined as unknown as Controller<Widget>,
  };
  const controller = manager.controller<Widget>({
    name: 'widget',
    for: manager.reflector<Widget>(widgets),
    maxConcurrentReconciles: options.workers ?? 8,
    ...(options.resyncPeriodMs === undefined ? {} : { resyncPeriodMs: options.resyncPeriodMs }),
    statusWriter: new StatusWriter({ client, resource: widgets, clock: systemClock }),
    reconciler: {
      async reconcile(object, context) {
        if (operator.active.has(context.key)) operator.overlaps += 1;
        operator.active.add(context.key);
        const seen = operator.reconciles.get(context.key) ?? [];
        seen.push(object.metadata.generation ?? 0);
        operator.reconciles.set(context.key, seen);
        try {
          return await operator.behaviour(object, context, operator);
        } finally {
          operator.active.delete(context.key);
        }
      },
    },
  });
  Object.assign(operator, { controller });
  const running = manager.start(shutdown.signal);
  await manager.reflector(widgets).store.waitForSync();
  return operator;
}

/** Creates `count` Widgets named `<prefix>-<i>`, `parallel` at a time. */
export async function createWidgets(client: KubeClient, namespace: string, prefix: string, count: number, parallel = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        await client.create(widgets, widget(namespace, `${prefix}-${index}`, index));
      }
    }),
  );
}

/** Widgets of `namespace` whose status has caught up with their generation, and all of them. */
export async function convergence(client: KubeClient, namespace: string): Promise<{ converged: number; total: number; laggards: string[] }> {
  const list = await client.listAll<Widget>(widgets, { namespace });
  const laggards = list.items.filter((item) => item.status?.observedGeneration !== item.metadata.generation).map((item) => item.metadata.name ?? '');
  return { converged: list.items.length - laggards.length, total: list.items.length, laggards };
}

/** Polls until every Widget of `namespace` has converged (at least `expected` of them); throws with the laggards after `timeoutMs`. */
export async function waitConverged(client: KubeClient, namespace: string, expected: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = { converged: 0, total: 0, laggards: [] as string[] };
  while (Date.now() < deadline) {
    last = await convergence(client, namespace);
    if (last.total >= expected && last.laggards.length === 0) return;
    await delay(100);
  }
  throw new Error(`${last.converged}/${last.total} widgets converged after ${timeoutMs} ms; e.g. ${last.laggards.slice(0, 5).join(', ')}`);
}

/** Resolves once `condition` holds, polling every 20 ms; throws after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await delay(20);
  }
  throw new Error(`${what} did not hold within ${timeoutMs} ms`);
}

export interface OperatorOptions {
  readonly workers?: number;
  readonly resyncPeriodMs?: number;
}

export interface RuntimeSuite {
  /** The suite's cluster (after `beforeAll`). */
  readonly cluster: ClusterHarness;
  /** Starts an operator in the suite's namespace; it is stopped after the test. */
  start(options?: OperatorOptions): Promise<OperatorUnderTest>;
  /** Starts an operator, creates `count` Widgets named `<prefix>-<i>` and waits until they converged. */
  startConverged(prefix: string, count: number, options?: OperatorOptions): Promise<OperatorUnderTest>;
}

/** One cluster per test file (with the Widget CRD), one operator per test, faults cleared after each test. */
export function runtimeSuite(suite: string): RuntimeSuite {
  let cluster: ClusterHarness | undefined;
  let operator: OperatorUnderTest | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ suite, crds: [widgetCrd] });
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    cluster?.faults?.reset();
    await operator?.stop();
    operator = undefined;
  });
  const harness = (): ClusterHarness => {
    if (cluster === undefined) throw new Error('the cluster starts in beforeAll');
    return cluster;
  };
  const start = async (options: OperatorOptions = {}): Promise<OperatorUnderTest> => {
    operator = await startOperator(harness().kubeconfigPath, harness().namespace, options);
    return operator;
  };
  return {
    get cluster() {
      return harness();
    },
    start,
    async startConverged(prefix, count, options = {}) {
      const started = await start(options);
      await createWidgets(started.client, harness().namespace, prefix, count);
      await waitConverged(started.client, harness().namespace, count, 60_000);
      return started;
    },
  };
}
