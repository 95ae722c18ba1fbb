// The seam between the Deploy workflow and a deploy target: record what runs, deploy, observe the rollout, roll back.
import type { DeployProviderName, DeploySpec, DeployStatus, ProviderRef } from '../../api/deploy.ts';
import { InvalidSpecError } from '../provider-error.ts';

/** What a rollback restores: `status.previous`. */
export type DeployPrevious = NonNullable<DeployStatus['previous']>;

/** What a provider finds running before the deploy: `status.previous` without `version`, which the controller knows. */
export type RecordedPrevious = Omit<DeployPrevious, 'version'>;

/** The Deploy a call is about. */
export interface DeployTarget {
  /** Namespace of the Deploy: where the kubernetes provider's Deployment and every referenced Secret live. */
  readonly namespace: string;
  /** Name of the Deploy. */
  readonly name: string;
  readonly spec: DeploySpec;
}

export interface RecordPreviousRequest {
  readonly target: DeployTarget;
  readonly signal?: AbortSignal;
}

export interface DeployRequest {
  readonly target: DeployTarget;
  /** Derived from (uid, generation, step); sent to the provider where its API takes one. */
  readonly idempotencyKey: string;
  /** `status.previous`, recorded before this deploy; providers use it to recognise their own earlier attempt. */
  readonly previous?: DeployPrevious;
  readonly signal?: AbortSignal;
}

export interface ObserveRequest {
  readonly target: DeployTarget;
  /** What `deploy` or `rollback` returned. */
  readonly ref: ProviderRef;
  readonly signal?: AbortSignal;
}

export interface RollbackRequest {
  readonly target: DeployTarget;
  readonly previous: DeployPrevious;
  /** The rollout being undone (`status.providerRef`), when there is one. */
  readonly current?: ProviderRef;
  readonly idempotencyKey: string;
  readonly signal?: AbortSignal;
}

/** One look at a rollout. `failed` is final; `progressing` means look again later (a requeue, never a sleep). */
export interface RolloutObservation {
  readonly state: 'progressing' | 'succeeded' | 'failed';
  /** For humans: replica counts, the provider's status, why it failed. */
  readonly message: string;
}

/**
 * A deploy target. Each call is one short exchange with the provider (no waiting), takes and returns JSON
 * the workflow can record, and throws `ProviderError`s (or `kube/errors.ts` errors) whose class says
 * whether a retry can help.
 *
 * Expected flow: `recordPrevious` (its result is stored in `status.previous` before anything changes) →
 * `deploy` with the step's idempotency key → `observe` until `succeeded` or `failed` → on failed
 * verification, `rollback` with its own key, then `observe` the ref it returned, if any.
 */
export interface DeployProvider {
  readonly name: DeployProviderName;
  recordPrevious(request: RecordPreviousRequest): Promise<RecordedPrevious>;
  /** Starts the rollout. Repeating it with the same key does not start a second one. */
  deploy(request: DeployRequest): Promise<ProviderRef>;
  observe(request: ObserveRequest): Promise<RolloutObservation>;
  /** Restores `previous`. Repeating it with the same key does nothing more. Returns the rollback's ref when there is one to observe. */
  rollback(request: RollbackRequest): Promise<ProviderRef | undefined>;
}

/** The target's settings for provider `name`; an `InvalidSpecError` when the Deploy uses another provider. */
export function providerSettings<N extends DeployProviderName>(target: DeployTarget, name: N): NonNullable<DeploySpec['provider'][N]> {
  const settings = target.spec.provider[name];
  if (settings === undefined) throw new InvalidSpecError(name, `Deploy ${target.namespace}/${target.name} does not use the ${name} provider`);
  return settings as NonNullable<DeploySpec['provider'][N]>;
}
