// Drives the Sweep workflow as its controller does, on a manual clock, with an in-memory Job API and status.
import { sweepSpecSchema, sweepStatusSchema, type SweepSpec, type SweepStatus } from '../../../src/api/sweep.ts';
import { sweepRun, workHash, type SweepRun } from '../../../src/controllers/sweep/sweep-run.ts';
import { CHECKS_STEP, HELD_WHILE_SUSPENDED, resultsOf, snapshotOf, withUnitsDue } from '../../../src/controllers/sweep/sweep-status.ts';
import { sweepUnits } from '../../../src/controllers/sweep/sweep-units.ts';
import { sweepWorkflow, type SweepRunInput } from '../../../src/controllers/sweep/sweep-workflow.ts';
import { AlreadyExistsError, NotFoundError } from '../../../src/kube/errors.ts';
import type { KubeObject } from '../../../src/kube/kube-object.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { CheckRunner } from '../../../src/providers/checks/check-runner.ts';
import { checkJobName, type Job } from '../../../src/providers/checks/job-check-manifest.ts';
import { JobCheckRunner } from '../../../src/providers/checks/job-check-runner.ts';
import { SecretNotFoundError } from '../../../src/providers/provider-error.ts';
import { SecretReads, type SecretSource } from '../../../src/providers/secret-reader.ts';
import type { RunResult } from '../../../src/workflow/workflow-engine.ts';
import { engineFor, exactRetry, world, type World } from '../../support/workflow-fakes.ts';

/** A namespace without Secrets. */
const NO_SECRETS: SecretSource = { read: (namespace, ref) => Promise.reject(new SecretNotFoundError('secrets', `Secret ${namespace}/${ref.name} not found`)) };

export const SWEEP = { name: 'nightly', namespace: 'ci', uid: '0c5b2a1e-3f4d-4e5f-8a9b-1c2d3e4f5a6b' };

type JobOutcome = 'Complete' | 'Failed' | 'DeadlineExceeded';

/** Jobs kept in memory with the create/get semantics of the API server (AlreadyExists, NotFound). */
export class FakeJobApi {
  readonly jobs = new Map<string, Job>();
  /** Names of every Job created, in order (a name twice means a Job was created again). */
  readonly created: string[] = [];
  #uids = 0;

  get<T extends KubeObject>(_resource: unknown, name: string): Promise<T> {
    const job = this.jobs.get(name);
    if (job === undefined) return Promise.reject(new NotFoundError(404, 'NotFound', `jobs.batch "${name}" not found`));
    return Promise.resolve(structuredClone(job) as unknown as T);
  }

  create<T extends KubeObject>(_resource: unknown, object: T): Promise<T> {
    const name = object.metadata.name ?? '';
    if (this.jobs.has(name)) return Promise.reject(new AlreadyExistsError(409, 'AlreadyExists', `jobs.batch "${name}" already exists`));
    this.#uids += 1;
    const job = { ...(object as unknown as Job), metadata: { ...object.metadata, uid: `job-uid-${this.#uids}` }, status: { startTime: '2026-01-01T00:00:00Z', active: 1 } };
    this.jobs.set(name, job);
    this.created.push(name);
    return Promise.resolve(structuredClone(job) as unknown as T);
  }

  /** Jobs not finished yet. */
  active(): Job[] {
    return [...this.jobs.values()].filter((job) => this.outcomeOf(job) === undefined);
  }

  outcomeOf(job: Job): string | undefined {
    return job.status?.conditions?.find((condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True')?.type;
  }

  finish(name: string, outcome: JobOutcome): void {
    const job = this.jobs.get(name);
    if (job === undefined) throw new Error(`no Job ${name}`);
    const condition =
      outcome === 'Complete'
        ? { type: 'Complete', status: 'True', reason: 'CompletionsReached' }
        : { type: 'Failed', status: 'True', reason: outcome === 'Failed' ? 'BackoffLimitExceeded' : 'DeadlineExceeded', message: outcome === 'Failed' ? 'Job has reached the specified backoff limit' : 'Job was active longer than specified deadline' };
    this.jobs.set(name, { ...job, status: { ...job.status, completionTime: '2026-01-01T00:00:04Z', active: 0, conditions: [condition] } });
  }

  remove(name: string): void {
    this.jobs.delete(name);
  }
}

export function sweepSpec(overrides: Record<string, unknown> = {}): SweepSpec {
  return sweepSpecSchema.parse({
    repositories: ['a', 'b', 'c', 'd'].map((name) => ({ name, url: `https://github.com/acme/${name}` })),
    checks: [
      { name: 'lint', runner: 'job', image: 'node:24' },
      { name: 'test', runner: 'job', image: 'node:24' },
    ],
    concurrency: 3,
    ...overrides,
  });
}

export interface RigOptions {
  readonly world?: World;
  readonly jobs?: FakeJobApi;
  readonly http?: CheckRunner;
  /** Where the http checks' Secrets are read; by default there are none (job checks need none). */
  readonly secrets?: SecretSource;
  /** Engine owner: a new one plays a restarted process. */
  readonly owner?: string;
}

/**
 * The Sweep controller's loop in miniature: the status (results read back as unit records, as after a
 * restart), the engine, the runners, and the Job cache's wake-up (a unit waiting on a Job that finished or
 * vanished is looked at now).
 */
export class SweepRig {
  readonly world: World;
  readonly jobs: FakeJobApi;
  status: SweepStatus | undefined;
  readonly #options: RigOptions;

  constructor(options: RigOptions = {}) {
    this.world = options.world ?? world();
    this.jobs = options.jobs ?? new FakeJobApi();
    this.#options = options;
  }

  /** The same world, Job API and status, with a fresh engine and runners (a restarted operator). */
  restarted(owner: string): SweepRig {
    const rig = new SweepRig({ ...this.#options, world: this.world, jobs: this.jobs, owner });
    rig.status = this.status;
    return rig;
  }

  /** The first run of the spec (a spec change started it). */
  static firstRun(spec: SweepSpec, generation = 1): SweepRun {
    return sweepRun(generation, workHash(spec));
  }

  jobName(run: SweepRun, repository: string, check: string): string {
    return checkJobName(SWEEP.name, run.runId, repository, check);
  }

  async reconcile(spec: SweepSpec, run: SweepRun, options: { readonly startChecksUntilMs?: number } = {}): Promise<RunResult> {
    const { clock, events } = this.world;
    const logger = createLogger({ level: 'silent' });
    const runners = { job: new JobCheckRunner({ kube: this.jobs, clock, logger }), http: this.#options.http ?? new JobCheckRunner({ kube: this.jobs, clock, logger }) };
    const units = sweepUnits(spec);
    const jobNameOf = (unit: (typeof units)[number]) => (unit.check.runner === 'job' ? this.jobName(run, unit.repository.name, unit.check.name) : undefined);
    const persisted = snapshotOf(this.status);
    const woken =
      persisted === undefined
        ? undefined
        : withUnitsDue(persisted, (record) => {
            if (record.message === HELD_WHILE_SUSPENDED) return !spec.suspend;
            const unit = units.find((candidate) => candidate.id === record.id);
            const job = unit === undefined ? undefined : this.jobs.jobs.get(jobNameOf(unit) ?? '');
            return job === undefined || this.jobs.outcomeOf(job) !== undefined;
          });
    const input: SweepRunInput = { sweep: SWEEP, spec, run, units, startChecksUntilMs: options.startChecksUntilMs ?? Number.POSITIVE_INFINITY, secrets: new SecretReads(this.#options.secrets ?? NO_SECRETS), suspended: () => spec.suspend };
    return engineFor(this.world, this.#options.owner ?? 'process-1', { events }).run(sweepWorkflow(spec, { runners, clock, jobPollMs: 30_000 }), {
      resource: { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Sweep', namespace: SWEEP.namespace, name: SWEEP.name, uid: SWEEP.uid, generation: run.generation },
      run: run.label,
      input,
      persisted: woken,
      retry: exactRetry(clock),
      store: {
        save: (snapshot) => {
          const status: SweepStatus = { workflow: snapshot.workflow, results: resultsOf(units, snapshot.units[CHECKS_STEP] ?? [], jobNameOf) };
          this.status = sweepStatusSchema.parse(status);
          return Promise.resolve();
        },
      },
    });
  }

  /**
   * Reconciles until the run ends; before each reconcile `between` may finish or delete Jobs (the Job
   * controller's part). Time jumps to each requeue. Returns the results and the most Jobs active at once.
   */
  async drive(spec: SweepSpec, run: SweepRun, between: (rig: SweepRig) => void, maxReconciles = 200): Promise<{ results: RunResult[]; peakActive: number }> {
    const results: RunResult[] = [];
    let peakActive = 0;
    for (let i = 0; i < maxReconciles; i += 1) {
      const result = await this.reconcile(spec, run);
      results.push(result);
      peakActive = Math.max(peakActive, this.jobs.active().length);
      if (result.state !== 'running') return { results, peakActive };
      between(this);
      this.world.clock.advance(Math.min(result.requeueAfterMs, 1_000));
    }
    throw new Error('the sweep did not finish');
  }
}
