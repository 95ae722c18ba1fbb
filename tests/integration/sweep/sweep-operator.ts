// The operator for the Sweep suites: the real composition root in this process, or the Sweep controller's parts on a chosen clock.
import { fileURLToPath } from 'node:url';
import { SWEEP_NAMES } from '../../../src/api/group-version.ts';
import type { OperatorTuning } from '../../../src/cli/operator.ts';
import type { ControllerContext } from '../../../src/controllers/controller-context.ts';
import { WorkflowEventRelay } from '../../../src/controllers/workflow-event-relay.ts';
import { AuditLog } from '../../../src/events/audit-log.ts';
import { MemoryAuditStore } from '../../../src/events/audit-store.ts';
import { DomainEvents } from '../../../src/events/domain-events.ts';
import { EventBus } from '../../../src/events/event-bus.ts';
import { KubeClient } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { createMetricsRegistry } from '../../../src/observability/metrics.ts';
import { SecretMask } from '../../../src/observability/redact.ts';
import { SecretReader } from '../../../src/providers/secret-reader.ts';
import { exponentialBackoff } from '../../../src/resilience/backoff.ts';
import { CircuitBreakerRegistry } from '../../../src/resilience/circuit-breaker-registry.ts';
import { systemClock, type Clock } from '../../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../../src/resilience/idempotency-memory-store.ts';
import { RetryPolicy, type RetrySettings } from '../../../src/resilience/retry.ts';
import { WorkflowEngine } from '../../../src/workflow/workflow-engine.ts';
import { startInProcessOperator, type InProcessOperator } from '../../support/in-process-operator.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Retries quick enough for tests: 4 attempts, 100 ms then doubling, no jitter. */
const QUICK_RETRY = (name: string): RetrySettings => ({ name, maxAttempts: 4, backoff: exponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 'none' }), attemptTimeoutMs: 10_000, maxInCallWaitMs: 0 });

/** Short timings for the Sweep suites; the logic is the production one. */
export const SWEEP_TEST_TUNING: OperatorTuning = {
  retry: { default: QUICK_RETRY('default'), critical: QUICK_RETRY('critical') },
  sweep: { jobPollMs: 5_000 },
  agentSampleMs: 1_000,
};

export type SweepOperator = InProcessOperator;

/** Runs the operator (the composition root of `blackroad-operator run`) in this process, watching `namespace`, on the Sweep suites' timings. */
export function startSweepOperator(kubeconfigPath: string, namespace: string, options: { readonly tuning?: OperatorTuning; readonly env?: Record<string, string> } = {}): Promise<SweepOperator> {
  return startInProcessOperator({ kubeconfigPath, namespace, tuning: options.tuning ?? SWEEP_TEST_TUNING, ...(options.env === undefined ? {} : { env: options.env }) });
}

/**
 * What the composition root hands the Sweep controller, on `clock` and with memory stores, for tests that call
 * the reconciler themselves. The client retries on real time whatever the clock.
 */
export function sweepContext(kubeconfigPath: string, clock: Clock): { context: ControllerContext; close: () => Promise<void> } {
  const logger = createLogger({ level: 'silent' });
  const registry = createMetricsRegistry({ processMetrics: false });
  const client = KubeClient.fromFile(kubeconfigPath, { registry, clock: systemClock, fieldManager: 'blackroad-os-operator' });
  const breakers = new CircuitBreakerRegistry({ clock });
  const bus = new EventBus({ clock, logger, registry });
  const events = new DomainEvents(bus);
  const idempotency = new IdempotencyMemoryStore({ clock });
  const secretMask = new SecretMask();
  const context: ControllerContext = {
    client,
    clock,
    logger,
    registry,
    engine: new WorkflowEngine({ owner: 'sweep-test', clock, idempotency, breakers, events: new WorkflowEventRelay({ events, plurals: { [SWEEP_NAMES.kind]: SWEEP_NAMES.plural }, logger }) }),
    events,
    breakers,
    idempotency,
    audit: new AuditLog({ store: new MemoryAuditStore(), events, clock, logger, registry }),
    secrets: new SecretReader({ kube: client, mask: secretMask }),
    secretMask,
    retry: { default: new RetryPolicy({ ...QUICK_RETRY('default'), clock }), critical: new RetryPolicy({ ...QUICK_RETRY('critical'), clock }) },
    fetch: (url, init) => fetch(url, init),
    identity: 'sweep-test',
    fieldManager: 'blackroad-os-operator',
  };
  return {
    context,
    close: async () => {
      await bus.close(1_000);
      client.close();
    },
  };
}
