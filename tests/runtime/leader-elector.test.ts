import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { LeaderElector } from '../../src/runtime/leader-elector.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { until } from '../kube/http-test-server.ts';
import { settle } from './fake-list-watch.ts';
import { LeaseStore, ReplicaLock } from './fake-lease-lock.ts';

interface Replica {
  readonly lock: ReplicaLock;
  readonly elector: LeaderElector;
  readonly log: string[];
  leadership: AbortSignal | undefined;
  readonly stop: () => Promise<void>;
}

const clock = new ManualClock();
const registry = new Registry();
const metrics = new RuntimeMetrics(registry);
const replicas: Replica[] = [];
afterEach(async () => {
  for (const replica of replicas.splice(0)) {
    replica.lock.frozen = false;
    replica.lock.failing = false;
    await replica.stop();
  }
});

function replica(store: LeaseStore, identity: string, random = 0.5): Replica {
  const lock = new ReplicaLock(store);
  const elector = new LeaderElector({ lock, identity, name: 'operator', clock, logger: createLogger({ level: 'silent' }), ...(identity === 'a' ? { metrics } : {}), random: () => random });
  const controller = new AbortController();
  const r: Replica = {
    lock,
    elector,
    log: [],
    leadership: undefined,
    stop: async () => {
      controller.abort();
      await running;
    },
  };
  const running = elector.run(controller.signal, {
    onStartedLeading: (signal) => {
      r.leadership = signal;
      r.log.push(`leading@${clock.now() - start}`);
    },
    onStoppedLeading: () => r.log.push(`stopped@${clock.now() - start}`),
  });
  replicas.push(r);
  return r;
}

let start = clock.now();

/** Moves the clock in steps of `stepMs`, letting the electors run between steps. */
async function elapse(ms: number, stepMs = 100): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    clock.advance(Math.min(stepMs, ms - passed));
    await settle(5);
  }
}

describe('LeaderElector', () => {
  it('creates a missing Lease and leads; a second replica stands by while the leader renews', async () => {
    start = clock.now();
    const store = new LeaseStore();
    const a = replica(store, 'a');
    await until(() => a.elector.isLeader);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(store.lease?.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const b = replica(store, 'b');
    await elapse(60_000);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(b.elector.leader).toBe('a');
    expect(Number(store.lease?.metadata.resourceVersion)).toBeGreaterThanOrEqual(30);
    expect(sampleValue(parsePrometheusText(await registry.metrics()), 'leader_election_master_status', { name: 'operator' })).toBe(1);
  });

  it('a crashed leader is replaced once its Lease has not changed for the lease duration', async () => {
    start = clock.now();
    const store = new LeaseStore();
    const a = replica(store, 'a');
    await until(() => a.elector.isLeader);
    const b = replica(store, 'b');
    await elapse(4_000);
    a.lock.frozen = true;
    const crashedAt = clock.now();
    while (!b.elector.isLeader) await elapse(100);
    const takeoverMs = clock.now() - crashedAt;
    expect(takeoverMs).toBeGreaterThanOrEqual(13_000);
    expect(takeoverMs).toBeLessThanOrEqual(15_000 + 2_400 + 100);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a graceful shutdown releases the Lease and a standby takes it within 2.4 s', async () => {
    start = clock.now();
    const store = new LeaseStore();
    const a = replica(store, 'a');
    await until(() => a.elector.isLeader);
    const b = replica(store, 'b', 0.999);
    await elapse(3_000);
    const stopping = a.stop();
    await settle();
    await stopping;
    expect(a.log.at(-1)).toMatch(/^stopped@/);
    expect(store.lease?.spec?.holderIdentity).toBe('');
    const releasedAt = clock.now();
    while (!b.elector.isLeader) await elapse(50, 50);
    expect(clock.now() - releasedAt).toBeLessThanOrEqual(2_400);
  });

  it('gives leadership up when renewing fails for the renew deadline, aborting its signal, then campaigns again', async () => {
    start = clock.now();
    const store = new LeaseStore();
    const a = replica(store, 'a');
    await until(() => a.elector.isLeader);
    const leadership = a.leadership;
    a.lock.failing = true;
    await elapse(9_000);
    expect(a.elector.isLeader).toBe(true);
    await elapse(1_100);
    expect(a.elector.isLeader).toBe(false);
    expect(leadership?.aborted).toBe(true);
    expect(sampleValue(parsePrometheusText(await registry.metrics()), 'leader_election_master_status', { name: 'operator' })).toBe(0);
    a.lock.failing = false;
    await elapse(3_000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.log.map((entry) => entry.split('@')[0])).toEqual(['leading', 'stopped', 'leading']);
  });

  it('stops leading at once when another holder is seen', async () => {
    start = clock.now();
    const store = new LeaseStore();
    const a = replica(store, 'a');
    await until(() => a.elector.isLeader);
    store.write({ ...store.lease?.spec, holderIdentity: 'intruder' });
    await elapse(2_100);
    expect(a.elector.isLeader).toBe(false);
    expect(a.leadership?.aborted).toBe(true);
  });

  it('rejects timings that cannot keep one leader', () => {
    const lock = new ReplicaLock(new LeaseStore());
    const logger = createLogger({ level: 'silent' });
    expect(() => new LeaderElector({ lock, identity: 'x', name: 'n', clock, logger, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(RangeError);
    expect(() => new LeaderElector({ lock, identity: 'x', name: 'n', clock, logger, renewDeadlineMs: 2_000 })).toThrow(RangeError);
  });
});
