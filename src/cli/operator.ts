// The composition root: builds every part of the operator from the configuration, runs it until told to stop, shuts it down in order.
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { AgentCatalog, loadAgentCatalog } from '../agents/catalog.ts';
import { DEPLOY_NAMES, SWEEP_NAMES } from '../api/group-version.ts';
import { ConfigError, type Config } from '../config/config.ts';
import type { ControllerContext, ResourceController } from '../controllers/controller-context.ts';
import { DeployController } from '../controllers/deploy/deploy-controller.ts';
import type { DeployTuning } from '../controllers/deploy/deploy-workflow.ts';
import { SweepController } from '../controllers/sweep/sweep-controller.ts';
import type { SweepTuning } from '../controllers/sweep/sweep-reconciler.ts';
import { WorkflowEventRelay } from '../controllers/workflow-event-relay.ts';
import { AuditLog } from '../events/audit-log.ts';
import { MemoryAuditStore } from '../events/audit-store.ts';
import { DomainEvents } from '../events/domain-events.ts';
import { EventBus } from '../events/event-bus.ts';
import { KubeEventSink } from '../events/kube-event-sink.ts';
import { RedisAuditStore } from '../events/redis-audit-store.ts';
import { RedisStreamSink } from '../events/redis-stream-sink.ts';
import { SseEndpoint } from '../events/sse-endpoint.ts';
import { KubeClient, type InClusterSettings } from '../kube/client.ts';
import { AdminServer } from '../observability/admin-server.ts';
import { Checks } from '../observability/checks.ts';
import type { Logger } from '../observability/logger.ts';
import { createMetricsRegistry } from '../observability/metrics.ts';
import type { SecretMask } from '../observability/redact.ts';
import { selfSignedCertificate, type TlsMaterial } from '../observability/self-signed-certificate.ts';
import type { FetchLike } from '../providers/http-exchange.ts';
import { SecretReader } from '../providers/secret-reader.ts';
import type { CircuitBreakerOptions } from '../resilience/circuit-breaker.ts';
import { breakersRoute, CircuitBreakerRegistry } from '../resilience/circuit-breaker-registry.ts';
import { sleep, systemClock, type Clock } from '../resilience/clock.ts';
import { IdempotencyMemoryStore } from '../resilience/idempotency-memory-store.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../resilience/idempotency-redis-store.ts';
import type { IdempotencyStore } from '../resilience/idempotency-store.ts';
import { ResilienceMetrics } from '../resilience/resilience-metrics.ts';
import { CRITICAL_RETRY, DEFAULT_RETRY, RetryPolicy, type RetrySettings } from '../resilience/retry.ts';
import { EventRecorder } from '../runtime/event-recorder.ts';
import { Manager, type LeaderElectionSettings } from '../runtime/manager.ts';
import { RuntimeMetrics } from '../runtime/runtime-metrics.ts';
import { WorkflowEngine } from '../workflow/workflow-engine.ts';
import { WorkflowMetrics } from '../workflow/workflow-metrics.ts';
import { AgentStates, agentsRoute, type ComponentReading } from './agent-states.ts';
import { kubeMetricsAccess, readTlsFolder, TlsFolderWatcher } from './metrics-access.ts';

/** Timings tests shorten; production uses the defaults. Never configuration: users tune the spec, not these. */
export interface OperatorTuning {
  /** Options of every circuit breaker. */
  readonly breakers?: CircuitBreakerOptions;
  /** The retry presets `retryPolicy: default` and `critical` stand for. */
  readonly retry?: { readonly default?: RetrySettings; readonly critical?: RetrySettings };
  /** TTL of an idempotency claim on a call without a timeout (the engine's `claimTtlMs`). */
  readonly claimTtlMs?: number;
  readonly deploy?: DeployTuning;
  readonly sweep?: SweepTuning;
  /** How often the agents' live state is sampled. Default 1 s. */
  readonly agentSampleMs?: number;
}

/** Where the admin endpoints listen, once they do. */
export interface OperatorEndpoints {
  readonly metrics?: string;
  readonly probes?: string;
}

export interface OperatorOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The mask the logger scrubs with; every Secret value read is added to it. */
  readonly secretMask: SecretMask;
  readonly clock?: Clock;
  /** A kubeconfig to use whatever the configuration says (dev: the embedded server's). */
  readonly kubeconfigPath?: string;
  /** `KUBERNETES_SERVICE_HOST` and `_PORT` when running in a pod. */
  readonly inCluster?: InClusterSettings;
  /** One replica whatever the configuration says: no leader election (dev). */
  readonly singleReplica?: boolean;
  /** What providers and health checks reach HTTP with; the global fetch by default. */
  readonly fetch?: FetchLike;
  readonly tuning?: OperatorTuning;
  /** Hears where the admin endpoints listen (port 0 picks one). */
  readonly onListening?: (endpoints: OperatorEndpoints) => void;
}

const FIELD_MANAGER = 'blackroad-os-operator';
const USER_AGENT = 'blackroad-os-operator/0.1.0';
/** Where the Lease lives when neither the configuration nor the pod says. */
const DEFAULT_LEASE_NAMESPACE = 'blackroad-system';

/** The client the configuration asks for: an explicit kubeconfig, the pod's service account, then ~/.kube/config. */
function kubeClient(options: OperatorOptions, registry: ReturnType<typeof createMetricsRegistry>, clock: Clock): KubeClient {
  const settings = { registry, clock, userAgent: USER_AGENT, fieldManager: FIELD_MANAGER };
  const path = options.kubeconfigPath ?? options.config.kubeconfig;
  if (path !== undefined) return KubeClient.fromFile(path, settings);
  if (options.inCluster !== undefined) return KubeClient.inCluster(options.inCluster, settings);
  return KubeClient.fromFile(join(homedir(), '.kube', 'config'), settings);
}

/**
 * The certificate of secure metrics: `tls.crt` and `tls.key` of `folder`, or a self-signed one (Prometheus
 * scrapes it with `insecureSkipVerify`, as with controller-runtime's default).
 *
 * Errors: a `ConfigError` naming METRICS_CERT_DIR when the folder cannot be read.
 */
async function metricsCertificate(folder: string | undefined): Promise<TlsMaterial> {
  if (folder === undefined) return selfSignedCertificate(365, FIELD_MANAGER);
  try {
    return await readTlsFolder(folder);
  } catch (error) {
    throw new ConfigError('METRICS_CERT_DIR', `invalid configuration: METRICS_CERT_DIR=${JSON.stringify(folder)} does not hold a readable tls.crt and tls.key (${error instanceof Error ? error.message : String(error)})`);
  }
}

/**
 * Connects to Redis and waits until the client is ready (its offline queue is off, ADR 005), or `signal` aborts.
 * ioredis is loaded here, so a replica without `REDIS_URL` never loads it.
 */
async function connectRedis(url: string, logger: Logger, signal: AbortSignal, clock: Clock): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(url, { ...REDIS_CLIENT_OPTIONS });
  let warned = false;
  redis.on('error', (error: Error) => {
    if (!warned) logger.warn({ err: error }, 'redis unavailable; retrying');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) logger.info('redis available again');
    warned = false;
  });
  while (redis.status !== 'ready') {
    if (signal.aborted) {
      redis.disconnect();
      throw signal.reason;
    }
    await sleep(clock, 50, signal).catch(() => undefined);
  }
  return redis;
}

/**
 * Runs the operator until `signal` aborts (SIGTERM or SIGINT), then shuts down and resolves.
 *
 * Expected flow (ADR 010): the agent catalog is loaded first (an invalid one throws `AgentCatalogError` before
 * anything connects); then the metrics registry, the Kubernetes client, the admin endpoints (`/healthz` at
 * once, `/readyz` once the caches synced), breakers, the idempotency store (Redis once ready, else memory), the
 * event bus and its sinks, the audit log, the manager with the controllers, and the agents' live state.
 *
 * Shutdown: the manager gives in-flight reconciles `shutdownTimeoutSeconds`, releases the Lease and stops the
 * caches; then agents are deregistered, the bus drains, and the listeners, Redis and the client close.
 *
 * Secure metrics (`METRICS_SECURE`): /metrics over HTTPS (the certificate of `METRICS_CERT_DIR`, re-read every
 * minute, or a self-signed one), each request reviewed with a TokenReview and a SubjectAccessReview.
 *
 * Errors: `ConfigError` for an unreadable `METRICS_CERT_DIR`, `AgentCatalogError`, and start-up failures such as a
 * port in use.
 */
export async function runOperator(options: OperatorOptions, signal: AbortSignal): Promise<void> {
  const { config, logger, secretMask } = options;
  const clock = options.clock ?? systemClock;
  const tuning = options.tuning ?? {};
  const metricsTls = config.metricsSecure ? await metricsCertificate(config.metricsCertDir) : undefined;
  const catalog = new AgentCatalog(await loadAgentCatalog(config.agentCatalog), clock);

  const registry = createMetricsRegistry();
  const client = kubeClient(options, registry, clock);
  const cleanups: (() => Promise<void> | void)[] = [() => client.close()];
  const cleanUp = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.warn({ err: error }, 'shutdown step failed');
      }
    }
  };

  try {
    const health = new Checks();
    const readiness = new Checks();
    const admin = new AdminServer({
      metricsAddr: config.metricsAddr,
      probeAddr: config.probeAddr,
      registry,
      health,
      readiness,
      logger,
      ...(metricsTls === undefined ? {} : { metricsTls, metricsAccess: kubeMetricsAccess({ client, clock, logger }) }),
    });
    const metricsEndpoint = admin.metrics;
    if (metricsTls !== undefined && config.metricsCertDir !== undefined && metricsEndpoint !== null) {
      const watcher = new TlsFolderWatcher({ folder: config.metricsCertDir, current: metricsTls, clock, logger });
      watcher.start((tls) => metricsEndpoint.setTls(tls));
      cleanups.push(() => watcher.stop());
    }

    const resilienceMetrics = new ResilienceMetrics(registry);
    const breakers = new CircuitBreakerRegistry({ clock, metrics: resilienceMetrics, logger, ...(tuning.breakers === undefined ? {} : { defaults: tuning.breakers }) });
    admin.route('/debug/breakers', breakersRoute(breakers));

    const bus = new EventBus({ clock, logger, registry, secretMask });
    const events = new DomainEvents(bus);
    const stream = new SseEndpoint({ history: bus, clock, logger, registry });
    admin.route('/events', stream.handler);
    admin.route('/agents', agentsRoute(catalog));
    await admin.start();
    cleanups.push(() => admin.stop());
    options.onListening?.({
      ...(admin.metrics === null ? {} : { metrics: admin.metrics.url() }),
      ...(admin.probes === null ? {} : { probes: admin.probes.url() }),
    });

    let redis: Redis | undefined;
    if (config.redisUrl !== undefined) {
      const removeCheck = readiness.register('redis', () => redis?.status === 'ready' || 'waiting for Redis');
      cleanups.push(removeCheck);
      redis = await connectRedis(config.redisUrl, logger, signal, clock);
      const connected = redis;
      cleanups.push(async () => {
        await connected.quit().catch(() => connected.disconnect());
      });
    }
    const idempotency: IdempotencyStore =
      redis === undefined
        ? new IdempotencyMemoryStore({ clock, metrics: resilienceMetrics })
        : new IdempotencyRedisStore({ client: redis, keyPrefix: config.redisKeyPrefix, breaker: breakers.get('redis'), clock, metrics: resilienceMetrics });

    const recorder = new EventRecorder({ client, clock, logger, reportingController: `operator.blackroad.io/${FIELD_MANAGER}`, reportingInstance: config.identity });
    bus.addSink(new KubeEventSink(recorder));
    if (redis !== undefined) bus.addSink(new RedisStreamSink({ redis, keyPrefix: config.redisKeyPrefix }));
    bus.addSink(stream);
    // At shutdown the bus drains into the recorder first; then the recorder writes its pending series counts.
    cleanups.push(() => recorder.flush());
    cleanups.push(() => bus.close(5_000));

    const audit = new AuditLog({
      store: redis === undefined ? new MemoryAuditStore() : new RedisAuditStore({ redis, keyPrefix: config.redisKeyPrefix }),
      events,
      clock,
      logger,
      registry,
      secretMask,
    });
    const relay = new WorkflowEventRelay({ events, plurals: { [DEPLOY_NAMES.kind]: DEPLOY_NAMES.plural, [SWEEP_NAMES.kind]: SWEEP_NAMES.plural }, logger });
    const engine = new WorkflowEngine({
      owner: `${config.identity}/${randomUUID()}`,
      clock,
      idempotency,
      breakers,
      events: relay,
      metrics: new WorkflowMetrics(registry),
      logger,
      ...(tuning.claimTtlMs === undefined ? {} : { claimTtlMs: tuning.claimTtlMs }),
    });
    const context: ControllerContext = {
      client,
      clock,
      logger,
      registry,
      engine,
      events,
      breakers,
      idempotency,
      audit,
      secrets: new SecretReader({ kube: client, mask: secretMask }),
      secretMask,
      retry: {
        default: new RetryPolicy({ ...(tuning.retry?.default ?? DEFAULT_RETRY), clock, metrics: resilienceMetrics }),
        critical: new RetryPolicy({ ...(tuning.retry?.critical ?? CRITICAL_RETRY), clock, metrics: resilienceMetrics }),
      },
      fetch: options.fetch ?? ((url, init) => fetch(url, init)),
      identity: config.identity,
      fieldManager: FIELD_MANAGER,
    };

    const electing = config.leaderElect && options.singleReplica !== true;
    const leaderElection: LeaderElectionSettings | undefined = electing
      ? { namespace: config.leaderElectionNamespace || client.namespace || DEFAULT_LEASE_NAMESPACE, name: config.leaderElectionId, identity: config.identity }
      : undefined;
    const manager = new Manager({
      client,
      clock,
      logger,
      metrics: new RuntimeMetrics(registry),
      readiness,
      health,
      namespace: config.watchNamespace,
      shutdownTimeoutMs: config.shutdownTimeoutSeconds * 1000,
      ...(leaderElection === undefined ? {} : { leaderElection }),
    });
    // Each controller with its workers.
    const controllers: { readonly controller: ResourceController; readonly workers: number }[] = [
      { controller: new DeployController(context, tuning.deploy === undefined ? {} : { tuning: tuning.deploy }), workers: config.deployConcurrency },
      { controller: new SweepController(context, tuning.sweep === undefined ? {} : { tuning: tuning.sweep }), workers: config.sweepConcurrency },
    ];
    for (const { controller, workers } of controllers) controller.register(manager, { workers, resyncPeriodMs: config.syncPeriodSeconds * 1000 });

    const leading = (): ComponentReading => (manager.isLeader ? { state: 'active' } : { state: 'inactive', message: 'standby: another replica holds the Lease' });
    const openBreakers = (prefix: string): string[] => breakers.snapshot().filter((breaker) => breaker.name.startsWith(prefix) && breaker.state !== 'closed').map((breaker) => `${breaker.name} is ${breaker.state}`);
    const withBreakers = (prefix: string) => (): ComponentReading => {
      const reading = leading();
      const open = openBreakers(prefix);
      return reading.state === 'active' && open.length > 0 ? { state: 'degraded', message: open.join('; ') } : reading;
    };
    const running = new Set(controllers.map(({ controller }) => controller.component));
    const agents = new AgentStates({
      catalog,
      events,
      clock,
      logger,
      ...(tuning.agentSampleMs === undefined ? {} : { intervalMs: tuning.agentSampleMs }),
      probes: {
        'deploy-controller': running.has('deploy-controller') ? withBreakers('provider:') : () => ({ state: 'inactive', message: 'not part of this build' }),
        'sweep-controller': running.has('sweep-controller') ? withBreakers('checker:') : () => ({ state: 'inactive', message: 'not part of this build' }),
        'approval-gate': leading,
        'health-checker': leading,
        'audit-archiver': withBreakers('redis'),
        reflector: async () => {
          const report = await readiness.evaluate();
          const waiting = report.results.find((result) => result.name === 'caches-synced' && !result.ok);
          return waiting === undefined ? { state: 'active' } : { state: 'inactive', ...(waiting.reason === undefined ? {} : { message: waiting.reason }) };
        },
        'leader-election': () =>
          manager.elector === undefined ? { state: 'inactive', message: 'leader election is off (one replica)' } : { state: 'active', message: manager.isLeader ? 'leading' : `standby; leader is ${manager.elector.leader ?? 'unknown'}` },
        'event-bus': () => ({ state: 'active' }),
      },
    });

    const managed = manager.start(signal);
    await agents.start();
    logger.info({ identity: config.identity, leaderElection: electing, namespace: config.watchNamespace || 'all', redis: redis !== undefined, controllers: controllers.map(({ controller }) => controller.name) }, 'operator started');
    await managed;
    agents.stop('the operator is shutting down');
    logger.info('operator stopped');
  } finally {
    await cleanUp();
  }
}
