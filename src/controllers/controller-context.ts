// What every controller receives from the composition root, and the shape the composition root runs controllers in.
import type { AgentComponent } from '../agents/catalog.ts';
import type { AuditLog } from '../events/audit-log.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/kube-object.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../observability/metrics.ts';
import type { SecretMask } from '../observability/redact.ts';
import type { FetchLike } from '../providers/http-exchange.ts';
import type { SecretReader } from '../providers/secret-reader.ts';
import type { CircuitBreakerRegistry } from '../resilience/circuit-breaker-registry.ts';
import type { Clock } from '../resilience/clock.ts';
import type { IdempotencyStore } from '../resilience/idempotency-store.ts';
import type { RetryPolicy } from '../resilience/retry.ts';
import type { Controller } from '../runtime/controller.ts';
import type { Manager } from '../runtime/manager.ts';
import type { WorkflowEngine } from '../workflow/workflow-engine.ts';
import type { WorkflowResource } from '../workflow/workflow.ts';

/** The retry policies a spec's `retryPolicy` names. */
export interface RetryPolicies {
  readonly default: RetryPolicy;
  readonly critical: RetryPolicy;
}

/** The process's shared parts, created once in the composition root and handed to each controller. */
export interface ControllerContext {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly engine: WorkflowEngine;
  readonly events: DomainEvents;
  readonly breakers: CircuitBreakerRegistry;
  readonly idempotency: IdempotencyStore;
  readonly audit: AuditLog;
  readonly secrets: SecretReader;
  readonly secretMask: SecretMask;
  readonly retry: RetryPolicies;
  /** What providers and runners reach HTTP services with. */
  readonly fetch: FetchLike;
  /** This replica (audit actor, event reporting instance). */
  readonly identity: string;
  /** `fieldManager` of the operator's writes. */
  readonly fieldManager: string;
}

/** Where and how hard a controller works; from the configuration. */
export interface ControllerSettings {
  readonly workers: number;
  readonly resyncPeriodMs: number;
}

/** A controller as the composition root runs it: registered with the manager before it starts. */
export interface ResourceController {
  readonly name: string;
  /** The agent of the catalog this controller plays. */
  readonly component: AgentComponent;
  /** Creates the controller's caches and its runtime controller on `manager`. */
  register(manager: Manager, settings: ControllerSettings): Controller;
}

/** The workflow engine's view of a resource: the run id and idempotency keys come from its uid and generation. */
export function workflowResourceOf(object: KubeObject, kind: { readonly apiVersion: string; readonly kind: string }): WorkflowResource {
  return {
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    namespace: object.metadata.namespace ?? '',
    name: object.metadata.name ?? '',
    uid: object.metadata.uid ?? '',
    generation: object.metadata.generation ?? 0,
  };
}
