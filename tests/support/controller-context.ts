// What the composition root hands a controller, on a chosen clock and with memory stores, for tests that call a reconciler themselves.
import { DEPLOY_NAMES, SWEEP_NAMES } from '../../src/api/group-version.ts';
import type { ControllerContext } from '../../src/controllers/controller-context.ts';
import { WorkflowEventRelay } from '../../src/controllers/workflow-event-relay.ts';
import { AuditLog } from '../../src/events/audit-log.ts';
import { MemoryAuditStore } from '../../src/events/audit-store.ts';
import { DomainEvents } from '../../src/events/domain-events.ts';
import { EventBus } from '../../src/events/event-bus.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { SecretMask } from '../../src/observability/redact.ts';
import { SecretReader } from '../../src/providers/secret-reader.ts';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { systemClock, type Clock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { RetryPolicy, type RetrySettings } from '../../src/resilience/retry.ts';
import type { ReconcileContext } from '../../src/runtime/reconciler.ts';
import { WorkflowEngine } from '../../src/workflow/workflow-engine.ts';

export interface TestControllerContext {
  readonly context: ControllerContext;
  /** The domain events emitted so far, by type (`deploy.succeeded`, ...). */
  emitted(type: string): number;
  close(): Promise<void>;
}

/**
 * A {@link ControllerContext} over the cluster of `kubeconfigPath`, on `clock`, with in-memory idempotency and
 * audit stores and silent logs. The client retries on real time whatever the clock.
 */
export function testControllerContext(kubeconfigPath: string, clock: Clock, retry: { readonly default: RetrySettings; readonly critical: RetrySettings }): TestControllerContext {
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
    engine: new WorkflowEngine({
      owner: 'test-operator',
      clock,
      idempotency,
      breakers,
      events: new WorkflowEventRelay({ events, plurals: { [DEPLOY_NAMES.kind]: DEPLOY_NAMES.plural, [SWEEP_NAMES.kind]: SWEEP_NAMES.plural }, logger }),
    }),
    events,
    breakers,
    idempotency,
    audit: new AuditLog({ store: new MemoryAuditStore(), events, clock, logger, registry }),
    secrets: new SecretReader({ kube: client, mask: secretMask }),
    secretMask,
    retry: { default: new RetryPolicy({ ...retry.default, clock }), critical: new RetryPolicy({ ...retry.critical, clock }) },
    fetch: (url, init) => fetch(url, init),
    identity: 'test-operator',
    fieldManager: 'blackroad-os-operator',
  };
  return {
    context,
    emitted: (type) => bus.since(0).filter((event) => event.cloudEvent.type === `io.blackroad.operator.${type}`).length,
    close: async () => {
      await bus.close(1_000);
      client.close();
    },
  };
}

/** What the runtime controller hands a reconcile of `key`. */
export function reconcileContextFor(key: string, controller: string): ReconcileContext {
  return { signal: new AbortController().signal, logger: createLogger({ level: 'silent' }), reconcileID: 'test', controller, key };
}

