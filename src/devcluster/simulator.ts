// The workload simulator: an API client that plays the Deployment and Job controllers (like kwok), so rollouts and
// jobs finish without nodes. It works against any API server, the devcluster or a real one.
//
// Outcome and timing come from annotations, read on the object first, then on its pod template:
//   devcluster.blackroad.io/outcome:  "succeed" (default) or "fail"
//   devcluster.blackroad.io/delay-ms: how long the rollout or job takes, in milliseconds (default 200)
//   devcluster.blackroad.io/fail-images: comma-separated images; a rollout to one of them fails (a bad image)
//
// A Deployment whose generation is new gets observedGeneration and `Progressing=True` (ReplicaSetUpdated) at
// once; after the delay it is either rolled out (all replicas updated, ready and available,
// `Available=True`, `Progressing=True` NewReplicaSetAvailable) or failed (`Progressing=False`
// ProgressDeadlineExceeded, `Available=False`). A Job gets `startTime` and one active pod at once; after the
// delay it is Complete (`succeeded` = completions) or Failed (BackoffLimitExceeded); a Job whose delay is longer
// than its `activeDeadlineSeconds` is Failed (DeadlineExceeded) when the deadline passes. Status is written with
// a PUT of `/status` through the typed client (src/kube/client.ts) carrying the resourceVersion just read, and
// only while the object is still the one planned for (same uid and generation, not settled): a Job deleted and
// created again under its name is never finished by the old one's write. An object already settled for its
// generation is never touched again, so restarting the simulator is safe.
import { builtinResources, type KubeClient, type KubeObject, type ResourceDescriptor } from '../kube/client.ts';
import { isConflict, isGone, isNotFound } from '../kube/errors.ts';
import type { Logger } from '../observability/logger.ts';
import { sleep, type Clock, type TimerHandle } from '../resilience/clock.ts';

export const OUTCOME_ANNOTATION = 'devcluster.blackroad.io/outcome';
export const DELAY_ANNOTATION = 'devcluster.blackroad.io/delay-ms';
/** Comma-separated images whose rollouts fail (a Deployment whose template runs one of them). */
export const FAIL_IMAGES_ANNOTATION = 'devcluster.blackroad.io/fail-images';
const DEFAULT_DELAY_MS = 200;

/** Tries of a status write that keeps meeting a newer resourceVersion before it gives up. */
const WRITE_ATTEMPTS = 5;
/**
 * Retries of a status write that failed (a 5xx, a 429, a dropped connection), 250 ms apart and doubling up to
 * 10 s, as a controller's rate-limited requeue would: no later event would bring the object back otherwise.
 */
const FAILED_WRITE_RETRIES = 8;
const FAILED_WRITE_FIRST_DELAY_MS = 250;
const FAILED_WRITE_MAX_DELAY_MS = 10_000;

type Obj = Record<string, unknown>;

/** How a rollout or a Job ends: `deadline` is a Job stopped at its `activeDeadlineSeconds`. */
export type SimulatedOutcome = 'succeed' | 'fail' | 'deadline';

interface Kind {
  readonly name: 'deployment' | 'job';
  readonly resource: ResourceDescriptor;
  readonly settled: (obj: Obj) => boolean;
  readonly start: (obj: Obj, nowIso: string) => Obj | undefined;
  readonly finish: (obj: Obj, outcome: SimulatedOutcome, nowIso: string) => Obj;
}

const field = (obj: Obj | undefined, key: string): Obj | undefined => {
  const value = obj?.[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
};

function conditions(obj: Obj): Obj[] {
  const list = field(obj, 'status')?.['conditions'];
  return Array.isArray(list) ? (list as Obj[]) : [];
}

function annotation(obj: Obj, key: string): string | undefined {
  const own = field(field(obj, 'metadata'), 'annotations')?.[key];
  if (typeof own === 'string') return own;
  const template = field(field(field(field(obj, 'spec'), 'template'), 'metadata'), 'annotations')?.[key];
  return typeof template === 'string' ? template : undefined;
}

/** The images of a pod template's containers. */
function templateImages(obj: Obj): string[] {
  const containers = field(field(field(obj, 'spec'), 'template'), 'spec')?.['containers'];
  return Array.isArray(containers) ? containers.map((container) => String((container as Obj)['image'] ?? '')) : [];
}

/**
 * The outcome and delay an object asks for through its annotations. A Job whose delay is longer than its
 * `spec.activeDeadlineSeconds` ends at the deadline with `deadline`, as the Job controller stops it there.
 */
export function plannedOutcome(obj: Obj): { outcome: SimulatedOutcome; delayMs: number } {
  const delay = Number(annotation(obj, DELAY_ANNOTATION) ?? DEFAULT_DELAY_MS);
  const delayMs = Number.isFinite(delay) && delay >= 0 ? delay : DEFAULT_DELAY_MS;
  // A bad image fails its rollout only, as on a real cluster: rolling back to a good one succeeds.
  const failing = (annotation(obj, FAIL_IMAGES_ANNOTATION) ?? '').split(',').map((image) => image.trim()).filter((image) => image !== '');
  const badImage = templateImages(obj).some((image) => failing.includes(image));
  // Only a Job has spec.activeDeadlineSeconds (a Deployment's pods have theirs in the template).
  const deadlineSeconds = field(obj, 'spec')?.['activeDeadlineSeconds'];
  if (typeof deadlineSeconds === 'number' && deadlineSeconds >= 0 && delayMs > deadlineSeconds * 1000) return { outcome: 'deadline', delayMs: deadlineSeconds * 1000 };
  return { outcome: annotation(obj, OUTCOME_ANNOTATION) !== 'fail' && !badImage ? 'succeed' : 'fail', delayMs };
}

function generationOf(obj: Obj): number {
  const generation = field(obj, 'metadata')?.['generation'];
  return typeof generation === 'number' ? generation : 0;
}

function replicaSetName(obj: Obj): string {
  return `${String(field(obj, 'metadata')?.['name'] ?? '')}-${generationOf(obj).toString(16).padStart(10, '0').slice(-10)}`;
}

function condition(type: string, status: string, reason: string, message: string, nowIso: string, withUpdate: boolean): Obj {
  return { type, status, ...(withUpdate ? { lastUpdateTime: nowIso } : { lastProbeTime: nowIso }), lastTransitionTime: nowIso, reason, message };
}

const deployments: Kind = {
  name: 'deployment',
  resource: builtinResources.deployments,
  settled(obj) {
    const status = field(obj, 'status');
    if (status?.['observedGeneration'] !== generationOf(obj)) return false;
    return conditions(obj).some((c) => c['type'] === 'Progressing' && (c['reason'] === 'NewReplicaSetAvailable' || c['reason'] === 'ProgressDeadlineExceeded'));
  },
  start(obj, nowIso) {
    const status = field(obj, 'status') ?? {};
    if (status['observedGeneration'] === generationOf(obj)) return undefined;
    const replicas = Number(field(obj, 'spec')?.['replicas'] ?? 1);
    const available = conditions(obj).find((c) => c['type'] === 'Available');
    return {
      observedGeneration: generationOf(obj),
      replicas,
      updatedReplicas: 0,
      readyReplicas: status['readyReplicas'] ?? 0,
      availableReplicas: status['availableReplicas'] ?? 0,
      unavailableReplicas: replicas,
      conditions: [
        available ?? condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', nowIso, true),
        condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${replicaSetName(obj)}" is progressing.`, nowIso, true),
      ],
    };
  },
  finish(obj, outcome, nowIso) {
    const replicas = Number(field(obj, 'spec')?.['replicas'] ?? 1);
    const name = replicaSetName(obj);
    if (outcome === 'succeed') {
      return {
        observedGeneration: generationOf(obj),
        replicas,
        updatedReplicas: replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        unavailableReplicas: null,
        conditions: [condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', nowIso, true), condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${name}" has successfully progressed.`, nowIso, true)],
      };
    }
    return {
      observedGeneration: generationOf(obj),
      replicas,
      updatedReplicas: replicas,
      readyReplicas: 0,
      availableReplicas: 0,
      unavailableReplicas: replicas,
      conditions: [condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', nowIso, true), condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${name}" has timed out progressing.`, nowIso, true)],
    };
  },
};

const jobs: Kind = {
  name: 'job',
  resource: builtinResources.jobs,
  settled: (obj) => conditions(obj).some((c) => (c['type'] === 'Complete' || c['type'] === 'Failed') && c['status'] === 'True'),
  start(obj, nowIso) {
    if (field(obj, 'spec')?.['suspend'] === true || field(obj, 'status')?.['startTime'] !== undefined) return undefined;
    return { startTime: nowIso, active: 1, ready: 0, terminating: 0, uncountedTerminatedPods: {} };
  },
  finish(obj, outcome, nowIso) {
    const spec = field(obj, 'spec') ?? {};
    if (outcome === 'succeed') {
      const message = 'Reached expected number of succeeded pods';
      return {
        active: null,
        ready: 0,
        succeeded: Number(spec['completions'] ?? 1),
        completionTime: nowIso,
        conditions: [condition('SuccessCriteriaMet', 'True', 'CompletionsReached', message, nowIso, false), condition('Complete', 'True', 'CompletionsReached', message, nowIso, false)],
      };
    }
    if (outcome === 'deadline') {
      // The Job controller kills the active pod: one failed pod, whatever the backoff limit.
      const message = 'Job was active longer than specified deadline';
      return { active: null, ready: 0, failed: 1, conditions: [condition('FailureTarget', 'True', 'DeadlineExceeded', message, nowIso, false), condition('Failed', 'True', 'DeadlineExceeded', message, nowIso, false)] };
    }
    const message = 'Job has reached the specified backoff limit';
    return {
      active: null,
      ready: 0,
      failed: Number(spec['backoffLimit'] ?? 6) + 1,
      conditions: [condition('FailureTarget', 'True', 'BackoffLimitExceeded', message, nowIso, false), condition('Failed', 'True', 'BackoffLimitExceeded', message, nowIso, false)],
    };
  },
};

export interface WorkloadSimulatorSettings {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Pause between a failed list or watch and the next try. */
  readonly retryDelayMs?: number;
}

/** `status` with `changes` merged in as a merge patch would: a null removes the field. */
function mergedStatus(status: Obj | undefined, changes: Obj): Obj {
  const merged: Obj = { ...status };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

/**
 * Plays the Deployment and Job controllers.
 *
 * Guarantees: each (object uid, generation) is driven at most once per simulator; an object settled for
 * its generation is never written; a write lands only on the object it was planned for (its uid and
 * generation, checked against a fresh read and enforced by the resourceVersion of that read), so an object
 * deleted and created again under its name is driven as a new one; a lost watch is resumed, and a 410 relists.
 * Assumptions: nothing else writes the status of these objects (no real controllers).
 */
export class WorkloadSimulator {
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #retryDelayMs: number;
  readonly #inFlight = new Map<string, TimerHandle>();
  /** Aborted when `run` is asked to stop: pending retries end. */
  #signal: AbortSignal | undefined;

  constructor(settings: WorkloadSimulatorSettings) {
    this.#client = settings.client;
    this.#clock = settings.clock;
    this.#logger = settings.logger;
    this.#retryDelayMs = settings.retryDelayMs ?? 1000;
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    await Promise.all([this.#loop(deployments, signal), this.#loop(jobs, signal)]);
    for (const handle of this.#inFlight.values()) this.#clock.clearTimeout(handle);
    this.#inFlight.clear();
  }

  async #loop(kind: Kind, signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await this.#client.listAll(kind.resource, { signal });
          for (const item of list.items) this.#observe(kind, item as unknown as Obj);
          resourceVersion = list.metadata.resourceVersion;
        }
        const events = await this.#client.watch(kind.resource, { ...(resourceVersion === undefined ? {} : { resourceVersion }), allowWatchBookmarks: true, timeoutSeconds: 300, signal });
        for await (const event of events) {
          if (event.object.metadata.resourceVersion !== undefined) resourceVersion = event.object.metadata.resourceVersion;
          if (event.type === 'ADDED' || event.type === 'MODIFIED') this.#observe(kind, event.object as KubeObject as unknown as Obj);
        }
      } catch (error) {
        if (signal.aborted) return;
        resourceVersion = undefined;
        if (isGone(error)) continue;
        this.#logger.warn({ err: error, kind: kind.name }, 'simulator watch failed; retrying');
        await this.#pause(this.#retryDelayMs, signal);
      }
    }
  }

  /** Resolves after `ms`, or at once when `signal` aborts. */
  #pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(this.#clock, ms, signal).catch(() => undefined);
  }

  #observe(kind: Kind, obj: Obj): void {
    const meta = field(obj, 'metadata') ?? {};
    if (meta['deletionTimestamp'] !== undefined || kind.settled(obj)) return;
    const key = `${String(meta['uid'])}/${generationOf(obj)}`;
    if (this.#inFlight.has(key)) return;
    const plan = plannedOutcome(obj);
    // The finishing write waits for the starting one, so they land in order even with a zero delay.
    const startWrite = this.#write(kind, obj, (current) => kind.start(current, this.#nowIso()));
    const handle = this.#clock.setTimeout(() => {
      void startWrite.then(() => this.#write(kind, undefined, (current) => kind.finish(current, plan.outcome, this.#nowIso()), obj)).finally(() => this.#inFlight.delete(key));
    }, plan.delayMs);
    this.#inFlight.set(key, handle);
  }

  #nowIso(): string {
    return new Date(this.#clock.now()).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  /**
   * Writes the status `change` computes from the object as it is now, if it is still the object `planned` was
   * (same uid and generation, not being deleted, not settled): a PUT of `/status` carrying the resourceVersion
   * it was computed from, so a change in between (a deletion and re-creation included) answers 409 and the
   * object is read and checked again. `current` is the object as just seen, when there is one.
   */
  async #write(kind: Kind, current: Obj | undefined, change: (current: Obj) => Obj | undefined, planned: Obj | undefined = current): Promise<void> {
    const plannedMeta = field(planned, 'metadata') ?? {};
    const namespace = String(plannedMeta['namespace'] ?? '');
    const name = String(plannedMeta['name'] ?? '');
    let live = current;
    for (let failures = 0; ; failures += 1) {
      try {
        for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
          live ??= (await this.#client.get(kind.resource, name, { namespace })) as unknown as Obj;
          const meta = field(live, 'metadata') ?? {};
          if (meta['uid'] !== plannedMeta['uid'] || generationOf(live) !== generationOf(planned ?? {}) || meta['deletionTimestamp'] !== undefined || kind.settled(live)) return;
          const changes = change(live);
          if (changes === undefined) return;
          try {
            await this.#client.replace(kind.resource, { ...live, status: mergedStatus(field(live, 'status'), changes) } as unknown as KubeObject, { subresource: 'status' });
            return;
          } catch (error) {
            if (!isConflict(error)) throw error;
            live = undefined;
          }
        }
        this.#logger.warn({ kind: kind.name, name }, 'simulator status write kept conflicting; giving up');
        return;
      } catch (error) {
        // A deleted object needs no status; anything else is tried again from a fresh read.
        if (isNotFound(error)) return;
        const giveUp = failures >= FAILED_WRITE_RETRIES || this.#signal?.aborted === true;
        this.#logger.warn({ err: error, kind: kind.name, name, failures: failures + 1 }, giveUp ? 'simulator status write failed; giving up' : 'simulator status write failed; retrying');
        if (giveUp) return;
        live = undefined;
        await this.#pause(Math.min(FAILED_WRITE_FIRST_DELAY_MS * 2 ** failures, FAILED_WRITE_MAX_DELAY_MS), this.#signal);
        if (this.#signal?.aborted === true) return;
      }
    }
  }
}
