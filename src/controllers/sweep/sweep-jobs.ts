// The Jobs of Sweeps as the controller sees them: from the watch cache first, remembering Jobs deleted after they finished.
import { builtinResources, type CreateOptions, type GetOptions, type KubeClient, type ResourceDescriptor } from '../../kube/client.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { KubeObject } from '../../kube/kube-object.ts';
import type { Logger } from '../../observability/logger.ts';
import { labelValue, RUN_LABEL, type Job } from '../../providers/checks/job-check-manifest.ts';
import { jobOutcomeOf } from '../../providers/checks/job-check-runner.ts';
import { OWNER_UID_INDEX, type Store } from '../../runtime/store.ts';

/** Jobs remembered after their deletion, at most this many (the oldest are forgotten first). */
const DEFAULT_REMEMBERED = 10_000;

function finished(job: Job): boolean {
  return jobOutcomeOf(job) !== undefined;
}

export interface SweepJobsOptions {
  /** The cache of the operator's Jobs (the Sweep controller's `owns` reflector). */
  readonly store: Store<Job>;
  readonly kube: Pick<KubeClient, 'get' | 'create' | 'delete'>;
  readonly logger: Logger;
  readonly remembered?: number;
}

/**
 * What the Sweep controller knows of its Jobs.
 *
 * - The job runner reads through {@link SweepJobs.runnerClient}: a Job in the cache is read from it (no API call
 *   per look at a unit; a stale copy is corrected by the watch event that wakes the Sweep again), otherwise from
 *   the API server.
 * - A Job deleted after it finished (its `ttlSecondsAfterFinished` passed, or someone cleaned up) is remembered
 *   with its final state, from the watch's delete event; reading it then answers that final state instead of
 *   404, so its unit keeps its verdict rather than running again. Only while this process runs: a Job that
 *   finished and was deleted while the operator was down is missing, and its unit is run once more.
 */
export class SweepJobs {
  readonly #store: Store<Job>;
  readonly #kube: Pick<KubeClient, 'get' | 'create' | 'delete'>;
  readonly #logger: Logger;
  readonly #capacity: number;
  readonly #gone = new Map<string, Job>();

  constructor(options: SweepJobsOptions) {
    this.#store = options.store;
    this.#kube = options.kube;
    this.#logger = options.logger;
    this.#capacity = options.remembered ?? DEFAULT_REMEMBERED;
  }

  /** Hand it the cache's delete events: a finished Job is remembered. */
  deleted(job: Job): void {
    if (!finished(job)) return;
    const key = `${job.metadata.namespace ?? ''}/${job.metadata.name ?? ''}`;
    this.#gone.delete(key);
    this.#gone.set(key, job);
    if (this.#gone.size > this.#capacity) this.#gone.delete(this.#gone.keys().next().value as string);
  }

  /** The client the job runner uses: reads from the cache, then the API server, then the Jobs remembered. */
  get runnerClient(): Pick<KubeClient, 'get' | 'create'> {
    return {
      get: async <T extends KubeObject>(resource: ResourceDescriptor, name: string, options: GetOptions = {}): Promise<T> => {
        const isJob = resource.plural === builtinResources.jobs.plural && resource.group === builtinResources.jobs.group;
        const key = `${options.namespace ?? ''}/${name}`;
        const cached = isJob ? this.#store.get(key) : undefined;
        if (cached !== undefined) return cached as unknown as T;
        try {
          return await this.#kube.get<T>(resource, name, options);
        } catch (error) {
          const gone = isJob && isNotFound(error) ? this.#gone.get(key) : undefined;
          if (gone !== undefined) return gone as unknown as T;
          throw error;
        }
      },
      create: <T extends KubeObject>(resource: ResourceDescriptor, object: T, options?: CreateOptions): Promise<T> => this.#kube.create<T>(resource, object, options),
    };
  }

  /**
   * Whether a unit waiting on Job `namespace/name` should look at it now: the cache shows it finished, being
   * deleted, or not there at all (deleted, or not seen yet: a look then costs one read).
   */
  settled(namespace: string, name: string): boolean {
    const job = this.#store.get(`${namespace}/${name}`);
    return job === undefined || job.metadata.deletionTimestamp !== undefined || finished(job);
  }

  /** Unfinished Jobs of Sweep `uid` (as the cache has them), except those of run `keepRunId`. */
  strays(uid: string, keepRunId: string | undefined): Job[] {
    const keep = keepRunId === undefined ? undefined : labelValue(keepRunId);
    return this.#store.byIndex(OWNER_UID_INDEX, uid).filter((job) => !finished(job) && job.metadata.deletionTimestamp === undefined && (keep === undefined || job.metadata.labels?.[RUN_LABEL] !== keep));
  }

  /**
   * Deletes the unfinished Jobs of Sweep `uid` that belong to another run than `keepRunId` (every run when
   * undefined): a superseded run's checks must not hold the cluster's resources, nor count against the new
   * run's concurrency. Returns how many were deleted.
   */
  async deleteStrays(uid: string, keepRunId: string | undefined, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    for (const job of this.strays(uid, keepRunId)) {
      const name = job.metadata.name ?? '';
      try {
        await this.#kube.delete(builtinResources.jobs, name, {
          namespace: job.metadata.namespace ?? '',
          propagationPolicy: 'Background',
          ...(job.metadata.uid === undefined ? {} : { preconditions: { uid: job.metadata.uid } }),
          ...(signal === undefined ? {} : { signal }),
        });
        deleted += 1;
        this.#logger.info({ namespace: job.metadata.namespace, job: name, run: job.metadata.labels?.[RUN_LABEL] }, 'check job of a superseded run deleted');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return deleted;
  }
}
