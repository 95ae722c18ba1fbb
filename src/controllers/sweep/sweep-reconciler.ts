// Reconciles one Sweep: finalizer, which run is current, then one pass of its workflow, with the status, events and metrics that follow.
import type { CheckRunner as CheckRunnerName, SweepSpec, SweepStatus } from '../../api/sweep.ts';
import { objectKey } from '../../kube/kube-object.ts';
import type { CheckRunner } from '../../providers/checks/check-runner.ts';
import { HttpCheckRunner } from '../../providers/checks/http-check-runner.ts';
import { checkJobName } from '../../providers/checks/job-check-manifest.ts';
import { JobCheckRunner } from '../../providers/checks/job-check-runner.ts';
import { SecretReads } from '../../providers/secret-reader.ts';
import { Action, findTerminalError, type ReconcileContext, type Reconciler } from '../../runtime/reconciler.ts';
import type { Store } from '../../runtime/store.ts';
import type { RunResult } from '../../workflow/workflow-engine.ts';
import type { WorkflowStatusStore } from '../../workflow/workflow-status-store.ts';
import { workflowResourceOf, type ControllerContext } from '../controller-context.ts';
import { withResourceFinalizer } from '../resource-finalizer.ts';
import { suspendedState, withState, type ResourceState } from '../resource-state.ts';
import { MaskedStatusWriter } from '../masked-status-writer.ts';
import { OwnWrites } from '../own-writes.ts';
import { ResourceStatusStore } from '../resource-status-store.ts';
import { resourceRefOf } from '../workflow-event-relay.ts';
import { SweepAnnouncer, sweepChanges } from './sweep-events.ts';
import type { SweepJobs } from './sweep-jobs.ts';
import type { SweepMetrics } from './sweep-metrics.ts';
import { SWEEP_TYPE, SWEEPS, sweepSpecOf, type SweepObject } from './sweep-resource.ts';
import { planRun, runWorkflowId, scheduleAfter, type SweepRun } from './sweep-run.ts';
import { composeSweepStatus, HELD_WHILE_SUSPENDED, snapshotOf, tally, withUnitsDue, type SweepStatusContext } from './sweep-status.ts';
import { sweepUnits, type SweepUnit } from './sweep-units.ts';
import { sweepWorkflow, type SweepRunInput } from './sweep-workflow.ts';

/** Timings tests shorten; never configuration. */
export interface SweepTuning {
  /** A unit waiting on its Job looks again after this long if no watch event woke it. Default 30 s. */
  readonly jobPollMs?: number;
  /** A reconcile starts no more http checks once it has run this long; the next one goes on. Default 10 s. */
  readonly passBudgetMs?: number;
}

export interface SweepReconcilerOptions {
  readonly jobs: SweepJobs;
  readonly metrics: SweepMetrics;
  readonly tuning?: SweepTuning;
  /** The check runners by name; by default the job runner over {@link SweepJobs} and the http runner over the context. */
  readonly runners?: Readonly<Record<CheckRunnerName, CheckRunner>>;
  /** The cache of Sweeps: a reconcile looks there for a suspension made while it runs. */
  readonly sweeps?: Pick<Store<SweepObject>, 'get'>;
}

const DEFAULT_PASS_BUDGET_MS = 10_000;

/**
 * The Sweep reconciler (ADR 011).
 *
 * Expected flow of one reconcile: read the Sweep as last written (the cache may lag behind this process's
 * own status writes); the finalizer is put on it first; a Sweep being deleted gets its unfinished Jobs
 * deleted instead; otherwise the current run is decided ({@link planRun}), Jobs of other runs that still run
 * are deleted, units waiting on Jobs the cache shows finished or gone are made due, and the run's workflow
 * advances as far as it can without sleeping, each transition saved with the phase and conditions it implies
 * and announced (events, unit metrics) once saved. The reconcile comes back when a unit is due, or at the
 * schedule's next tick once the run has finished.
 *
 * Guarantees: the spec is never written; within one run no unit's check starts twice, across restarts and
 * replicas (the engine's side effects, and Job names that are deterministic per run); only a spec the operator
 * cannot act on is a `TerminalError` — failed checks are the Sweep's result (Stalled, `ChecksFailed`).
 */
export class SweepReconciler implements Reconciler<SweepObject> {
  readonly #context: ControllerContext;
  readonly #options: SweepReconcilerOptions;
  readonly #writer: MaskedStatusWriter<SweepStatus>;
  readonly #runners: Readonly<Record<CheckRunnerName, CheckRunner>>;
  readonly #announcer: SweepAnnouncer;
  /** This process's last write per Sweep, to tell a cache that lags behind it. */
  readonly #written: OwnWrites<SweepObject>;

  constructor(context: ControllerContext, options: SweepReconcilerOptions) {
    this.#context = context;
    this.#options = options;
    const { client, clock, logger, fetch, secrets } = context;
    this.#writer = new MaskedStatusWriter<SweepStatus>({ client, resource: SWEEPS, clock, fieldManager: context.fieldManager, secretMask: context.secretMask });
    this.#written = new OwnWrites<SweepObject>({ client, resource: SWEEPS });
    const runnerLogger = logger.child({ component: 'check-runner' });
    this.#runners = options.runners ?? {
      job: new JobCheckRunner({ kube: options.jobs.runnerClient, clock, logger: runnerLogger }),
      http: new HttpCheckRunner({ fetch, clock, logger: runnerLogger, secrets }),
    };
    this.#announcer = new SweepAnnouncer({ events: context.events, metrics: options.metrics, logger });
  }

  async reconcile(cached: SweepObject, context: ReconcileContext): Promise<Action> {
    // The engine must be handed a snapshot at least as new as its own last save (ADR 005): a cache behind that
    // would have it redo transitions (replayed, so harmless to the checks, but announced twice).
    const object = await this.#written.latest(cached, context.signal);
    if (object === undefined) return Action.done();
    const { client, fieldManager } = this.#context;
    return withResourceFinalizer({ client, resource: SWEEPS, fieldManager, signal: context.signal }, object, {
      apply: (live) => this.#apply(live, context),
      cleanup: (deleting) => this.#cleanup(deleting, context),
    });
  }

  async #apply(object: SweepObject, context: ReconcileContext): Promise<Action> {
    const { clock } = this.#context;
    const generation = object.metadata.generation ?? 0;
    const uid = object.metadata.uid ?? '';
    let parsed: ReturnType<typeof sweepSpecOf>;
    try {
      parsed = sweepSpecOf(object);
    } catch (error) {
      const terminal = findTerminalError(error);
      if (terminal !== undefined) {
        const stalled: ResourceState = { kind: 'stalled', phase: 'Failed', reason: terminal.reason, message: terminal.message };
        this.#written.remember(await this.#writer.update(object, (status) => withState(status, stalled, generation, clock.now()), { signal: context.signal }));
      }
      throw error;
    }
    const { spec, schedule } = parsed;
    const nowMs = clock.now();
    const plan = planRun({ uid, generation, spec, workflow: object.status?.workflow, schedule, nowMs });
    const nextScheduleMs = schedule === undefined || spec.suspend ? undefined : schedule.next(nowMs);
    await this.#options.jobs.deleteStrays(uid, plan.kind === 'idle' ? undefined : plan.run.runId, context.signal);

    if (plan.kind === 'idle') {
      // Suspended before any run of this work started: nothing runs until it is resumed (a spec change).
      const written = await this.#writer.update(
        object,
        (status) => {
          const { nextScheduleTime: _next, ...rest } = status ?? {};
          return withState(rest, suspendedState(), generation, clock.now());
        },
        { signal: context.signal },
      );
      this.#written.remember(written);
      return Action.done();
    }
    const run = plan.run;
    const logger = context.logger.child({ correlationId: runWorkflowId(uid, run) });
    if (plan.kind === 'start') logger.info({ reason: plan.reason, runId: run.runId, missedTicks: plan.missedTicks, ...(run.tickMs === undefined ? {} : { tick: new Date(run.tickMs).toISOString() }) }, 'sweep run starting');

    const result = await this.#advance(object, run, spec, nextScheduleMs, context);
    if (result.state === 'running') return Action.requeueAfter(Math.max(1, result.requeueAfterMs));
    if (schedule !== undefined && !spec.suspend) {
      // A finished run waits for the schedule: at once when a tick came while it ran, else until the next one.
      const decision = scheduleAfter(run, result.snapshot.workflow.startedAt, schedule, clock.now());
      if (decision.dueMs !== undefined) return Action.requeueAfter(1);
      if (decision.nextMs !== undefined) return Action.requeueAfter(Math.max(1, decision.nextMs - clock.now()));
    }
    // Failed checks are what the Sweep found, not a failed reconcile: Stalled (ChecksFailed) is written and the
    // reconcile is done, so reconcile errors and their alert count the operator's failures only.
    return Action.done();
  }

  /** One pass of the run's workflow, every save composed into the status and announced once written. */
  async #advance(object: SweepObject, run: SweepRun, spec: SweepSpec, nextScheduleMs: number | undefined, context: ReconcileContext): Promise<RunResult> {
    const { clock, engine, retry } = this.#context;
    const generation = object.metadata.generation ?? 0;
    const name = object.metadata.name ?? '';
    const namespace = object.metadata.namespace ?? '';
    const units = sweepUnits(spec);
    const jobNameOf = (unit: SweepUnit): string | undefined => (unit.check.runner === 'job' ? checkJobName(name, run.runId, unit.repository.name, unit.check.name) : undefined);
    const byId = new Map(units.map((unit) => [unit.id, unit]));
    const jobs = this.#options.jobs;
    const stored = snapshotOf(object.status);
    // A unit waits for its Job's next poll; the Job's watch event (or a resume) makes it due at once.
    const persisted =
      stored === undefined
        ? undefined
        : withUnitsDue(stored, (record) => {
            if (record.message === HELD_WHILE_SUSPENDED) return !spec.suspend;
            const unit = byId.get(record.id);
            const jobName = unit === undefined ? undefined : jobNameOf(unit);
            return jobName !== undefined && jobs.settled(namespace, jobName);
          });
    const statusContext: SweepStatusContext = { units, run, suspended: spec.suspend, nextScheduleMs, jobNameOf, generation };
    const store = new ResourceStatusStore<SweepObject, SweepStatus>({
      writer: this.#writer,
      object,
      persisted,
      signal: context.signal,
      compose: (current, snapshot) => composeSweepStatus(current, snapshot, statusContext, clock.now()),
    });
    const resource = { ...workflowResourceOf(object, SWEEP_TYPE), generation: run.generation };
    const ref = resourceRefOf(resource, SWEEPS.plural);
    const shape = { repositories: spec.repositories.length, checks: spec.checks.length, concurrency: spec.concurrency };
    const announce = (before: SweepStatus | undefined): void => {
      const after = store.object.status;
      this.#written.remember(store.object);
      if (after === undefined) return;
      const counted = tally(after.results ?? []);
      this.#announcer.announce(ref, after.workflow?.id ?? runWorkflowId(resource.uid, run), sweepChanges(before, after, shape), { ...counted.summary, ...counted.progress });
    };
    let saved = false;
    const saving: WorkflowStatusStore = {
      save: async (snapshot) => {
        const before = store.object.status;
        await store.save(snapshot);
        saved = true;
        announce(before);
      },
    };
    const input: SweepRunInput = {
      sweep: { name, namespace, uid: resource.uid },
      spec,
      run,
      units,
      startChecksUntilMs: clock.now() + (this.#options.tuning?.passBudgetMs ?? DEFAULT_PASS_BUDGET_MS),
      secrets: new SecretReads(this.#context.secrets, context.signal),
      suspended: () => spec.suspend || this.#suspendedSince(object),
    };
    const workflow = sweepWorkflow(spec, { runners: this.#runners, clock, ...(this.#options.tuning?.jobPollMs === undefined ? {} : { jobPollMs: this.#options.tuning.jobPollMs }) });
    const result = await engine.run(workflow, { resource, run: run.label, input, persisted, store: saving, retry: spec.retryPolicy === 'critical' ? retry.critical : retry.default, signal: context.signal });
    if ((result.state !== 'running' || !saved) && store.lastSnapshot !== undefined) {
      // A finished run saves nothing more, nor does one whose units all wait (on Jobs, or held while suspended),
      // but the schedule's next tick and the phase (suspend) may have moved. Nothing is sent when they have not.
      await store.refresh();
      this.#written.remember(store.object);
    }
    return result;
  }

  /** Whether the cache shows a newer generation of the Sweep than `object` with `spec.suspend` set. */
  #suspendedSince(object: SweepObject): boolean {
    const cached = this.#options.sweeps?.get(objectKey(object));
    if (cached === undefined || (cached.metadata.generation ?? 0) <= (object.metadata.generation ?? 0)) return false;
    return (cached.spec as { suspend?: unknown } | undefined)?.suspend === true;
  }

  /** Deletion: the run stops where it is and its unfinished Jobs are deleted; finished ones go with the Sweep. */
  async #cleanup(object: SweepObject, context: ReconcileContext): Promise<Action> {
    const deleted = await this.#options.jobs.deleteStrays(object.metadata.uid ?? '', undefined, context.signal);
    this.#written.forget(object);
    context.logger.info({ jobsDeleted: deleted }, 'sweep deleted; its run stops here');
    return Action.done();
  }
}
