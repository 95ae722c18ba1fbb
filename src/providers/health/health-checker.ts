// The seam between the Deploy workflow's verify step and a health probe: one probe per call, the counting stays in status.
import type { DeployStatus } from '../../api/deploy.ts';

/** One probe's result, in the shape of `status.health.lastProbe`. */
export type HealthProbe = NonNullable<NonNullable<DeployStatus['health']>['lastProbe']>;

export interface HealthProbeRequest {
  readonly url: string;
  /** The HTTP status of a healthy answer. */
  readonly expectStatus: number;
  /** Deadline of this probe. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Probes a service once. The controller keeps consecutive successes and failures in `status.health` and
 * requeues after `intervalSeconds`; a checker never waits between probes.
 *
 * Guarantees: an unhealthy or unreachable target is a result (`healthy: false` with a message), never an
 * error; only the caller's abort rejects.
 */
export interface HealthChecker {
  probe(request: HealthProbeRequest): Promise<HealthProbe>;
}
