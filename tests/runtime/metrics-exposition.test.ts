import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { AdminServer } from '../../src/observability/admin-server.ts';
import { Checks } from '../../src/observability/checks.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Action } from '../../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { parsePrometheusText, type MetricFamily } from '../support/prometheus-text.ts';
import { json, startTestServer, tokenKubeConfig, until, type TestServer } from '../kube/http-test-server.ts';
import { LeaseStore, ReplicaLock } from './fake-lease-lock.ts';
import { FakeListWatch, gizmo, gizmos } from './fake-list-watch.ts';

const logger = createLogger({ level: 'silent' });
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function labelSets(family: MetricFamily | undefined): Record<string, string>[] {
  return (family?.samples ?? []).map((sample) => sample.labels);
}

describe('/metrics', () => {
  it('exposes every runtime family with controller-runtime names and labels, parsed from the admin server', async () => {
    const registry = new Registry();
    const clock = new ManualClock();
    const metrics = new RuntimeMetrics(registry);
    const source = new FakeListWatch();
    source.objects = [gizmo('a', '1')];
    const manager = new Manager({
      client: source,
      clock,
      logger,
      metrics,
      random: () => 0.5,
      leaderElection: { namespace: 'system', name: 'blackroad-os-operator', identity: 'pod-1', lock: new ReplicaLock(new LeaseStore()) },
    });
    const reconciled: string[] = [];
    manager.controller({ name: 'deploy', for: manager.reflector(gizmos), reconciler: {
        reconcile: (_object, context) => {
          reconciled.push(context.key);
          return Promise.resolve(Action.done());
        },
      },
    });
    const api: TestServer = await startTestServer((_req, res) => json(res, 200, { major: '1' }));
    const client = KubeClient.fromKubeConfig(tokenKubeConfig(api.url), { registry });
    await client.request({ method: 'GET', path: '/version' });
    const admin = new AdminServer({ metricsAddr: { host: '127.0.0.1', port: 0 }, probeAddr: null, registry, health: new Checks(), readiness: new Checks(), logger });
    await admin.start();
    const shutdown = new AbortController();
    const running = manager.start(shutdown.signal);
    cleanup = async () => {
      shutdown.abort();
      await running;
      await admin.stop();
      client.close();
      await api.close();
    };
    await until(() => reconciled.length === 1);

    const body = await (await fetch(`${admin.metrics?.url() ?? ''}/metrics`)).text();
    const families = parsePrometheusText(body);
    const expected: Record<string, { type: string; labels: string[] }> = {
      controller_runtime_reconcile_total: { type: 'counter', labels: ['controller', 'result'] },
      controller_runtime_reconcile_errors_total: { type: 'counter', labels: ['controller'] },
      controller_runtime_terminal_reconcile_errors_total: { type: 'counter', labels: ['controller'] },
      controller_runtime_reconcile_time_seconds: { type: 'histogram', labels: ['controller'] },
      controller_runtime_max_concurrent_reconciles: { type: 'gauge', labels: ['controller'] },
      controller_runtime_active_workers: { type: 'gauge', labels: ['controller'] },
      workqueue_depth: { type: 'gauge', labels: ['controller', 'name', 'priority'] },
      workqueue_adds_total: { type: 'counter', labels: ['controller', 'name'] },
      workqueue_queue_duration_seconds: { type: 'histogram', labels: ['controller', 'name'] },
      workqueue_work_duration_seconds: { type: 'histogram', labels: ['controller', 'name'] },
      workqueue_unfinished_work_seconds: { type: 'gauge', labels: ['controller', 'name'] },
      workqueue_longest_running_processor_seconds: { type: 'gauge', labels: ['controller', 'name'] },
      workqueue_retries_total: { type: 'counter', labels: ['controller', 'name'] },
      leader_election_master_status: { type: 'gauge', labels: ['name'] },
      rest_client_requests_total: { type: 'counter', labels: ['code', 'host', 'method'] },
      blackroad_watch_last_event_age_seconds: { type: 'gauge', labels: ['resource'] },
      blackroad_watch_relists_total: { type: 'counter', labels: ['resource'] },
      blackroad_watch_restarts_total: { type: 'counter', labels: ['resource'] },
    };
    for (const [name, { type, labels }] of Object.entries(expected)) {
      const family = families.get(name);
      expect(family?.type, name).toBe(type);
      const sets = labelSets(family).map((set) => Object.keys(set).filter((key) => key !== 'le').sort());
      expect(sets.length, name).toBeGreaterThan(0);
      for (const set of sets) expect(set, name).toEqual(labels);
    }
    const results = labelSets(families.get('controller_runtime_reconcile_total')).map((set) => set['result']).sort();
    expect(results).toEqual(['error', 'requeue', 'requeue_after', 'success']);
    const priorities = labelSets(families.get('workqueue_depth')).map((set) => set['priority']).sort();
    expect(priorities).toEqual(['-100', '0']);
    expect(families.get('leader_election_master_status')?.samples[0]?.value).toBe(1);
    expect(families.get('rest_client_requests_total')?.samples[0]?.labels).toEqual({ code: '200', method: 'GET', host: new URL(api.url).host });
  });
});
