// The job check runner: one batch/v1 Job per unit, owned by the Sweep; the outcome comes from the Job's conditions.
import { builtinResources, type KubeClient } from '../../kube/client.ts';
import { isAlreadyExists, isNotFound } from '../../kube/errors.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Clock } from '../../resilience/clock.ts';
import { excerpt } from '../excerpt.ts';
import { InvalidSpecError, OwnershipConflictError, ProviderUnavailableError } from '../provider-error.ts';
import type { CheckHandle, CheckObservation, CheckRunner, CheckUnit, JobCheckHandle, ObserveCheckRequest, StartCheckRequest } from './check-runner.ts';
import { jobCheckManifest, labelValue, RUN_LABEL, type Job } from './job-check-manifest.ts';

export interface JobCheckRunnerOptions {
  readonly kube: Pick<KubeClient, 'get' | 'create'>;
  readonly clock: Clock;
  readonly logger: Logger;
}

const DEPENDENCY = 'job';

/**
 * Runs `job` checks (the Job's shape: `job-check-manifest.ts`).
 *
 * Guarantees:
 * - `start` creates the unit's Job under its deterministic name; when it exists already (an earlier attempt,
 *   an operator restart) and is ours — the Sweep's uid as controller owner and this run's label — its handle
 *   is returned and nothing is created. A Job of that name owned by anything else is an
 *   `OwnershipConflictError`; a Job of ours still being deleted is a retryable error.
 * - `observe`: condition `Complete` → passed; `Failed` with reason `DeadlineExceeded` → errored (the check
 *   timed out, no verdict); any other `Failed` → failed; no Job, or a Job deleted before it finished → missing.
 */
export class JobCheckRunner implements CheckRunner {
  readonly runner = 'job' as const;
  readonly #kube: Pick<KubeClient, 'get' | 'create'>;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(options: JobCheckRunnerOptions) {
    this.#kube = options.kube;
    this.#clock = options.clock;
    this.#logger = options.logger;
  }

  async start({ unit, idempotencyKey, signal }: StartCheckRequest): Promise<CheckHandle> {
    const manifest = jobCheckManifest(unit, idempotencyKey);
    const name = manifest.metadata.name ?? '';
    const namespace = unit.sweep.namespace;
    const options = { namespace, ...(signal === undefined ? {} : { signal }) };
    try {
      const created = await this.#kube.create<Job>(builtinResources.jobs, manifest, options);
      this.#logger.info({ namespace, job: name, repository: unit.repository.name, check: unit.check.name, runId: unit.runId }, 'check job created');
      return handleOf(created, namespace, name);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    let existing: Job;
    try {
      existing = await this.#kube.get<Job>(builtinResources.jobs, name, options);
    } catch (error) {
      if (isNotFound(error)) throw new ProviderUnavailableError(DEPENDENCY, `Job ${namespace}/${name} existed a moment ago and is gone; start again`, { cause: error });
      throw error;
    }
    if (!isOurs(existing, unit)) {
      throw new OwnershipConflictError(DEPENDENCY, `Job ${namespace}/${name} exists and does not belong to run ${unit.runId} of Sweep ${namespace}/${unit.sweep.name}`);
    }
    if (existing.metadata.deletionTimestamp !== undefined && jobOutcomeOf(existing) === undefined) {
      throw new ProviderUnavailableError(DEPENDENCY, `Job ${namespace}/${name} is being deleted; start again once it is gone`);
    }
    this.#logger.debug({ namespace, job: name }, 'check job adopted');
    return handleOf(existing, namespace, name);
  }

  async observe({ unit, handle, signal }: ObserveCheckRequest): Promise<CheckObservation> {
    if (handle.runner !== 'job') throw new InvalidSpecError(DEPENDENCY, `the job runner cannot observe a ${handle.runner} check handle`);
    const where = `${handle.namespace}/${handle.jobName}`;
    let job: Job;
    try {
      job = await this.#kube.get<Job>(builtinResources.jobs, handle.jobName, { namespace: handle.namespace, ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      if (isNotFound(error)) return { state: 'missing', message: `Job ${where} not found` };
      throw error;
    }
    if (!isOurs(job, unit)) return { state: 'missing', message: `Job ${where} was replaced by one that is not this unit's` };
    const outcome = jobOutcomeOf(job);
    if (outcome !== undefined) return outcome;
    if (job.metadata.deletionTimestamp !== undefined) return { state: 'missing', message: `Job ${where} was deleted before it finished` };
    const startedMs = Date.parse(job.status?.startTime ?? '');
    return {
      state: 'running',
      message: `Job ${where} running, ${job.status?.active ?? 0} active pods`,
      ...(Number.isNaN(startedMs) ? {} : { durationMs: Math.max(0, this.#clock.now() - startedMs) }),
    };
  }
}

function handleOf(job: Job, namespace: string, name: string): JobCheckHandle {
  return { runner: 'job', namespace, jobName: name, uid: job.metadata.uid ?? '' };
}

function isOurs(job: Job, unit: CheckUnit): boolean {
  const owner = job.metadata.ownerReferences?.find((reference) => reference.controller === true);
  return owner?.uid === unit.sweep.uid && job.metadata.labels?.[RUN_LABEL] === labelValue(unit.runId);
}

/** The outcome of a finished Job, from its `Complete` or `Failed` condition; undefined while it runs. */
export function jobOutcomeOf(job: Job): CheckObservation | undefined {
  const conditions = job.status?.conditions ?? [];
  const complete = conditions.find((condition) => condition.type === 'Complete' && condition.status === 'True');
  const failed = conditions.find((condition) => condition.type === 'Failed' && condition.status === 'True');
  const finished = complete ?? failed;
  if (finished === undefined) return undefined;
  const startedMs = Date.parse(job.status?.startTime ?? '');
  const endedMs = Date.parse(job.status?.completionTime ?? finished.lastTransitionTime ?? '');
  const duration = Number.isNaN(startedMs) || Number.isNaN(endedMs) ? {} : { durationMs: Math.max(0, endedMs - startedMs) };
  const name = job.metadata.name ?? '';
  if (complete !== undefined) return { state: 'passed', message: `Job ${name} completed`, ...duration };
  const detail = failed?.message === undefined || failed.message === '' ? '' : `: ${excerpt(failed.message)}`;
  if (failed?.reason === 'DeadlineExceeded') return { state: 'errored', message: `Job ${name} timed out${detail}`, ...duration };
  return { state: 'failed', message: `Job ${name} failed (${failed?.reason ?? 'no reason'})${detail}`, ...duration };
}
