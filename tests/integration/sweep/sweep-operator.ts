// The Sweep controller run in the test process against the suite's cluster, with the parts the composition root gives it.
import { Redis } from 'ioredis';
import { DomainEvents } from '../../../src/events/domain-events.ts';
import { AuditLog } from '../../../src/events/audit-log.ts';
import { MemoryAuditStore } from '../../../src/events/audit-store.ts';
import { EventBus } from '../../../src/events/event-bus.ts';
import { SWEEP_NAMES } from '../../../src/api/group-version.ts';
import type { ControllerContext } from '../../../src/controllers/controller-context.ts';
import { SweepController, type SweepControllerOptions } from '../../../src/controllers/sweep/sweep-controller.ts';
import { WorkflowEventRelay } from '../../../src/controllers/workflow-event-relay.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetricsRegistry, type Registry } from '../../../src/observability/metrics.ts';
import { SecretMask } from '../../../src/observability/redact.ts';
import { SecretReader } from '../../../src/providers/secret-reader.ts';
import { exponentialBackoff } from '../../../src/resilience/backoff.ts';
import { CircuitBreakerRegistry } from '../../../src/resilience/circuit-breaker-registry.ts';
import { systemClock, type Clock } from '../../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../../src/resilience/idempotency-memory-store.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../../../src/resilience/idempotency-redis-store.ts';
import type { IdempotencyStore } from '../../../src/resilience/idempotency-store.ts';
import { RetryPolicy } from '../../../src/resilience/retry.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import { RuntimeMetrics } from '../../../src/runtime/runtime-metrics.ts';
import { WorkflowEngine } from '../../../src/workflow/workflow-engine.ts';

export interface SweepOperatorOptions {
  readonly namespace: string;
  /** Idempotency keys in this Redis (with this key prefix) rather than in memory. */
  readonly redis?: { readonly url: string; readonly keyPrefix: string };
  readonly controller?: SweepControllerOptions;
  readonly workers?: number;
}

export interface SweepOperator {
  readonly registry: Registry;
  readonly bus: EventBus;
  stop(): Promise<void>;
}

/** Retries quick enough for tests: 4 attempts, 100 ms then doubling, no jitter. */
function testRetry(name: string, clock: Clock): RetryPolicy {
  return new RetryPolicy({ name, maxAttempts: 4, backoff: exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' }), maxInCallWaitMs: 0, clock });
}

export interface SweepContextOptions {
  readonly clock?: Clock;
  readonly redis?: SweepOperatorOptions['redis'];
}

/** What the composition root hands the Sweep controller, built for a test: memory stores unless `redis` is given. */
export async function createSweepContext(kubeconfigPath: string, options: SweepContextOptions = {}): Promise<{ context: ControllerContext; bus: EventBus; close: () => Promise<void> }> {
  const clock = options.clock ?? systemClock;
  const logger = createLogger({ level: 'silent' });
  const registry = createMetricsRegistry({ processMetrics: false });
  // The client's own retries wait on real time, whatever clock the controller is tested on.
  const client = KubeClient.fromFile(kubeconfigPath, { registry, clock: systemClock, fieldManager: 'blackroad-os-operator' });
  const breakers = new CircuitBreakerRegistry({ clock });
  const bus = new EventBus({ clock, logger, registry });
  const events = new DomainEvents(bus);
  let redis: Redis | undefined;
  let idempotency: IdempotencyStore = new IdempotencyMemoryStore({ clock });
  if (options.redis !== undefined) {
    redis = new Redis(options.redis.url, { ...REDIS_CLIENT_OPTIONS });
    await new Promise<void>((resolve, reject) => {
      redis?.once('ready', resolve);
      redis?.once('error', reject);
    });
    idempotency = new IdempotencyRedisStore({ client: redis, keyPrefix: options.redis.keyPrefix, clock });
  }
  const secretMask = new SecretMask();
  const context: ControllerContext = {
    client,
    clock,
    logger,
    registry,
    engine: new WorkflowEngine({
      owner: `sweep-test/${process.pid}/${Math.random().toString(36).slice(2)}`,
      clock,
      idempotency,
      breakers,
      events: new WorkflowEventRelay({ events, plurals: { [SWEEP_NAMES.kind]: SWEEP_NAMES.plural }, logger }),
    }),
    events,
    breakers,
    idempotency,
    audit: new AuditLog({ store: new MemoryAuditStore(), events, clock, logger, registry }),
    secrets: new SecretReader({ kube: client, mask: secretMask }),
    secretMask,
    retry: { default: testRetry('default', clock), critical: testRetry('critical', clock) },
    fetch: (url, init) => fetch(url, init),
    identity: 'sweep-test',
    fieldManager: 'blackroad-os-operator',
  };
  return {
    context,
    bus,
    close: async () => {
      await bus.close(1_000);
      client.close();
      redis?.disconnect();
    },
  };
}

/** Starts a manager running the Sweep controller (no leader election) on the namespace of `kubeconfigPath`'s cluster. */
export async function startSweepOperator(kubeconfigPath: string, options: SweepOperatorOptions): Promise<SweepOperator> {
  const { context, bus, close } = await createSweepContext(kubeconfigPath, options.redis === undefined ? {} : { redis: options.redis });
  const { client, clock, logger, registry } = context;
  const manager = new Manager({ client, clock, logger, metrics: new RuntimeMetrics(registry), namespace: options.namespace, shutdownTimeoutMs: 5_000 });
  const controller = new SweepController(context, options.controller ?? { tuning: { jobPollMs: 5_000 } });
  controller.register(manager, { namespace: options.namespace, workers: options.workers ?? 4, resyncPeriodMs: 36_000_000 });
  const stopping = new AbortController();
  const running = manager.start(stopping.signal);
  return {
    registry,
    bus,
    stop: async () => {
      stopping.abort();
      await running;
      await close();
    },
  };
}
