// The operator as `blackroad-operator dev` runs it: one replica against the embedded API server.
import { loadConfig } from '../config/config.ts';
import type { DevRunnable } from './dev-command.ts';
import { runOperator } from './operator.ts';

/**
 * Runs the operator beside the embedded API server with the environment's settings (`LOG_LEVEL`,
 * `METRICS_BIND_ADDRESS`, `REDIS_URL`, ...), the server's kubeconfig, and no leader election.
 */
export const devOperator: DevRunnable = {
  name: 'operator',
  async run(context, signal) {
    const config = loadConfig([], context.env);
    await runOperator({ config, logger: context.logger, secretMask: context.secretMask, kubeconfigPath: context.kubeconfigPath, singleReplica: true }, signal);
  },
};
