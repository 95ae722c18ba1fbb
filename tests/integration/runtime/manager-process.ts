// A manager with leader election in its own process, for takeover tests: node manager-process.ts KUBECONFIG NAMESPACE IDENTITY LEASE.
// It reconciles Widgets in NAMESPACE (stamping status.reconciledBy) and reports on stdout, one JSON object per line.
import { Registry } from 'prom-client';
import { KubeClient } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { terminationSignal } from '../../../src/runtime/termination-signal.ts';
import { Action } from '../../../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { StatusWriter } from '../../../src/runtime/status-writer.ts';
import { widgets, type Widget, type WidgetStatus } from './widget-resource.ts';

const [kubeconfig, namespace, identity, lease] = process.argv.slice(2);
if (kubeconfig === undefined || namespace === undefined || identity === undefined || lease === undefined) {
  process.stderr.write('usage: manager-process.ts KUBECONFIG NAMESPACE IDENTITY LEASE\n');
  process.exit(2);
}

const report = (event: string, fields: Record<string, unknown> = {}): void => void process.stdout.write(`${JSON.stringify({ event, identity, at: Date.now(), ...fields })}\n`);
const registry = new Registry();
const client = KubeClient.fromFile(kubeconfig, { registry, fieldManager: 'runtime-test' });
const logger = createLogger({ level: 'warn', destination: process.stderr as never });
const manager = new Manager({
  client,
  clock: systemClock,
  logger,
  metrics: new RuntimeMetrics(registry),
  namespace,
  shutdownTimeoutMs: 5_000,
  leaderElection: { namespace, name: lease, identity },
});
const status = new StatusWriter<WidgetStatus>({ client, resource: widgets, clock: systemClock, fieldManager: 'runtime-test' });
manager.controller<Widget>({
  name: 'widget',
  for: manager.reflector<Widget>(widgets),
  reconciler: {
    async reconcile(object, context) {
      report('reconcile', { key: context.key, generation: object.metadata.generation });
      await status.update(object, (current) => ({ ...current, observedGeneration: object.metadata.generation ?? 0, reconciledBy: identity }), { signal: context.signal });
      return Action.done();
    },
  },
});

const signal = terminationSignal();
signal.addEventListener('abort', () => report('stopping'), { once: true });
let leading = false;
const poll = setInterval(() => {
  if (manager.isLeader !== leading) {
    leading = manager.isLeader;
    report(leading ? 'leading' : 'standby');
  }
}, 20);
report('started');
await manager.start(signal);
clearInterval(poll);
client.close();
report('exited');
process.exit(0);
