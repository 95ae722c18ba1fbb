// The cluster the runtime benchmarks run against: a devcluster in its own process (or BENCH_KUBECONFIG), plus fault and write helpers.
// Run directly (`node bench/runtime-bench-cluster.ts`) it serves a devcluster and prints its kubeconfig path and admin URL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { builtinResources, KubeClient, type KubeObject } from '../src/kube/client.ts';
import { isAlreadyExists } from '../src/kube/errors.ts';
import { createLogger } from '../src/observability/logger.ts';
import { systemClock } from '../src/resilience/clock.ts';
import type { Controller } from '../src/runtime/controller.ts';
import { Manager } from '../src/runtime/manager.ts';
import { Action, type ReconcileContext } from '../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../src/runtime/runtime-metrics.ts';
import { StatusWriter } from '../src/runtime/status-writer.ts';
import { widget, widgetCrd, widgets, type Widget } from '../tests/integration/runtime/widget-resource.ts';

export { widgets, type Widget };

export interface BenchCluster {
  readonly kubeconfigPath: string;
  readonly client: KubeClient;
  /** The devcluster's fault API (null for BENCH_KUBECONFIG). */
  readonly adminUrl: string | null;
  /** A fresh namespace with the Widget CRD installed. */
  namespace(name: string): Promise<string>;
  fault(action: string, body?: Record<string, unknown>): Promise<void>;
  /** CPU seconds (user + system) the devcluster process has used so far; NaN for BENCH_KUBECONFIG or off Linux. */
  serverCpuSeconds(): number;
  stop(): Promise<void>;
}

/** CPU seconds a process has used, from /proc/<pid>/stat (utime + stime, in clock ticks); NaN when unreadable. */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // The command name (field 2) may hold spaces; the fields after it start at the state (field 3).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
  } catch {
    return Number.NaN;
  }
}

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const self = fileURLToPath(import.meta.url);

/** Starts a devcluster in a child process (its own event loop and CPU), or connects to BENCH_KUBECONFIG. */
export async function startBenchCluster(): Promise<BenchCluster> {
  const external = process.env['BENCH_KUBECONFIG'];
  let kubeconfigPath: string;
  let adminUrl: string | null = null;
  let child: ChildProcess | undefined;
  if (external !== undefined && external !== '') {
    kubeconfigPath = external;
  } else {
    child = spawn(process.execPath, [self, 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const ready = await new Promise<{ kubeconfig: string; admin: string }>((resolve, reject) => {
      let buffered = '';
      child?.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        const line = buffered.split('\n')[0];
        if (buffered.includes('\n') && line !== undefined) resolve(JSON.parse(line) as { kubeconfig: string; admin: string });
      });
      child?.once('exit', (code) => reject(new Error(`devcluster exited with ${String(code)}`)));
    });
    kubeconfigPath = ready.kubeconfig;
    adminUrl = ready.admin;
  }
  const client = KubeClient.fromFile(kubeconfigPath, { requestTimeoutMs: 120_000 });
  try {
    await client.create(builtinResources.customResourceDefinitions, widgetCrd as KubeObject);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.list(widgets, { namespace: 'default', limit: 1 });
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const created: string[] = [];
  return {
    kubeconfigPath,
    client,
    adminUrl,
    async namespace(name) {
      const full = `${name}-${process.pid}-${created.length}`;
      await client.create(builtinResources.namespaces, { metadata: { name: full } });
      created.push(full);
      return full;
    },
    async fault(action, body = {}) {
      if (adminUrl === null) throw new Error('fault injection needs the devcluster');
      const answer = await fetch(`${adminUrl}/devcluster/faults/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!answer.ok) throw new Error(`fault ${action}: ${answer.status}`);
    },
    serverCpuSeconds: () => cpuSecondsOf(child?.pid),
    async stop() {
      for (const name of created) await client.delete(builtinResources.namespaces, name).catch(() => undefined);
      client.close();
      if (child !== undefined) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child?.once('exit', resolve));
      }
    },
  };
}

/** The status the benchmark reconcilers write. */
export interface BenchStatus {
  observedGeneration?: number;
  /** Which run wrote the status last (so each run of a benchmark needs one write per object). */
  round?: string;
}

export interface BenchOperator {
  readonly manager: Manager;
  readonly controller: Controller<Widget>;
  readonly client: KubeClient;
  readonly registry: Registry;
  stop(): Promise<void>;
}

export interface BenchOperatorOptions {
  readonly workers?: number;
  readonly resyncPeriodMs?: number;
}

/** Starts a manager with one Widget controller over `namespace`; `reconcile` gets the status writer. */
export function startBenchOperator(
  cluster: BenchCluster,
  namespace: string,
  reconcile: (object: Widget & { status?: BenchStatus }, context: ReconcileContext, status: StatusWriter<BenchStatus>) => Promise<void>,
  options: BenchOperatorOptions = {},
): BenchOperator {
  const registry = new Registry();
  const client = KubeClient.fromFile(cluster.kubeconfigPath, { registry });
  const manager = new Manager({ client, clock: systemClock, logger: createLogger({ level: 'warn' }), metrics: new RuntimeMetrics(registry), namespace });
  const status = new StatusWriter<BenchStatus>({ client, resource: widgets, clock: systemClock });
  const controller = manager.controller<Widget & { status?: BenchStatus }>({
    name: 'widget',
    for: manager.reflector<Widget & { status?: BenchStatus }>(widgets),
    ...(options.workers === undefined ? {} : { maxConcurrentReconciles: options.workers }),
    ...(options.resyncPeriodMs === undefined ? {} : { resyncPeriodMs: options.resyncPeriodMs }),
    reconciler: {
      async reconcile(object, context) {
        await reconcile(object, context, status);
        return Action.done();
      },
    },
  });
  const shutdown = new AbortController();
  const running = manager.start(shutdown.signal);
  return {
    manager,
    controller: controller as Controller<Widget>,
    client,
    registry,
    async stop() {
      shutdown.abort();
      await running;
      client.close();
    },
  };
}

/** Creates `count` Widgets of about `bytes` bytes each, `parallel` requests at a time. */
export async function createWidgets(client: KubeClient, namespace: string, prefix: string, count: number, bytes = 1024, parallel = 32): Promise<void> {
  const payload = 'x'.repeat(Math.max(0, bytes - 330));
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        await client.create(widgets, widget(namespace, `${prefix}-${index}`, index, payload));
      }
    }),
  );
}

/** The value at quantile `q` (0–1) of `values`. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

if (process.argv[2] === 'serve') {
  const { DevCluster } = await import('../src/devcluster/dev-cluster.ts');
  const cluster = await DevCluster.start({ adminPort: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'bench-devcluster-'));
  const kubeconfig = join(dir, 'kubeconfig');
  cluster.writeKubeconfig(kubeconfig);
  process.stdout.write(`${JSON.stringify({ kubeconfig, admin: cluster.adminUrl })}\n`);
  const stop = async (): Promise<void> => {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
