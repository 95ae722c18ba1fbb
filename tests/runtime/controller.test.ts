import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorFromStatus } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { Controller, type ControllerOptions, type StalledStatus } from '../../src/runtime/controller.ts';
import { ItemExponentialRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { Action, RequeueAfterError, TerminalError, type ReconcileContext } from '../../src/runtime/reconciler.ts';
import { Reflector } from '../../src/runtime/reflector.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { StatusWriter } from '../../src/runtime/status-writer.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { until } from '../kube/http-test-server.ts';
import { FakeListWatch, gizmo, gizmos, settle } from './fake-list-watch.ts';
import { FakeStatusClient } from './fake-status-client.ts';

const logger = createLogger({ level: 'silent' });
const jobs = { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true } as const;

type Behaviour = (object: KubeObject, context: ReconcileContext) => Promise<Action | undefined>;

class Harness {
  readonly clock = new ManualClock();
  readonly registry = new Registry();
  readonly metrics = new RuntimeMetrics(this.registry);
  readonly source = new FakeListWatch();
  readonly childSource = new FakeListWatch();
  readonly statusClient = new FakeStatusClient();
  readonly reflector: Reflector;
  readonly children: Reflector;
  readonly calls: { key: string; generation: number | undefined; signal: AbortSignal }[] = [];
  active = new Set<string>();
  overlaps = 0;
  behaviour: Behaviour = () => Promise.resolve(Action.done());
  controller: Controller | undefined;
  readonly #stop = new AbortController();
  readonly #hardStop = new AbortController();
  #running: Promise<unknown> = Promise.resolve();

  constructor(objects: KubeObject[]) {
    this.source.objects = objects;
    this.reflector = new Reflector({ source: this.source, resource: gizmos, clock: this.clock, logger, random: () => 0.5 });
    this.children = new Reflector({ source: this.childSource, resource: jobs, clock: this.clock, logger, random: () => 0.5 });
  }

  start(options: Partial<ControllerOptions<KubeObject>> = {}): this {
    const controller = new Controller({
      name: 'gizmo',
      for: this.reflector,
      owns: [{ reflector: this.children }],
      reconciler: {
        reconcile: async (object, context) => {
          if (this.active.has(context.key)) this.overlaps += 1;
          this.active.add(context.key);
          this.calls.push({ key: context.key, generation: object.metadata.generation, signal: context.signal });
          try {
            return await this.behaviour(object, context);
          } finally {
            this.active.delete(context.key);
          }
        },
      },
      statusWriter: new StatusWriter<StalledStatus>({ client: this.statusClient, resource: gizmos, clock: this.clock, random: () => 0.5 }),
      clock: this.clock,
      logger,
      metrics: this.metrics,
      rateLimiter: new ItemExponentialRateLimiter(5, 1_000_000),
      ...options,
    });
    this.controller = controller;
    this.#running = Promise.all([this.reflector.start(this.#stop.signal), this.children.start(this.#stop.signal), controller.start(this.#stop.signal, this.#hardStop.signal)]);
    return this;
  }

  keys(): string[] {
    return this.calls.map((call) => call.key);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    this.#hardStop.abort();
    await this.#running;
  }

  async metric(name: string, labels: Record<string, string> = { controller: 'gizmo' }): Promise<number> {
    return sampleValue(parsePrometheusText(await this.registry.metrics()), name, labels);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

function start(objects: KubeObject[], options: Partial<ControllerOptions<KubeObject>> = {}): Harness {
  harness = new Harness(objects).start(options);
  return harness;
}

/** Asserts that the next reconcile comes exactly `delayMs` after now on the manual clock. */
async function expectNextReconcileAfter(h: Harness, delayMs: number): Promise<void> {
  const before = h.calls.length;
  await settle();
  h.clock.advance(delayMs - 1);
  await settle();
  expect(h.calls).toHaveLength(before);
  h.clock.advance(1);
  await until(() => h.calls.length > before);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Controller triggers', () => {
  it('reconciles every listed object once, then waits for changes', async () => {
    const h = start([gizmo('a', '1'), gizmo('b', '2'), gizmo('c', '3')]);
    await until(() => h.calls.length === 3);
    await settle();
    expect(h.keys().sort()).toEqual(['ns/a', 'ns/b', 'ns/c']);
    expect(await h.metric('controller_runtime_reconcile_total', { controller: 'gizmo', result: 'success' })).toBe(3);
  });

  it('a spec change triggers a reconcile; a status-only update does not', async () => {
    const h = start([gizmo('a', '1')]);
    await until(() => h.calls.length === 1 && h.source.watches.length === 1);
    h.source.current.push({ type: 'MODIFIED', object: { ...gizmo('a', '2'), status: { phase: 'Ready' } } as KubeObject });
    await settle();
    expect(h.calls).toHaveLength(1);
    h.source.current.push({ type: 'MODIFIED', object: gizmo('a', '3', { generation: 2 }) });
    await until(() => h.calls.length === 2);
    expect(h.calls[1]?.generation).toBe(2);
  });

  it('a change of an owned object reconciles its controlling owner', async () => {
    const h = start([gizmo('owner', '1')]);
    await until(() => h.calls.length === 1 && h.childSource.watches.length === 1);
    const child = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job-1', namespace: 'ns', resourceVersion: '5', ownerReferences: [{ apiVersion: 'demo.example.com/v1', kind: 'Gizmo', name: 'owner', uid: 'uid-owner', controller: true }] },
    };
    h.childSource.current.push({ type: 'ADDED', object: child });
    await until(() => h.calls.length === 2);
    const foreign = { ...child, metadata: { ...child.metadata, name: 'job-2', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Gizmo', name: 'owner', uid: 'x', controller: true }] } };
    h.childSource.current.push({ type: 'ADDED', object: foreign });
    await settle();
    expect(h.keys()).toEqual(['ns/owner', 'ns/owner']);
  });

  it('reconciles every cached object again after the resync period', async () => {
    const h = start([gizmo('a', '1'), gizmo('b', '2')], { resyncPeriodMs: 3_600_000 });
    await until(() => h.calls.length === 2);
    await expectNextReconcileAfter(h, 3_600_000);
    await until(() => h.calls.length === 4);
  });

  it('forgets the key of an object deleted before its turn, without reconciling', async () => {
    const gate = deferred();
    const h = start([gizmo('a', '1'), gizmo('b', '2')], { maxConcurrentReconciles: 1 });
    h.behaviour = async () => {
      await gate.promise;
      return Action.done();
    };
    await until(() => h.calls.length === 1 && h.source.watches.length === 1);
    const waiting = h.calls[0]?.key === 'ns/a' ? 'b' : 'a';
    h.source.current.push({ type: 'DELETED', object: gizmo(waiting, '9') });
    await settle();
    gate.resolve();
    await settle();
    expect(h.calls).toHaveLength(1);
  });
});

describe('Controller reconcile context', () => {
  it("a reconcile's logger carries the controller, the object and the reconcile's ID", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
    const h = start([gizmo('a', '1'), gizmo('b', '2')], { logger: createLogger({ level: 'info', destination }) });
    const ids = new Map<string, string>();
    h.behaviour = (object, context) => {
      ids.set(context.key, context.reconcileID);
      if (object.metadata.name === 'a') context.logger.info({ step: 1 }, 'reconciling');
      return Promise.resolve(Action.done());
    };
    await until(() => h.calls.length === 2);
    const logged = lines.filter((line) => line['msg'] === 'reconciling');
    expect(logged).toEqual([expect.objectContaining({ controller: 'gizmo', namespace: 'ns', name: 'a', reconcileID: ids.get('ns/a'), step: 1 })]);
    expect(ids.get('ns/a')).not.toEqual(ids.get('ns/b'));
  });
});

describe('Controller concurrency', () => {
  it('an update during a reconcile causes exactly one more reconcile, never a concurrent one', async () => {
    const h = start([gizmo('a', '1')], { maxConcurrentReconciles: 4 });
    const gates = [deferred(), deferred()];
    h.behaviour = async () => {
      await gates[h.calls.length - 1]?.promise;
      return Action.done();
    };
    await until(() => h.calls.length === 1 && h.source.watches.length === 1);
    for (let generation = 2; generation <= 4; generation += 1) h.source.current.push({ type: 'MODIFIED', object: gizmo('a', String(generation), { generation }) });
    await settle();
    expect(h.calls).toHaveLength(1);
    gates[0]?.resolve();
    await until(() => h.calls.length === 2);
    expect(h.calls[1]?.generation).toBe(4);
    gates[1]?.resolve();
    await settle();
    expect(h.calls).toHaveLength(2);
    expect(h.overlaps).toBe(0);
  });

  it('runs different keys in parallel up to the worker count', async () => {
    const gate = deferred();
    const h = start(Array.from({ length: 10 }, (_, i) => gizmo(`g${i}`, String(i + 1))), { maxConcurrentReconciles: 3 });
    h.behaviour = async () => {
      await gate.promise;
      return Action.done();
    };
    await until(() => h.calls.length === 3);
    await settle();
    expect(h.calls).toHaveLength(3);
    expect(await h.metric('controller_runtime_active_workers')).toBe(3);
    gate.resolve();
    await until(() => h.calls.length === 10);
  });

  it('serves a fresh event before a large initial backlog', async () => {
    const backlog = Array.from({ length: 500 }, (_, i) => gizmo(`old-${i}`, String(i + 1)));
    const gate = deferred();
    const h = start(backlog, { maxConcurrentReconciles: 1 });
    h.behaviour = async () => {
      await gate.promise;
      return Action.done();
    };
    await until(() => h.calls.length === 1 && h.source.watches.length === 1);
    h.source.current.push({ type: 'ADDED', object: gizmo('fresh', '9999') });
    await settle();
    h.behaviour = () => Promise.resolve(Action.done());
    gate.resolve();
    await until(() => h.calls.length === 501);
    expect(h.keys().indexOf('ns/fresh')).toBe(1);
  });
});

describe('Controller outcomes', () => {
  it('retries a failing reconcile with per-key exponential backoff, and forgets after a success', async () => {
    const h = start([gizmo('a', '1')]);
    let failures = 3;
    h.behaviour = () => (failures-- > 0 ? Promise.reject(new Error('transient')) : Promise.resolve(Action.done()));
    await until(() => h.calls.length === 1);
    for (const delay of [5, 10, 20]) await expectNextReconcileAfter(h, delay);
    await settle();
    expect(h.calls).toHaveLength(4);
    expect(h.controller?.queue?.numRequeues('ns/a')).toBe(0);
    expect(await h.metric('controller_runtime_reconcile_errors_total')).toBe(3);
    expect(await h.metric('controller_runtime_reconcile_total', { controller: 'gizmo', result: 'error' })).toBe(3);
  });

  it('never retries sooner than the Retry-After of a 429', async () => {
    const h = start([gizmo('a', '1')]);
    let throttled = true;
    h.behaviour = () => {
      if (!throttled) return Promise.resolve(Action.done());
      throttled = false;
      return Promise.reject(new Error('status write failed', { cause: apiErrorFromStatus(429, { kind: 'Status', code: 429, reason: 'TooManyRequests' }, '7') }));
    };
    await until(() => h.calls.length === 1);
    await expectNextReconcileAfter(h, 7_000);
  });

  it('a terminal error is not retried and marks the object Stalled through the status writer', async () => {
    const h = start([]);
    const stored = h.statusClient.put(gizmo('bad', '1', { generation: 3 }));
    h.source.objects = [stored];
    h.behaviour = () => Promise.reject(new TerminalError('spec.provider names no provider', { reason: 'InvalidSpec' }));
    await until(() => h.calls.length === 1);
    await until(() => h.statusClient.patches.length === 1);
    const written = h.statusClient.objects.get('ns/bad') as KubeObject & { status: StalledStatus };
    const byType = Object.fromEntries((written.status.conditions ?? []).map((c) => [c.type, [c.status, c.reason, c.observedGeneration]]));
    expect(byType).toEqual({ Stalled: ['True', 'InvalidSpec', 3], Ready: ['False', 'InvalidSpec', 3], Reconciling: ['False', 'InvalidSpec', 3] });
    expect(written.status.observedGeneration).toBe(3);
    h.clock.advance(3_600_000);
    await settle();
    expect(h.calls).toHaveLength(1);
    expect(await h.metric('controller_runtime_terminal_reconcile_errors_total')).toBe(1);
  });

  it('a RequeueAfterError retries after exactly its delay', async () => {
    const h = start([gizmo('a', '1')]);
    h.behaviour = () => (h.calls.length === 1 ? Promise.reject(new RequeueAfterError('breaker open', 30_000)) : Promise.resolve(Action.done()));
    await until(() => h.calls.length === 1);
    await expectNextReconcileAfter(h, 30_000);
  });

  it('requeueAfter looks again after the delay and counts requeue_after', async () => {
    const h = start([gizmo('a', '1')]);
    h.behaviour = () => Promise.resolve(h.calls.length === 1 ? Action.requeueAfter(10_000) : Action.done());
    await until(() => h.calls.length === 1);
    await expectNextReconcileAfter(h, 10_000);
    expect(await h.metric('controller_runtime_reconcile_total', { controller: 'gizmo', result: 'requeue_after' })).toBe(1);
  });

  it('aborts the reconcile signal at the deadline but keeps the key until the reconcile returns', async () => {
    const h = start([gizmo('a', '1')], { reconcileTimeoutMs: 1000 });
    const gate = deferred();
    h.behaviour = async () => {
      await gate.promise;
      return Action.done();
    };
    await until(() => h.calls.length === 1 && h.source.watches.length === 1);
    h.clock.advance(1000);
    expect(h.calls[0]?.signal.aborted).toBe(true);
    h.source.current.push({ type: 'MODIFIED', object: gizmo('a', '2', { generation: 2 }) });
    await settle();
    expect(h.calls).toHaveLength(1);
    gate.resolve();
    await until(() => h.calls.length === 2);
    expect(h.overlaps).toBe(0);
  });
});

describe('Controller metrics', () => {
  it('registers every controller-runtime family with its label sets at 0 before the first reconcile', async () => {
    harness = new Harness([]);
    const h = harness;
    new Controller({ name: 'gizmo', for: h.reflector, reconciler: { reconcile: () => Promise.resolve(Action.done()) }, clock: h.clock, logger, metrics: h.metrics, maxConcurrentReconciles: 7 });
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) expect(await h.metric('controller_runtime_reconcile_total', { controller: 'gizmo', result })).toBe(0);
    expect(await h.metric('controller_runtime_reconcile_errors_total')).toBe(0);
    expect(await h.metric('controller_runtime_terminal_reconcile_errors_total')).toBe(0);
    expect(await h.metric('controller_runtime_reconcile_time_seconds_count')).toBe(0);
    expect(await h.metric('controller_runtime_max_concurrent_reconciles')).toBe(7);
    expect(await h.metric('controller_runtime_active_workers')).toBe(0);
  });
});
