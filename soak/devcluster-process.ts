// The soak's API server in a process of its own: the devcluster, its workload simulator and the write ledger, driven over IPC.
// Started by soak.ts with `fork`; not a command of its own. Messages in: `report`, `stop`. Messages out: `ready`, the report.
import { join } from 'node:path';
import { pino } from 'pino';
import { installCrds } from '../src/cli/dev-command.ts';
import { DevCluster } from '../src/devcluster/dev-cluster.ts';
import { WorkloadSimulator } from '../src/devcluster/simulator.ts';
import { KubeClient } from '../src/kube/client.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { WriteLedger, type WriteReport } from './write-ledger.ts';

/** What the process announces once it serves. */
export interface DevclusterReady {
  readonly kind: 'ready';
  readonly url: string;
  readonly adminUrl: string;
  readonly kubeconfigPath: string;
}

export interface DevclusterReport {
  readonly kind: 'report';
  readonly writes: WriteReport;
  /** Unexpected server errors (bugs in the devcluster), counted. */
  readonly serverErrors: number;
}

const WATCHED_BUCKETS = ['operator.blackroad.io/deploys', 'operator.blackroad.io/sweeps', 'apps/deployments', 'batch/jobs'];

async function serve(runDir: string): Promise<void> {
  const ledger = new WriteLedger();
  let serverErrors = 0;
  const logger = pino({ level: 'warn' }, pino.destination({ dest: join(runDir, 'devcluster.log'), sync: false }));
  const cluster = await DevCluster.start({
    tls: false,
    adminPort: 0,
    onRequest: (request) => ledger.request(request),
    onError: (error) => {
      serverErrors++;
      logger.error({ err: error }, 'devcluster request failed unexpectedly');
    },
  });
  for (const bucket of WATCHED_BUCKETS) cluster.subscribe(bucket, (event) => ledger.commit({ type: event.type, bucket: event.bucket, json: event.object.json, prevJson: event.prev?.json }));
  const kubeconfigPath = join(runDir, 'kubeconfig');
  cluster.writeKubeconfig(kubeconfigPath);
  const client = KubeClient.fromFile(kubeconfigPath, { userAgent: 'blackroad-soak-simulator/0.1.0' });
  await installCrds(client);
  const stopping = new AbortController();
  const simulating = new WorkloadSimulator({ client, clock: systemClock, logger: logger.child({ component: 'simulator' }), retryDelayMs: 500 }).run(stopping.signal);

  process.on('message', (message) => {
    if (message === 'report') {
      const report: DevclusterReport = { kind: 'report', writes: ledger.report(), serverErrors };
      process.send?.(report);
    } else if (message === 'stop') {
      stopping.abort();
      void simulating
        .then(async () => {
          client.close();
          await cluster.stop();
          logger.flush();
        })
        .finally(() => process.exit(0));
    }
  });
  // The soak going away takes the server with it.
  process.on('disconnect', () => process.exit(0));
  const ready: DevclusterReady = { kind: 'ready', url: cluster.url, adminUrl: cluster.adminUrl ?? '', kubeconfigPath };
  process.send?.(ready);
}

const runDir = process.argv[2];
if (process.send === undefined || runDir === undefined) {
  console.error('soak/devcluster-process.ts is started by soak/soak.ts (fork with IPC), with the run folder as its argument');
  process.exit(2);
}
await serve(runDir);
