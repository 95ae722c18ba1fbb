// The Sweep controller in a process of its own, for restart tests: node operator-process.ts KUBECONFIG NAMESPACE REDIS_URL KEY_PREFIX.
// It prints "ready" once started and runs until SIGTERM (a test may SIGKILL it instead).
import { terminationSignal } from '../../../src/runtime/manager.ts';
import { startSweepOperator } from './sweep-operator.ts';

const [kubeconfig, namespace, redisUrl, keyPrefix] = process.argv.slice(2);
if (kubeconfig === undefined || namespace === undefined || redisUrl === undefined || keyPrefix === undefined) {
  process.stderr.write('usage: operator-process.ts KUBECONFIG NAMESPACE REDIS_URL KEY_PREFIX\n');
  process.exit(2);
}
const operator = await startSweepOperator(kubeconfig, { namespace, redis: { url: redisUrl, keyPrefix }, controller: { tuning: { jobPollMs: 5_000 } } });
process.stdout.write('ready\n');
const signal = terminationSignal();
await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
await operator.stop();
process.exit(0);
