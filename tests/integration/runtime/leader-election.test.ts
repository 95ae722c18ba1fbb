import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/kube/client.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { createWidgets, eventually, waitConverged } from './operator-under-test.ts';
import { widget, widgetCrd, widgets, type Widget } from './widget-resource.ts';

const script = fileURLToPath(new URL('./manager-process.ts', import.meta.url));

interface Report {
  readonly event: string;
  readonly identity: string;
  readonly at: number;
  readonly key?: string;
}

/** One operator replica in its own process. */
class Replica {
  readonly identity: string;
  readonly reports: Report[] = [];
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(kubeconfigPath: string, namespace: string, identity: string, lease: string) {
    this.identity = identity;
    this.process = spawn(process.execPath, [script, kubeconfigPath, namespace, identity, lease], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    this.process.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') this.reports.push(JSON.parse(line) as Report);
      }
    });
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
  }

  first(event: string): Report | undefined {
    return this.reports.find((report) => report.event === event);
  }

  reconciled(): string[] {
    return this.reports.filter((report) => report.event === 'reconcile').map((report) => report.key ?? '');
  }
}

let cluster: ClusterHarness;
let client: KubeClient;
const replicas: Replica[] = [];

beforeAll(async () => {
  cluster = await startCluster({ suite: 'runtime-leader', crds: [widgetCrd] });
  client = KubeClient.fromFile(cluster.kubeconfigPath);
});
afterAll(async () => {
  client.close();
  await cluster.stop();
});
afterEach(async () => {
  for (const replica of replicas.splice(0)) {
    if (replica.process.exitCode === null && replica.process.signalCode === null) replica.process.kill('SIGKILL');
    await replica.exited;
  }
});

async function pair(lease: string): Promise<{ leader: Replica; standby: Replica }> {
  const one = new Replica(cluster.kubeconfigPath, cluster.namespace, `${lease}-one`, lease);
  replicas.push(one);
  await eventually(() => one.first('leading') !== undefined, 20_000, 'the first replica leading');
  const two = new Replica(cluster.kubeconfigPath, cluster.namespace, `${lease}-two`, lease);
  replicas.push(two);
  await eventually(() => two.first('started') !== undefined, 20_000, 'the second replica started');
  return { leader: one, standby: two };
}

describe('two managers with leader election', () => {
  it('only the leader reconciles; SIGTERM hands over to the standby within 3 s and exits 0', async () => {
    const { leader, standby } = await pair('term');
    await createWidgets(client, cluster.namespace, 'term', 20);
    await waitConverged(client, cluster.namespace, 20);
    const owners = new Set((await client.listAll<Widget>(widgets, { namespace: cluster.namespace })).items.map((item) => item.status?.reconciledBy));
    expect(owners).toEqual(new Set([leader.identity]));
    expect(standby.reconciled()).toEqual([]);

    const signalledAt = Date.now();
    leader.process.kill('SIGTERM');
    expect(await leader.exited).toBe(0);
    expect(leader.first('exited')).toBeDefined();
    await eventually(() => standby.first('leading') !== undefined, 5_000, 'the standby leading');
    expect((standby.first('leading')?.at ?? Infinity) - signalledAt).toBeLessThanOrEqual(3_000);
    await client.create(widgets, widget(cluster.namespace, 'term-after'));
    await eventually(async () => (await client.get<Widget>(widgets, 'term-after', { namespace: cluster.namespace })).status?.reconciledBy === standby.identity, 10_000, 'the new leader reconciling');
    expect(leader.reconciled()).not.toContain(`${cluster.namespace}/term-after`);
  }, 60_000);

  it('SIGKILL of the leader: the standby takes over within the lease duration plus a retry period', async () => {
    const { leader, standby } = await pair('kill');
    await createWidgets(client, cluster.namespace, 'kill', 5);
    await eventually(() => leader.reconciled().filter((key) => key.includes('/kill-')).length >= 5, 10_000, 'the leader reconciling');
    const killedAt = Date.now();
    leader.process.kill('SIGKILL');
    await leader.exited;
    await eventually(() => standby.first('leading') !== undefined, 25_000, 'the standby leading');
    const takeoverMs = (standby.first('leading')?.at ?? Infinity) - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(15_000 + 2_400 + 500);
    await client.create(widgets, widget(cluster.namespace, 'kill-after'));
    await eventually(async () => (await client.get<Widget>(widgets, 'kill-after', { namespace: cluster.namespace })).status?.reconciledBy === standby.identity, 10_000, 'the new leader reconciling');
  }, 60_000);
});
