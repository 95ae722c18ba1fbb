// The operator's composition root (`blackroad-operator run`) started in the test's own process, watching one namespace.
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runOperator, type OperatorEndpoints, type OperatorTuning } from '../../src/cli/operator.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger, type LogLevel } from '../../src/observability/logger.ts';
import { SecretMask } from '../../src/observability/redact.ts';

const AGENT_CATALOG = fileURLToPath(new URL('../../agent-catalog/agents.yaml', import.meta.url));

/**
 * The settings `blackroad-operator run` takes from the environment, for an operator watching `namespace` alone:
 * one replica without leader election, metrics on a free local port, no probe server, a quick shutdown. `extra`
 * overrides any of them.
 */
export function operatorEnvironment(namespace: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WATCH_NAMESPACE: namespace,
    LEADER_ELECT: 'false',
    METRICS_BIND_ADDRESS: '127.0.0.1:0',
    HEALTH_PROBE_BIND_ADDRESS: '0',
    LOG_LEVEL: 'warn',
    AGENT_CATALOG,
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    ...extra,
  };
}

export interface InProcessOperatorOptions {
  readonly kubeconfigPath: string;
  readonly namespace: string;
  /** Timings of the suite; production's when absent. */
  readonly tuning?: OperatorTuning;
  /** Settings over {@link operatorEnvironment}'s. */
  readonly env?: Record<string, string>;
  /** The lines the logger writes (and {@link InProcessOperator.logs} keeps); none by default. */
  readonly logLevel?: LogLevel;
}

/** An operator running in this process. */
export interface InProcessOperator {
  /** Where its admin endpoints listen. */
  readonly endpoints: OperatorEndpoints;
  /** Every log line so far. */
  logs(): string;
  /** The `/metrics` text. */
  metrics(): Promise<string>;
  /** Stops it as SIGTERM would, and resolves once it has shut down. */
  stop(): Promise<void>;
}

/**
 * Runs the operator in this process; resolves once its admin endpoints listen (or it stopped before they did,
 * e.g. on bad configuration).
 */
export async function startInProcessOperator(options: InProcessOperatorOptions): Promise<InProcessOperator> {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  const secretMask = new SecretMask();
  const stopping = new AbortController();
  let endpoints: OperatorEndpoints = {};
  let listening: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (listening = resolve));
  const running = runOperator(
    {
      config: loadConfig([], operatorEnvironment(options.namespace, options.env)),
      logger: createLogger({ level: options.logLevel ?? 'silent', destination, secretMask }),
      secretMask,
      kubeconfigPath: options.kubeconfigPath,
      ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
      onListening: (addresses) => {
        endpoints = addresses;
        listening();
      },
    },
    stopping.signal,
  );
  await Promise.race([ready, running]);
  return {
    get endpoints() {
      return endpoints;
    },
    logs: () => lines.join(''),
    metrics: async () => (await fetch(`${endpoints.metrics ?? ''}/metrics`)).text(),
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
