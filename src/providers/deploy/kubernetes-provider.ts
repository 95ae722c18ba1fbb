// The kubernetes deploy provider: sets a container's image in an apps/v1 Deployment, follows the rollout, restores the recorded pod template.
import type { ProviderRef } from '../../api/deploy.ts';
import { builtinResources, type KubeClient, type KubeObject } from '../../kube/client.ts';
import { isConflict, isNotFound } from '../../kube/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { NoRollbackTargetError, TargetNotFoundError } from '../provider-error.ts';
import {
  providerSettings,
  type DeployProvider,
  type DeployRequest,
  type DeployTarget,
  type ObserveRequest,
  type RecordedPrevious,
  type RecordPreviousRequest,
  type RollbackRequest,
  type RolloutObservation,
} from './deploy-provider.ts';

/** On the Deployment: the idempotency key of the last deploy that set the image. */
export const DEPLOY_KEY_ANNOTATION = 'operator.blackroad.io/deploy-key';
/** On the Deployment: the idempotency key of the last rollback that restored a template. */
export const ROLLBACK_KEY_ANNOTATION = 'operator.blackroad.io/rollback-key';

interface Container {
  readonly name: string;
  readonly image?: string;
}

interface DeploymentCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** The fields of an apps/v1 Deployment this provider reads; the rest passes through untouched. */
export interface Deployment extends KubeObject {
  readonly spec?: {
    readonly replicas?: number;
    readonly paused?: boolean;
    readonly template?: { readonly spec?: { readonly containers?: readonly Container[] } } & Record<string, unknown>;
  } & Record<string, unknown>;
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly availableReplicas?: number;
    readonly conditions?: readonly DeploymentCondition[];
  };
}

export interface KubernetesProviderOptions {
  readonly kube: Pick<KubeClient, 'get' | 'patch' | 'replace'>;
  readonly clock: Clock;
  readonly logger: Logger;
}

const DEPENDENCY = 'kubernetes';
/** Attempts of a write that loses to concurrent writers (client-go's DefaultRetry makes 5). */
const CONFLICT_ATTEMPTS = 5;

/**
 * Deploys by setting the image of one container of an apps/v1 Deployment in the Deploy's namespace.
 *
 * Guarantees:
 * - `deploy` changes only that container's image (a strategic merge patch; containers merge by name) and the
 *   `operator.blackroad.io/deploy-key` annotation, guarded by the `resourceVersion` it read, so the container
 *   it checked is the one it changes; losing to a concurrent writer (409) re-reads and tries again, up to 5
 *   times. A Deployment already at the image under the same key is not written.
 * - `rollback` puts back the recorded pod template as it was (a PUT of the whole template, so fields added
 *   since are removed) with the `operator.blackroad.io/rollback-key` annotation; the same key twice writes once.
 * - A missing Deployment or container is a `TargetNotFoundError` naming it.
 */
export class KubernetesProvider implements DeployProvider {
  readonly name = 'kubernetes' as const;
  readonly #kube: Pick<KubeClient, 'get' | 'patch' | 'replace'>;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(options: KubernetesProviderOptions) {
    this.#kube = options.kube;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  async recordPrevious({ target, signal }: RecordPreviousRequest): Promise<RecordedPrevious> {
    const settings = providerSettings(target, 'kubernetes');
    const deployment = await this.#read(target, settings.deployment, signal);
    const container = containerOf(deployment, settings.container, target);
    return {
      ...(container.image === undefined ? {} : { image: container.image }),
      providerRef: refOf(deployment),
      podTemplate: structuredClone(deployment.spec?.template ?? {}) as Record<string, unknown>,
      recordedAt: new Date(this.#clock.now()).toISOString(),
    };
  }

  async deploy({ target, idempotencyKey, signal }: DeployRequest): Promise<ProviderRef> {
    const settings = providerSettings(target, 'kubernetes');
    const patched = await retryOnConflict(async () => {
      const deployment = await this.#read(target, settings.deployment, signal);
      const container = containerOf(deployment, settings.container, target);
      if (container.image === settings.image && deployment.metadata.annotations?.[DEPLOY_KEY_ANNOTATION] === idempotencyKey) return deployment;
      const patch = {
        metadata: { resourceVersion: deployment.metadata.resourceVersion, annotations: { [DEPLOY_KEY_ANNOTATION]: idempotencyKey } },
        spec: { template: { spec: { containers: [{ name: settings.container, image: settings.image }] } } },
      };
      return this.#onDeployment(target, settings.deployment, () =>
        this.#kube.patch<Deployment>(builtinResources.deployments, settings.deployment, patch, { namespace: target.namespace, type: 'strategic', ...signalOf(signal) }),
      );
    });
    this.#logger.info(
      { namespace: target.namespace, deployment: settings.deployment, container: settings.container, image: settings.image, generation: patched.metadata.generation },
      'deployment image set',
    );
    return refOf(patched);
  }

  async observe({ target, signal }: ObserveRequest): Promise<RolloutObservation> {
    const settings = providerSettings(target, 'kubernetes');
    return rolloutOf(await this.#read(target, settings.deployment, signal));
  }

  async rollback({ target, previous, idempotencyKey, signal }: RollbackRequest): Promise<ProviderRef | undefined> {
    const settings = providerSettings(target, 'kubernetes');
    const template = previous.podTemplate;
    if (template === undefined) {
      throw new NoRollbackTargetError(DEPENDENCY, `no pod template of Deployment ${target.namespace}/${settings.deployment} was recorded before the deploy; nothing to roll back to`);
    }
    const replaced = await retryOnConflict(async () => {
      const deployment = await this.#read(target, settings.deployment, signal);
      if (deployment.metadata.annotations?.[ROLLBACK_KEY_ANNOTATION] === idempotencyKey) return deployment;
      const { status: _status, ...current } = deployment;
      const restored = {
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [ROLLBACK_KEY_ANNOTATION]: idempotencyKey } },
        spec: { ...current.spec, template },
      };
      return this.#onDeployment(target, settings.deployment, () => this.#kube.replace<Deployment>(builtinResources.deployments, restored, signalOf(signal)));
    });
    this.#logger.info({ namespace: target.namespace, deployment: settings.deployment, image: previous.image, generation: replaced.metadata.generation }, 'deployment pod template restored');
    return refOf(replaced);
  }

  async #read(target: DeployTarget, name: string, signal: AbortSignal | undefined): Promise<Deployment> {
    return this.#onDeployment(target, name, () => this.#kube.get<Deployment>(builtinResources.deployments, name, { namespace: target.namespace, ...signalOf(signal) }));
  }

  /** Runs a call on the Deployment, turning its 404 into a `TargetNotFoundError`. */
  async #onDeployment<T>(target: DeployTarget, name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (isNotFound(error)) throw new TargetNotFoundError(DEPENDENCY, `Deployment ${target.namespace}/${name} not found`, { cause: error });
      throw error;
    }
  }
}

/**
 * Runs a read-modify-write again when it loses to a concurrent writer (409 Conflict), as client-go's
 * `RetryOnConflict` does: the Deployment controller writes status often during a rollout, and each write
 * changes the `resourceVersion` our write is conditioned on. After the last attempt the conflict is thrown
 * (retryable by the workflow).
 */
async function retryOnConflict<T>(readModifyWrite: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await readModifyWrite();
    } catch (error) {
      if (!isConflict(error) || attempt >= CONFLICT_ATTEMPTS) throw error;
    }
  }
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

function refOf(deployment: Deployment): ProviderRef {
  return { provider: 'kubernetes', id: String(deployment.metadata.generation ?? 0) };
}

function containerOf(deployment: Deployment, name: string, target: DeployTarget): Container {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container = containers.find((candidate) => candidate.name === name);
  if (container !== undefined) return container;
  const present = containers.length === 0 ? 'it has none' : `it has ${containers.map((candidate) => `"${candidate.name}"`).join(', ')}`;
  throw new TargetNotFoundError(DEPENDENCY, `container "${name}" not found in Deployment ${target.namespace}/${deployment.metadata.name ?? ''} (${present})`);
}

/**
 * The state of a Deployment's rollout, as `kubectl rollout status` judges it: nothing is known until the
 * controller has observed the latest generation; then a progress deadline exceeded is final, and the rollout is
 * done once every desired replica is updated and available with no old replica left.
 */
export function rolloutOf(deployment: Deployment): RolloutObservation {
  const generation = deployment.metadata.generation ?? 0;
  const status = deployment.status ?? {};
  // First: until the controller has observed this generation, its conditions speak of an older one.
  if ((status.observedGeneration ?? 0) < generation) {
    return { state: 'progressing', message: `waiting for the Deployment controller to observe generation ${generation}` };
  }
  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    const detail = progressing.message === undefined || progressing.message === '' ? '' : `: ${progressing.message}`;
    return { state: 'failed', message: `rollout exceeded its progress deadline${detail}` };
  }
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const paused = deployment.spec?.paused === true ? ' (the Deployment is paused)' : '';
  if (updated < desired) return { state: 'progressing', message: `${updated} of ${desired} replicas updated${paused}` };
  if (total > updated) return { state: 'progressing', message: `${total - updated} old replicas pending termination${paused}` };
  if (available < updated) return { state: 'progressing', message: `${available} of ${updated} updated replicas available${paused}` };
  return { state: 'succeeded', message: `${desired} of ${desired} replicas updated and available` };
}
