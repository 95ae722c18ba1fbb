// The railway deploy provider: points a service instance at an image, deploys it, polls the deployment, rolls back to the previous one.
import type { DeploySpec, ProviderRef } from '../../api/deploy.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { isJsonObject, type FetchLike } from '../http-exchange.ts';
import { InvalidResponseError, NoRollbackTargetError, ProviderRejectedError } from '../provider-error.ts';
import type { SecretReader } from '../secret-reader.ts';
import {
  providerSettings,
  type DeployPrevious,
  type DeployProvider,
  type DeployRequest,
  type DeployTarget,
  type ObserveRequest,
  type RecordedPrevious,
  type RecordPreviousRequest,
  type RollbackRequest,
  type RolloutObservation,
} from './deploy-provider.ts';
import { RailwayClient, type RailwayCall, type RailwayOperation } from './railway-client.ts';

type RailwaySettings = NonNullable<DeploySpec['provider']['railway']>;

/** A deployment as `deployments` lists it. `meta` is Railway's free-form JSON; image-sourced deployments carry `meta.image`. */
interface RailwayDeployment {
  readonly id: string;
  readonly status: string;
  readonly createdAt: string;
  readonly image: string | undefined;
}

export interface RailwayProviderOptions {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secrets: SecretReader;
  /** Deadline of one GraphQL request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Deployments listed when looking for an earlier attempt. Default 10. */
  readonly listLimit?: number;
}

const DEPENDENCY = 'railway';
const SUCCEEDED = new Set(['SUCCESS', 'SLEEPING']);
const FAILED = new Set(['FAILED', 'CRASHED', 'REMOVED', 'REMOVING', 'SKIPPED']);

const operations = {
  serviceInstanceUpdate: (serviceId: string, environmentId: string, image: string): RailwayOperation => ({
    name: 'serviceInstanceUpdate',
    query: `mutation serviceInstanceUpdate($serviceId: String!, $environmentId: String, $input: ServiceInstanceUpdateInput!) {
  serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
}`,
    variables: { serviceId, environmentId, input: { source: { image } } },
  }),
  serviceInstanceDeployV2: (serviceId: string, environmentId: string): RailwayOperation => ({
    name: 'serviceInstanceDeployV2',
    query: `mutation serviceInstanceDeployV2($serviceId: String!, $environmentId: String!) {
  serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId)
}`,
    variables: { serviceId, environmentId },
  }),
  deployment: (id: string): RailwayOperation => ({
    name: 'deployment',
    query: `query deployment($id: String!) {
  deployment(id: $id) { id status }
}`,
    variables: { id },
  }),
  deployments: (settings: RailwaySettings, first: number, successfulOnly: boolean): RailwayOperation => ({
    name: 'deployments',
    query: `query deployments($input: DeploymentListInput!, $first: Int) {
  deployments(input: $input, first: $first) { edges { node { id status createdAt meta } } }
}`,
    variables: {
      input: {
        projectId: settings.projectId,
        environmentId: settings.environmentId,
        serviceId: settings.serviceId,
        ...(successfulOnly ? { status: { successfulOnly: true } } : {}),
      },
      first,
    },
  }),
  deploymentRollback: (id: string): RailwayOperation => ({
    name: 'deploymentRollback',
    query: `mutation deploymentRollback($id: String!) {
  deploymentRollback(id: $id)
}`,
    variables: { id },
  }),
};

/**
 * Deploys a Railway service instance through Railway's public GraphQL API, with the bearer token read from
 * the Secret on every call.
 *
 * Guarantees: Railway takes no idempotency key, so before deploying, `deploy` looks for its own earlier
 * attempt (a deployment newer than the recorded previous one, of the same image, per `meta.image`) and
 * adopts it; `rollback` likewise adopts a deployment newer than the current one that runs the previous
 * image. Together with the workflow's claim this keeps one Railway deployment per key (ADR 009).
 */
export class RailwayProvider implements DeployProvider {
  readonly name = 'railway' as const;
  readonly #client: RailwayClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #secrets: SecretReader;
  readonly #listLimit: number;

  constructor(options: RailwayProviderOptions) {
    this.#client = new RailwayClient({
      fetch: options.fetch,
      clock: options.clock,
      logger: options.logger,
      ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }),
    });
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#secrets = options.secrets;
    this.#listLimit = options.listLimit ?? 10;
  }

  async recordPrevious({ target, signal }: RecordPreviousRequest): Promise<RecordedPrevious> {
    const settings = providerSettings(target, 'railway');
    const call = await this.#call(target, settings, undefined, signal);
    const [current] = await this.#list(call, settings, 1, true);
    return {
      ...(current?.image === undefined ? {} : { image: current.image }),
      ...(current === undefined ? {} : { providerRef: refOf(current.id) }),
      recordedAt: new Date(this.#clock.now()).toISOString(),
    };
  }

  async deploy({ target, idempotencyKey, previous, signal }: DeployRequest): Promise<ProviderRef> {
    const settings = providerSettings(target, 'railway');
    const call = await this.#call(target, settings, idempotencyKey, signal);
    const earlier = await this.#earlierAttempt(call, settings, previous);
    if (earlier !== undefined) {
      this.#logger.info({ dependency: DEPENDENCY, serviceId: settings.serviceId, deploymentId: earlier.id, image: settings.image }, 'railway deployment adopted');
      return refOf(earlier.id);
    }
    const updated = await this.#client.request(call, operations.serviceInstanceUpdate(settings.serviceId, settings.environmentId, settings.image));
    if (updated !== true) throw new ProviderRejectedError(DEPENDENCY, `Railway did not point service ${settings.serviceId} at image ${settings.image} (serviceInstanceUpdate answered ${String(updated)})`);
    const id = await this.#client.request(call, operations.serviceInstanceDeployV2(settings.serviceId, settings.environmentId));
    if (typeof id !== 'string' || id === '') throw new InvalidResponseError(DEPENDENCY, `Railway answered serviceInstanceDeployV2 without a deployment id (${JSON.stringify(id)})`);
    this.#logger.info({ dependency: DEPENDENCY, serviceId: settings.serviceId, deploymentId: id, image: settings.image }, 'railway deployment started');
    return refOf(id);
  }

  async observe({ target, ref, signal }: ObserveRequest): Promise<RolloutObservation> {
    const settings = providerSettings(target, 'railway');
    const call = await this.#call(target, settings, undefined, signal);
    const deployment = await this.#client.request(call, operations.deployment(ref.id));
    if (!isJsonObject(deployment)) throw new ProviderRejectedError(DEPENDENCY, `Railway has no deployment ${ref.id}`);
    const status = deployment['status'];
    if (typeof status !== 'string' || status === '') throw new InvalidResponseError(DEPENDENCY, `Railway answered deployment(${ref.id}) without a status`);
    const message = `Railway deployment ${ref.id} is ${status}`;
    if (SUCCEEDED.has(status)) return { state: 'succeeded', message };
    if (FAILED.has(status)) return { state: 'failed', message };
    return { state: 'progressing', message };
  }

  async rollback({ target, previous, current, idempotencyKey, signal }: RollbackRequest): Promise<ProviderRef | undefined> {
    const settings = providerSettings(target, 'railway');
    const previousId = previous.providerRef?.provider === 'railway' ? previous.providerRef.id : undefined;
    if (previousId === undefined) {
      throw new NoRollbackTargetError(DEPENDENCY, `no successful deployment of Railway service ${settings.serviceId} was recorded before the deploy; nothing to roll back to`);
    }
    const call = await this.#call(target, settings, idempotencyKey, signal);
    const listed = await this.#list(call, settings, this.#listLimit, false);
    const done = earlierRollback(listed, previous, current);
    if (done !== undefined) return refOf(done.id);

    const accepted = await this.#client.request(call, operations.deploymentRollback(previousId));
    if (accepted !== true) throw new ProviderRejectedError(DEPENDENCY, `Railway refused to roll back to deployment ${previousId} (deploymentRollback answered ${String(accepted)})`);
    this.#logger.info({ dependency: DEPENDENCY, serviceId: settings.serviceId, deploymentId: previousId }, 'railway rollback started');
    const [newest] = await this.#list(call, settings, 1, false);
    return newest !== undefined && newest.id !== current?.id && newest.id !== previousId ? refOf(newest.id) : undefined;
  }

  async #call(target: DeployTarget, settings: RailwaySettings, idempotencyKey: string | undefined, signal: AbortSignal | undefined): Promise<RailwayCall> {
    const token = await this.#secrets.read(target.namespace, settings.tokenSecretRef, signal);
    return { endpoint: settings.endpoint, token, ...(idempotencyKey === undefined ? {} : { idempotencyKey }), ...(signal === undefined ? {} : { signal }) };
  }

  /** Deployments of the service instance, newest first. */
  async #list(call: RailwayCall, settings: RailwaySettings, first: number, successfulOnly: boolean): Promise<RailwayDeployment[]> {
    const connection = await this.#client.request(call, operations.deployments(settings, first, successfulOnly));
    const edges = isJsonObject(connection) ? connection['edges'] : undefined;
    if (!Array.isArray(edges)) throw new InvalidResponseError(DEPENDENCY, 'Railway answered deployments without edges');
    const deployments = edges.map((edge: unknown) => deploymentOf(isJsonObject(edge) ? edge['node'] : undefined));
    return deployments.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  }

  /** A deployment this Deploy's earlier attempt started: newer than the recorded previous one, of the same image. */
  async #earlierAttempt(call: RailwayCall, settings: RailwaySettings, previous: DeployPrevious | undefined): Promise<RailwayDeployment | undefined> {
    if (previous === undefined) return undefined;
    const listed = await this.#list(call, settings, this.#listLimit, false);
    const previousId = previous.providerRef?.provider === 'railway' ? previous.providerRef.id : undefined;
    let newer: RailwayDeployment[];
    if (previousId === undefined) {
      newer = listed.filter((deployment) => Date.parse(deployment.createdAt) >= Date.parse(previous.recordedAt));
    } else {
      const index = listed.findIndex((deployment) => deployment.id === previousId);
      // Not among the newest: too many deployments since to tell; deploying again is the safe side.
      newer = index < 0 ? [] : listed.slice(0, index);
    }
    return newer.find((deployment) => deployment.image === settings.image);
  }
}

/** The newest deployment, when it is newer than the current one and runs the previous image: a rollback already made. */
function earlierRollback(listed: readonly RailwayDeployment[], previous: DeployPrevious, current: ProviderRef | undefined): RailwayDeployment | undefined {
  const newest = listed[0];
  if (newest === undefined || previous.image === undefined || current?.provider !== 'railway') return undefined;
  const currentIndex = listed.findIndex((deployment) => deployment.id === current.id);
  return currentIndex > 0 && newest.image === previous.image ? newest : undefined;
}

function refOf(id: string): ProviderRef {
  return { provider: 'railway', id };
}

function deploymentOf(node: unknown): RailwayDeployment {
  if (!isJsonObject(node) || typeof node['id'] !== 'string' || typeof node['createdAt'] !== 'string') {
    throw new InvalidResponseError(DEPENDENCY, 'Railway listed a deployment without an id or createdAt');
  }
  const meta = node['meta'];
  const image = isJsonObject(meta) && typeof meta['image'] === 'string' ? meta['image'] : undefined;
  return { id: node['id'], status: typeof node['status'] === 'string' ? node['status'] : '', createdAt: node['createdAt'], image };
}
