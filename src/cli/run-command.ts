// `blackroad-operator run`: the operator against a cluster, from inside a pod or through a kubeconfig.
import { isAgentCatalogError } from '../agents/catalog.ts';
import { describeOptions, isConfigError, kubernetesServiceAddress, loadConfig } from '../config/config.ts';
import { createLogger } from '../observability/logger.ts';
import { SecretMask } from '../observability/redact.ts';
import { terminationSignal } from '../runtime/termination-signal.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command, type CommandIo } from './command.ts';
import { runOperator } from './operator.ts';

export interface RunCommandOptions {
  /** Aborts to stop the operator; SIGTERM or SIGINT by default. */
  readonly stopSignal?: () => AbortSignal;
}

function help(): string {
  return [
    'Usage: blackroad-operator run [flags]',
    '',
    'Runs the operator: reconciles Deploys and Sweeps (operator.blackroad.io/v1alpha1) until SIGTERM or SIGINT, then',
    'lets in-flight reconciles finish (up to --shutdown-timeout-seconds), releases its Lease and exits 0.',
    'It serves /metrics on the metrics address and /healthz, /readyz, /events, /agents and /debug/breakers on the',
    'probe address. Logs are JSON lines on standard output.',
    '',
    'Every setting is a flag or an environment variable (a flag wins); invalid settings stop it with exit code 2.',
    '',
    'Flags:',
    describeOptions(),
    '',
  ].join('\n');
}

/** The `run` subcommand. */
export function runCommand(options: RunCommandOptions = {}): Command {
  return {
    name: 'run',
    summary: 'run the operator against a cluster (in-cluster, or through KUBECONFIG)',
    help,
    async run(args: readonly string[], io: CommandIo): Promise<number> {
      const config = loadConfig(args, io.env);
      const secretMask = new SecretMask();
      const logger = createLogger({ level: config.logLevel, secretMask, destination: io.stdout as never, base: { identity: config.identity } });
      const signal = options.stopSignal?.() ?? terminationSignal();
      const inCluster = kubernetesServiceAddress(io.env);
      try {
        await runOperator({ config, logger, secretMask, ...(inCluster === undefined ? {} : { inCluster }) }, signal);
        return EXIT_OK;
      } catch (error) {
        if (isAgentCatalogError(error)) {
          io.stderr.write(`blackroad-operator run: ${error.message}\n`);
          return EXIT_USAGE;
        }
        // Bad configuration is reported by the CLI with exit code 2.
        if (isConfigError(error)) throw error;
        if (signal.aborted) return EXIT_OK;
        logger.fatal({ err: error }, 'operator failed to start');
        io.stderr.write(`blackroad-operator run: ${error instanceof Error ? error.message : String(error)}\n`);
        return EXIT_FAILURE;
      }
    },
  };
}
