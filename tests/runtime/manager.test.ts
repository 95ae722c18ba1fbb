import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { Checks } from '../../src/observability/checks.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Action, type ReconcileContext } from '../../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { until } from '../kube/http-test-server.ts';
import { LeaseStore, ReplicaLock } from './fake-lease-lock.ts';
import { FakeListWatch, gizmo, gizmos, settle } from './fake-list-watch.ts';

const logger = createLogger({ level: 'silent' });

interface Replica {
  readonly manager: Manager;
  readonly source: FakeListWatch;
  readonly readiness: Checks;
  readonly reconciled: string[];
  readonly signals: AbortSignal[];
  gate: Promise<void> | undefined;
  readonly shutdown: AbortController;
  readonly running: Promise<void>;
}

const running: Replica[] = [];
afterEach(async () => {
  for (const replica of running.splice(0)) {
    replica.gate = undefined;
    replica.shutdown.abort();
    await replica.running;
  }
});

function replica(clock: ManualClock, options: { identity?: string; lease?: LeaseStore; objects?: KubeObject[]; shutdownTimeoutMs?: number } = {}): Replica {
  const source = new FakeListWatch();
  source.objects = options.objects ?? [gizmo('a', '1'), gizmo('b', '2')];
  const readiness = new Checks();
  const manager = new Manager({
    client: source,
    clock,
    logger,
    metrics: new RuntimeMetrics(new Registry()),
    readiness,
    health: new Checks(),
    random: () => 0.5,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 30_000,
    ...(options.lease === undefined ? {} : { leaderElection: { namespace: 'system', name: 'operator', identity: options.identity ?? 'x', lock: new ReplicaLock(options.lease) } }),
  });
  const r: Replica = { manager, source, readiness, reconciled: [], signals: [], gate: undefined, shutdown: new AbortController(), running: Promise.resolve() };
  manager.controller({
    name: 'gizmo',
    for: manager.reflector(gizmos),
    maxConcurrentReconciles: 2,
    reconciler: {
      reconcile: async (_object: KubeObject, context: ReconcileContext) => {
        r.reconciled.push(context.key);
        r.signals.push(context.signal);
        // Like a well-behaved reconcile, it gives up when its signal aborts.
        const aborted = new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
        await Promise.race([r.gate, aborted]);
        return Action.done();
      },
    },
  });
  Object.assign(r, { running: manager.start(r.shutdown.signal) });
  running.push(r);
  return r;
}

async function elapse(clock: ManualClock, ms: number, stepMs = 100): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    clock.advance(Math.min(stepMs, ms - passed));
    await settle(5);
  }
}

describe('Manager without leader election', () => {
  it('is ready once its caches synced, and reconciles', async () => {
    const clock = new ManualClock();
    const source = new FakeListWatch();
    source.listErrors.push(new Error('apiserver starting'));
    const readiness = new Checks();
    const manager = new Manager({ client: source, clock, logger, metrics: new RuntimeMetrics(new Registry()), readiness, random: () => 0.5 });
    const reconciled: string[] = [];
    manager.controller({ name: 'gizmo', for: manager.reflector(gizmos), reconciler: { reconcile: (_o, c) => Promise.resolve(void reconciled.push(c.key)) } });
    source.objects = [gizmo('a', '1')];
    const shutdown = new AbortController();
    const done = manager.start(shutdown.signal);
    await settle();
    const before = await readiness.evaluate();
    expect(before.ok).toBe(false);
    expect(before.results[0]?.reason).toMatch(/waiting for reflector of gizmos/);
    clock.advance(1000);
    await until(() => reconciled.length === 1);
    expect((await readiness.evaluate()).ok).toBe(true);
    shutdown.abort();
    await done;
    await expect(readiness.evaluate()).resolves.toMatchObject({ results: [] });
  });

  it('shares one cache per resource and scope between controllers', () => {
    const manager = new Manager({ client: new FakeListWatch(), clock: new ManualClock(), logger, metrics: new RuntimeMetrics(new Registry()) });
    expect(manager.reflector(gizmos)).toBe(manager.reflector(gizmos));
    expect(manager.reflector(gizmos, { namespace: 'other' })).not.toBe(manager.reflector(gizmos));
  });

  it('refuses two controllers of the same name (their queues would share metric label sets)', () => {
    const manager = new Manager({ client: new FakeListWatch(), clock: new ManualClock(), logger, metrics: new RuntimeMetrics(new Registry()) });
    const reconciler = { reconcile: () => Promise.resolve(Action.done()) };
    manager.controller({ name: 'gizmo', for: manager.reflector(gizmos), reconciler });
    expect(() => manager.controller({ name: 'gizmo', for: manager.reflector(gizmos), reconciler })).toThrow(/already exists/);
  });

  it('on shutdown stops taking keys and lets in-flight reconciles finish before resolving', async () => {
    const clock = new ManualClock();
    let release = (): void => undefined;
    const r = replica(clock, { objects: [gizmo('a', '1'), gizmo('b', '2'), gizmo('c', '3')] });
    r.gate = new Promise((resolve) => (release = resolve));
    await until(() => r.reconciled.length === 2);
    let stopped = false;
    void r.running.then(() => (stopped = true));
    r.shutdown.abort();
    await elapse(clock, 10_000);
    expect(stopped).toBe(false);
    expect(r.signals.every((s) => !s.aborted)).toBe(true);
    release();
    await r.running;
    expect(r.reconciled).toHaveLength(2);
  });

  it('aborts in-flight reconciles when they outlive the shutdown timeout', async () => {
    const clock = new ManualClock();
    const r = replica(clock, { shutdownTimeoutMs: 5_000 });
    r.gate = new Promise(() => undefined);
    await until(() => r.reconciled.length === 2);
    r.shutdown.abort();
    await elapse(clock, 4_900);
    expect(r.signals.some((s) => s.aborted)).toBe(false);
    await elapse(clock, 200);
    expect(r.signals.every((s) => s.aborted)).toBe(true);
    await elapse(clock, 1_000);
    await r.running;
  });
});

describe('Manager with leader election', () => {
  it('only the leader reconciles; a standby keeps a warm cache and takes over within 2.4 s of a graceful shutdown', async () => {
    const clock = new ManualClock();
    const lease = new LeaseStore();
    const leader = replica(clock, { identity: 'one', lease });
    await until(() => leader.reconciled.length === 2);
    const standby = replica(clock, { identity: 'two', lease });
    await until(() => standby.manager.reflector(gizmos).store.hasSynced);
    expect((await standby.readiness.evaluate()).ok).toBe(true);
    await elapse(clock, 20_000);
    expect(standby.reconciled).toEqual([]);
    expect(standby.manager.isLeader).toBe(false);

    leader.shutdown.abort();
    await leader.running;
    expect(lease.lease?.spec?.holderIdentity).toBe('');
    const releasedAt = clock.now();
    while (standby.reconciled.length < 2) await elapse(clock, 50, 50);
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(2_400);
    expect(standby.manager.isLeader).toBe(true);
  });

  it('losing the Lease aborts in-flight reconciles at once and stops handing out keys', async () => {
    const clock = new ManualClock();
    const lease = new LeaseStore();
    const r = replica(clock, { identity: 'one', lease, objects: [gizmo('a', '1'), gizmo('b', '2'), gizmo('c', '3')] });
    r.gate = new Promise(() => undefined);
    await until(() => r.reconciled.length === 2);
    lease.write({ ...lease.lease?.spec, holderIdentity: 'usurper' });
    await elapse(clock, 2_100);
    expect(r.manager.isLeader).toBe(false);
    expect(r.signals.every((s) => s.aborted)).toBe(true);
    expect(r.reconciled).toHaveLength(2);
  });
});
