// `blackroad-operator dev`: an embedded Kubernetes API server, the workload simulator and the examples' demo services, with the operator pluggable.
//
// The devcluster and the CRD generator are loaded with import() when `dev` runs or prints its help: every command is
// registered at start-up, and `run` in production must not pay for modules only `dev` uses (DESIGN.md §2;
// tests/cli/run-modules.test.ts).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DemoServices } from '../devcluster/demo-services.ts';
import { builtinResources, KubeClient, type KubeObject } from '../kube/client.ts';
import { isAlreadyExists } from '../kube/errors.ts';
import { createLogger, type Logger, type LogLevel } from '../observability/logger.ts';
import { SecretMask } from '../observability/redact.ts';
import { systemClock } from '../resilience/clock.ts';
import { isTerminationRequested, terminationSignal } from '../runtime/termination-signal.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Command, type CommandIo } from './command.ts';

/** What a component run by `dev` gets: the cluster's kubeconfig and the process logger. */
export interface DevContext {
  readonly kubeconfigPath: string;
  readonly logger: Logger;
  /** The mask the logger scrubs with; components add the Secret values they read. */
  readonly secretMask: SecretMask;
  /** The process environment, for components that read their configuration from it. */
  readonly env: NodeJS.ProcessEnv;
}

/** A component `dev` runs beside the API server until the process is told to stop. */
export interface DevRunnable {
  readonly name: string;
  /** Runs until `signal` aborts; a rejection stops `dev` with exit code 1. */
  run(context: DevContext, signal: AbortSignal): Promise<void>;
}

export interface DevCommandOptions {
  /** The operator, once it exists; `--no-operator` leaves it out. */
  readonly operator?: DevRunnable;
  /** Resolves when the process should stop (SIGINT or SIGTERM by default). */
  readonly stopSignal?: () => Promise<string>;
}

const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

async function help(operatorIncluded: boolean): Promise<string> {
  const { DEMO_SERVICES_PORT } = await import('../devcluster/demo-services.ts');
  return [
    'Usage: blackroad-operator dev [flags]',
    '',
    'Starts an embedded Kubernetes API server (HTTPS on 127.0.0.1, in memory, anonymous access allowed) and the',
    'workload simulator, which rolls out apps/v1 Deployments and completes batch/v1 Jobs as their',
    'devcluster.blackroad.io/outcome and devcluster.blackroad.io/delay-ms annotations ask. It writes a kubeconfig,',
    'installs the Deploy and Sweep CRDs, prints "kubeconfig: PATH" once the server is ready, and runs until',
    'SIGINT or SIGTERM.',
    '',
    `It also serves demo services on http://127.0.0.1:${DEMO_SERVICES_PORT} (a deploy hook, a Railway-compatible GraphQL API, health`,
    'endpoints and a code-quality checker, with published demo credentials), which the Deploys and Sweep of examples/',
    'call, so that "kubectl apply -f examples/" reaches Ready with nothing else to start. GET / on it lists them.',
    operatorIncluded
      ? 'It also runs the operator against that server, unless --no-operator is given.'
      : 'This build does not include the operator yet: dev runs the API server and the simulator only, and --no-operator changes nothing.',
    '',
    'Flags:',
    '  --port PORT          API server port (default 6443; 0 picks a free port)',
    '  --kubeconfig PATH    where to write the kubeconfig (default .devcluster/kubeconfig)',
    '  --no-operator        run the API server and the simulator only',
    '  --admin-port PORT    also serve the fault-injection API (/devcluster/faults/...) on this port (0 picks one)',
    `  --demo-port PORT     demo services port (default ${DEMO_SERVICES_PORT}, which the examples name; 0 picks a free port)`,
    '  --no-demo            do not serve the demo services',
    '',
  ].join('\n');
}

function port(raw: string | undefined, fallback: number | undefined, flag: string): number | undefined {
  if (raw === undefined) return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new RangeError(`--${flag}: "${raw}" is not a port; a whole number from 0 to 65535`);
  return Number(raw);
}

function waitForProcessSignal(): Promise<string> {
  const signal = terminationSignal();
  return new Promise((resolveSignal) => signal.addEventListener('abort', () => resolveSignal(isTerminationRequested(signal.reason) ? signal.reason.signalName : 'signal'), { once: true }));
}

/** Creates the operator's CRDs (Deploy, Sweep) and waits until each is Established. */
export async function installCrds(client: KubeClient): Promise<void> {
  const [{ customResourceDefinition }, { KINDS }] = await Promise.all([import('../api/crd.ts'), import('../api/kinds.ts')]);
  for (const crd of KINDS.map(customResourceDefinition)) {
    try {
      await client.create(builtinResources.customResourceDefinitions, crd as unknown as KubeObject);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    for (let attempt = 0; attempt < 100; attempt++) {
      const current = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] | null } }>(builtinResources.customResourceDefinitions, crd.metadata.name);
      if (current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true) break;
      await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    }
  }
}

/** The `dev` subcommand; `options.operator` plugs the operator in. */
export function devCommand(options: DevCommandOptions = {}): Command {
  return {
    name: 'dev',
    summary: 'run an embedded Kubernetes API server and the workload simulator for development',
    help: () => help(options.operator !== undefined),
    async run(args: readonly string[], io: CommandIo): Promise<number> {
      const [{ DEMO_SERVICES_PORT, DemoServices, isDemoServicesError }, { DevCluster }, { WorkloadSimulator }] = await Promise.all([
        import('../devcluster/demo-services.ts'),
        import('../devcluster/dev-cluster.ts'),
        import('../devcluster/simulator.ts'),
      ]);
      let parsed;
      let apiPort: number;
      let adminPort: number | undefined;
      let demoPort: number | undefined;
      try {
        parsed = parseArgs({
          args: [...args],
          options: { port: { type: 'string' }, kubeconfig: { type: 'string' }, 'no-operator': { type: 'boolean' }, 'admin-port': { type: 'string' }, 'demo-port': { type: 'string' }, 'no-demo': { type: 'boolean' } },
          strict: true,
          allowPositionals: false,
        });
        apiPort = port(parsed.values.port, 6443, 'port') as number;
        adminPort = port(parsed.values['admin-port'], undefined, 'admin-port');
        demoPort = parsed.values['no-demo'] === true ? undefined : port(parsed.values['demo-port'], DEMO_SERVICES_PORT, 'demo-port');
      } catch (error) {
        io.stderr.write(`blackroad-operator dev: ${error instanceof Error ? error.message : String(error)}\n`);
        return EXIT_USAGE;
      }
      const level = io.env['LOG_LEVEL'] ?? 'info';
      const secretMask = new SecretMask();
      const logger = createLogger({ level: LEVELS.includes(level as LogLevel) ? (level as LogLevel) : 'info', destination: io.stderr as never, secretMask, base: { component: 'dev' } });
      const kubeconfigPath = resolve(parsed.values.kubeconfig ?? '.devcluster/kubeconfig');
      let demo: DemoServices | undefined;
      try {
        // First, as it is the likeliest to fail (a port in use), before anything else has started.
        if (demoPort !== undefined) demo = await DemoServices.start({ port: demoPort, clock: systemClock, logger: logger.child({ component: 'demo-services' }) });
      } catch (error) {
        if (!isDemoServicesError(error)) throw error;
        io.stderr.write(`blackroad-operator dev: ${error.message}; --demo-port PORT serves them elsewhere, --no-demo not at all\n`);
        return EXIT_FAILURE;
      }
      const cluster = await DevCluster.start({ port: apiPort, ...(adminPort === undefined ? {} : { adminPort }), onError: (error) => logger.error({ err: error }, 'devcluster request failed unexpectedly') });
      cluster.writeKubeconfig(kubeconfigPath);
      const context: DevContext = { kubeconfigPath, logger, secretMask, env: io.env };
      const client = KubeClient.fromFile(kubeconfigPath, { userAgent: 'blackroad-operator-dev/0.1.0' });
      await installCrds(client);
      const simulator = new WorkloadSimulator({ client, clock: systemClock, logger: logger.child({ component: 'simulator' }) });
      const runnables: DevRunnable[] = [{ name: 'simulator', run: (_context, signal) => simulator.run(signal) }];
      if (options.operator !== undefined && parsed.values['no-operator'] !== true) runnables.push(options.operator);
      const controller = new AbortController();
      // Listening before "kubeconfig:" is printed: whoever waits for that line may signal at once.
      const stopRequested = (options.stopSignal ?? waitForProcessSignal)();
      let failed = false;
      const running = runnables.map((runnable) =>
        runnable.run(context, controller.signal).catch((error: unknown) => {
          failed = true;
          logger.error({ err: error, runnable: runnable.name }, 'dev component failed');
          controller.abort();
        }),
      );
      // One write, so a reader that has the first line has them all.
      const ready = [`kubeconfig: ${kubeconfigPath}`];
      if (cluster.adminUrl !== undefined) ready.push(`faults: ${cluster.adminUrl}/devcluster/faults`);
      if (demo !== undefined) ready.push(`demo services: ${demo.url}`);
      io.stdout.write(`${ready.join('\n')}\n`);
      logger.info({ server: cluster.url, kubeconfig: kubeconfigPath, components: runnables.map((r) => r.name), ...(demo === undefined ? {} : { demoServices: demo.url }) }, 'devcluster ready');
      const stopped = await Promise.race([stopRequested, new Promise<string>((done) => controller.signal.addEventListener('abort', () => done('failure'), { once: true }))]);
      logger.info({ reason: stopped }, 'devcluster stopping');
      controller.abort();
      await Promise.all(running);
      client.close();
      await cluster.stop();
      await demo?.stop();
      return failed ? 1 : EXIT_OK;
    },
  };
}
