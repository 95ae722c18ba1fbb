// Reconciles one Deploy: finalizer, suspend, then one pass of its workflow, with the status, events and metrics that follow.
import { randomUUID } from 'node:crypto';
import type { DeploySpec, DeployStatus } from '../../api/deploy.ts';
import { APPROVED_BY_ANNOTATION } from '../../api/group-version.ts';
import type { KubeObject } from '../../kube/kube-object.ts';
import type { Logger } from '../../observability/logger.ts';
import type { DeployProvider } from '../../providers/deploy/deploy-provider.ts';
import { KubernetesProvider } from '../../providers/deploy/kubernetes-provider.ts';
import { RailwayProvider } from '../../providers/deploy/railway-provider.ts';
import { WebhookProvider } from '../../providers/deploy/webhook-provider.ts';
import { HttpHealthChecker } from '../../providers/health/http-health-checker.ts';
import { classifyFailure, NonRetryableError } from '../../resilience/classify-failure.ts';
import { idempotencyKey } from '../../resilience/idempotency-store.ts';
import { idempotentCall } from '../../resilience/idempotent-call.ts';
import { generationChanged } from '../../runtime/predicates.ts';
import { Action, findTerminalError, type ReconcileContext, type Reconciler } from '../../runtime/reconciler.ts';
import type { WorkflowSnapshot } from '../../workflow/workflow-status-store.ts';
import { generationOfRunId } from '../../workflow/workflow.ts';
import type { RunResult } from '../../workflow/workflow-engine.ts';
import { workflowResourceOf, type ControllerContext } from '../controller-context.ts';
import { finishedNow, outcomeAction } from '../reconcile-outcome.ts';
import { withResourceFinalizer } from '../resource-finalizer.ts';
import { MaskedStatusWriter } from '../masked-status-writer.ts';
import { OwnWrites } from '../own-writes.ts';
import { ResourceStatusStore, snapshotOf } from '../resource-status-store.ts';
import { SUSPENDED, suspendedState, withState, type ResourceState } from '../resource-state.ts';
import { resourceRefOf } from '../workflow-event-relay.ts';
import { auditTrail } from './deploy-audit.ts';
import { DeployMetrics } from './deploy-metrics.ts';
import { deployRunId, deployRunOf } from './deploy-run.ts';
import { DEPLOY_KIND, DEPLOYS, deploySpecOf, type DeployObject } from './deploy-resource.ts';
import { deployState, deployStatus, draftOf, providerName, STEP, stepOf, UNKNOWN_VERSION } from './deploy-status.ts';
import { DeployWorkflows, secretRefsOf, type DeployRun, type DeployTuning } from './deploy-workflow.ts';

export interface DeployReconcilerOptions {
  readonly tuning?: DeployTuning;
  /** The deploy targets by name; by default the kubernetes, railway and webhook providers over the context. */
  readonly providers?: readonly DeployProvider[];
}

/** The approver the annotation names, if any. */
function approverOf(object: KubeObject | undefined): string | undefined {
  const value = object?.metadata.annotations?.[APPROVED_BY_ANNOTATION]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Spec changes, deletions, and an approval being given: a waiting approval gate must not wait for a poll. */
export function deployPredicate(object: DeployObject, previous: DeployObject | undefined): boolean {
  if (generationChanged(object, previous)) return true;
  const approver = approverOf(object);
  return approver !== undefined && approver !== approverOf(previous);
}

/** The generation of the run in status (a suspend toggle since then bumped `metadata.generation`, not the run's). */
function runGenerationOf(object: DeployObject): number | undefined {
  const generation = generationOfRunId(object.status?.workflow?.id ?? '');
  return Number.isInteger(generation) ? generation : undefined;
}

/**
 * The snapshot handed to the engine: as stored, except that an approve step waiting for its next look is due
 * at once when the approval annotation is there (the engine never runs a step before its `nextAttemptAt`).
 */
function withApprovalDue(snapshot: WorkflowSnapshot | undefined, object: DeployObject): WorkflowSnapshot | undefined {
  if (snapshot === undefined || approverOf(object) === undefined) return snapshot;
  const steps = snapshot.workflow.steps.map((entry) => {
    if (entry.name !== STEP.approve || entry.state !== 'Waiting' || entry.nextAttemptAt === undefined) return entry;
    const { nextAttemptAt: _due, ...due } = entry;
    return due;
  });
  return { ...snapshot, workflow: { ...snapshot.workflow, steps } };
}

/** Whether `snapshot`'s run finished with its validate step failed: nothing after validate ran. */
function failedAtValidate(snapshot: WorkflowSnapshot): boolean {
  return snapshot.workflow.finishedAt !== undefined && stepOf(snapshot.workflow.steps, STEP.validate)?.state === 'Failed';
}

/**
 * A run that failed at validate, open again: validate due for another attempt (its attempts counted on), the steps
 * it never reached pending (they show Skipped in a finished run), the run unfinished. Nothing ran after validate,
 * which has no side effects, so nothing is repeated; the run keeps its id and keys.
 */
function reopenedAtValidate(snapshot: WorkflowSnapshot): WorkflowSnapshot {
  const { finishedAt: _finishedAt, ...workflow } = snapshot.workflow;
  const steps = workflow.steps.map((entry) => {
    if (entry.name !== STEP.validate && entry.state !== 'Skipped') return entry;
    const { finishedAt: _ended, nextAttemptAt: _next, ...rest } = entry;
    return { ...rest, state: 'Pending' as const };
  });
  return { ...snapshot, workflow: { ...workflow, steps } };
}

/**
 * The Deploy reconciler (ADR 010).
 *
 * Expected flow of one reconcile: read the Deploy as last written (the cache may lag behind this process's own
 * status writes); the finalizer is put on the Deploy first; a Deploy being deleted gets its cleanup instead (the
 * run stops where it is; sensitive Deploys audit the deletion); a suspended one is marked Suspended; otherwise its
 * workflow advances as far as it can without sleeping, each transition saved with the phase and conditions it
 * implies, and the reconcile asks to come back when the next step is due.
 *
 * Guarantees: the spec is never written; a run that failed in this reconcile ends with a `TerminalError` (no
 * retry, Stalled written), except at validate: Stalled too, but what validate found missing is looked for again
 * after a bounded delay, and once it is there the run is reopened at validate; announcements (events,
 * `blackroad_deploys_total`) are made by the reconcile in which the run finished: once, or, for a run reopened at
 * validate, once more when it finishes again (it did fail then; what happened after is a second outcome).
 */
export class DeployReconciler implements Reconciler<DeployObject> {
  readonly #context: ControllerContext;
  readonly #writer: MaskedStatusWriter<DeployStatus>;
  readonly #workflows: DeployWorkflows;
  readonly #providers: ReadonlyMap<string, DeployProvider>;
  readonly #metrics: DeployMetrics;
  /** This process's last write per Deploy, to tell a cache that lags behind it. */
  readonly #written: OwnWrites<DeployObject>;
  /** Distinguishes this process's claims from those of an earlier one with the same identity. */
  readonly #owner = randomUUID();

  constructor(context: ControllerContext, options: DeployReconcilerOptions = {}) {
    this.#context = context;
    const { client, clock, logger, fetch, secrets } = context;
    this.#writer = new MaskedStatusWriter<DeployStatus>({ client, resource: DEPLOYS, clock, fieldManager: context.fieldManager, secretMask: context.secretMask });
    this.#written = new OwnWrites<DeployObject>({ client, resource: DEPLOYS });
    const providerLogger = logger.child({ component: 'deploy-provider' });
    const providers = options.providers ?? [
      new KubernetesProvider({ kube: client, clock, logger: providerLogger }),
      new RailwayProvider({ fetch, clock, logger: providerLogger, secrets }),
      new WebhookProvider({ fetch, clock, logger: providerLogger, secrets }),
    ];
    this.#providers = new Map(providers.map((provider) => [provider.name, provider]));
    this.#metrics = new DeployMetrics(context.registry);
    this.#workflows = new DeployWorkflows({
      clock,
      events: context.events,
      breakers: context.breakers,
      secrets,
      health: new HttpHealthChecker({ fetch, clock }),
      audit: context.audit,
      client,
      fieldManager: context.fieldManager,
      identity: context.identity,
      rollbackRetry: context.retry.critical,
      tuning: options.tuning ?? {},
    });
  }

  async reconcile(cached: DeployObject, context: ReconcileContext): Promise<Action> {
    // A copy older than this process's last write would fail its own writes with 409 Conflict, and hand the engine
    // a snapshot older than its last save (ADR 005).
    const object = await this.#written.latest(cached, context.signal);
    if (object === undefined) return Action.done();
    const { client, fieldManager } = this.#context;
    return withResourceFinalizer({ client, resource: DEPLOYS, fieldManager, signal: context.signal }, object, {
      apply: (live) => this.#apply(live, context),
      cleanup: (deleting) => this.#cleanup(deleting, context),
    });
  }

  async #apply(object: DeployObject, context: ReconcileContext): Promise<Action> {
    const { clock, engine, retry } = this.#context;
    const generation = object.metadata.generation ?? 0;
    let spec: DeploySpec;
    try {
      spec = deploySpecOf(object);
    } catch (error) {
      const terminal = findTerminalError(error);
      if (terminal !== undefined) {
        const stalled: ResourceState = { kind: 'stalled', phase: 'Failed', reason: terminal.reason, message: terminal.message };
        this.#written.remember(await this.#writer.update(object, (status) => withState(status, stalled, generation, clock.now()), { signal: context.signal }));
      }
      throw error;
    }
    if (spec.suspend) {
      this.#written.remember(await this.#writer.update(object, (status) => withState(status, suspendedState(), generation, clock.now()), { signal: context.signal }));
      return Action.done();
    }

    // A run belongs to the spec that started it: a generation that only toggled `suspend` carries on with it.
    const identity = deployRunOf(object.metadata.uid ?? '', generation, spec, object.status?.workflow?.id);
    const resource = { ...workflowResourceOf(object, DEPLOY_KIND), generation: identity.generation };
    const runId = deployRunId(resource.uid, identity);
    const provider = this.#providers.get(providerName(spec));
    if (provider === undefined) throw new Error(`no ${providerName(spec)} provider is configured`);
    const target = { namespace: resource.namespace, name: resource.name, spec };
    const stored = withApprovalDue(snapshotOf(object.status?.workflow), object);
    const stalled = stored?.workflow.id === runId && failedAtValidate(stored);
    // Whatever the provider answers may quote its credentials: the mask must know them before any step runs. A run
    // that failed at validate learns them below, or runs no step.
    if (!stalled) for (const secretRef of secretRefsOf(spec)) await this.#context.secrets.learn(resource.namespace, secretRef, context.signal);
    // A run that failed at validate goes on once what it found missing is there (a Secret created, say).
    const reopen = stalled && (await this.#workflows.namedExists({ spec, target, provider }, context.signal));
    const persisted = reopen ? reopenedAtValidate(stored) : stored;
    const recorded = draftOf(object.status, runId, spec, clock.now());
    // The Stalled reason in the status is the reopened run's old failure's, not a reason for the next one.
    const draft = reopen ? { ...recorded, recordedFailureReason: undefined } : recorded;
    const ref = resourceRefOf(resource, DEPLOYS.plural);
    const store = new ResourceStatusStore<DeployObject, DeployStatus>({
      writer: this.#writer,
      object,
      persisted,
      signal: context.signal,
      compose: (current, snapshot) => deployStatus(current, snapshot, draft, spec, generation, clock.now()),
      ...(spec.compliance.sensitive
        ? { beforeSave: auditTrail(this.#context.audit, { resource: ref, generation, actor: this.#context.identity, details: { version: spec.version, provider: provider.name, category: spec.compliance.category } }) }
        : {}),
    });
    const run: DeployRun = { object, spec, target, provider, draft, store, about: { resource: ref, correlationId: runId } };
    let result: RunResult;
    try {
      result = await engine.run(this.#workflows.for(spec), {
        resource,
        ...(identity.label === undefined ? {} : { run: identity.label }),
        input: run,
        persisted,
        store,
        retry: spec.retryPolicy === 'critical' ? retry.critical : retry.default,
        signal: context.signal,
      });
      // A run that finished in an earlier reconcile saves nothing, nor does one whose next step is not due yet; a
      // generation that only toggled suspend since then still needs its phase and conditions written, at once (the
      // status writer sends nothing when they are the same). Only then: a run waiting on a dependency that is out
      // would have its DependencyUnavailable reason recomposed away (that note lives for the reconcile that met it).
      const resumed = object.status?.phase === SUSPENDED;
      if (store.lastSnapshot !== undefined && store.lastSnapshot === persisted && (result.state !== 'running' || resumed)) await store.refresh();
    } finally {
      // Also when a step or a save failed: what was saved before it is what the next reconcile must start from.
      this.#written.remember(store.object);
    }
    const state = deployState(result.snapshot, draft, spec);
    if (finishedNow(persisted, result)) this.#announce(run, result, state, context.logger.child({ correlationId: runId }));
    // A run that finished earlier leaves the annotation alone: it may be an approval given ahead for the next spec.
    const approved = stepOf(result.snapshot.workflow.steps, STEP.approve)?.state === 'Succeeded';
    if (approved && (result.state === 'running' || finishedNow(persisted, result))) await this.#workflows.consumeApproval(object, draft.approval?.approvedBy);
    if (result.state === 'failed' && failedAtValidate(result.snapshot)) {
      // Not terminal: what validate found missing may appear, and nothing watches for it (the operator may not list
      // or watch Secrets): it is looked for again, sooner after a recent failure, at the latest every 5 minutes.
      const failedAt = stepOf(result.snapshot.workflow.steps, STEP.validate)?.finishedAt;
      return Action.requeueAfter(this.#workflows.validateRecheckMs(failedAt === undefined ? 0 : clock.now() - Date.parse(failedAt)));
    }
    return outcomeAction(persisted, result, state);
  }

  /** Events and counters of a run that finished in this reconcile. */
  #announce(run: DeployRun, result: RunResult, state: ResourceState, logger: Logger): void {
    const { spec, draft, about, provider } = run;
    const target = { service: spec.service, version: spec.version, provider: provider.name };
    const startedAt = result.snapshot.workflow.startedAt;
    const durationMs = startedAt === undefined ? 0 : Math.max(0, this.#context.clock.now() - Date.parse(startedAt));
    const rollback = stepOf(result.snapshot.workflow.steps, STEP.rollback);
    const rolledBack = rollback !== undefined && rollback.state !== 'Pending';
    try {
      if (rolledBack) this.#metrics.rollbackFinished(provider.name, draft.rollback?.reason ?? 'ProviderFailed');
      if (result.state === 'succeeded') {
        this.#metrics.deployFinished(provider.name, 'succeeded');
        this.#context.events.emit('deploy.succeeded', about, { ...target, durationMs, ...(draft.providerRef === undefined ? {} : { providerRef: draft.providerRef.id }) });
      } else if (state.phase === 'RolledBack') {
        this.#metrics.deployFinished(provider.name, 'rolled_back');
        const restored = draft.previous?.version;
        this.#context.events.emit('deploy.rolledback', about, {
          ...target,
          reason: draft.rollback?.reason ?? 'ProviderFailed',
          message: draft.rollback?.message ?? state.message,
          ...(restored === undefined || restored === UNKNOWN_VERSION || restored === '' ? {} : { restoredVersion: restored }),
        });
      } else {
        this.#metrics.deployFinished(provider.name, 'failed');
        this.#context.events.emit('deploy.failed', about, { ...target, step: result.state === 'failed' ? result.failedStep : STEP.finalize, message: state.message });
      }
    } catch (error) {
      logger.error({ err: error }, 'deploy outcome could not be announced');
    }
    logger.info({ phase: state.phase, reason: state.reason, durationMs }, 'deploy run finished');
  }

  /**
   * Deletion: the run stops where it is. With `rollback.onDelete`, a run that changed the target and did not
   * finish is rolled back first (once per generation, through the provider's breaker), so the finalizer stays
   * until that rollout is done. Sensitive Deploys record the deletion.
   */
  async #cleanup(object: DeployObject, context: ReconcileContext): Promise<Action> {
    const workflow = object.status?.workflow;
    const inFlight = workflow !== undefined && workflow.finishedAt === undefined ? workflow.steps.find((entry) => entry.state !== 'Succeeded' && entry.state !== 'Skipped') : undefined;
    let spec: DeploySpec | undefined;
    try {
      spec = deploySpecOf(object);
    } catch {
      // An unreadable spec has nothing to roll back or audit.
    }
    let rolledBack = false;
    const deployed = inFlight !== undefined && workflow !== undefined && stepOf(workflow.steps, STEP.deploy)?.state === 'Succeeded';
    const restored = workflow !== undefined && stepOf(workflow.steps, STEP.rollback)?.state === 'Succeeded';
    if (spec !== undefined && spec.rollback.onDelete && deployed && !restored) {
      const action = await this.#rollbackOnDelete(object, spec, context);
      if (action !== undefined) return action;
      rolledBack = true;
    }
    if (spec?.compliance.sensitive === true) {
      const resource = workflowResourceOf(object, DEPLOY_KIND);
      await this.#context.audit.append({
        resource: resourceRefOf(resource, DEPLOYS.plural),
        actor: this.#context.identity,
        action: 'deploy.deleted',
        outcome: 'Deleted',
        generation: resource.generation,
        ...(workflow === undefined ? {} : { correlationId: workflow.id }),
        message:
          inFlight === undefined
            ? 'deleted; no run in flight'
            : `deleted while step ${inFlight.name} was ${inFlight.state}; the run stops there${rolledBack ? ' and what it deployed was rolled back' : ' and nothing is rolled back'}`,
      });
    }
    context.logger.info({ inFlightStep: inFlight?.name, rolledBack }, 'deploy deleted; its run stops here');
    this.#written.forget(object);
    return Action.done();
  }

  /**
   * Restores `status.previous` for a Deploy being deleted; undefined once done (or impossible), a requeue while the
   * rollback's rollout runs or its provider is out. A rollback that cannot be made does not hold the deletion.
   */
  async #rollbackOnDelete(object: DeployObject, spec: DeploySpec, context: ReconcileContext): Promise<Action | undefined> {
    const { breakers, idempotency, events, clock, identity } = this.#context;
    const provider = this.#providers.get(providerName(spec));
    const previous = object.status?.previous;
    const resource = workflowResourceOf(object, DEPLOY_KIND);
    if (provider === undefined || previous === undefined) {
      context.logger.warn({ provider: provider?.name }, 'deleted deploy cannot be rolled back: nothing was recorded to restore');
      return undefined;
    }
    const target = { namespace: resource.namespace, name: resource.name, spec };
    const breaker = breakers.get(`provider:${provider.name}`);
    const current = object.status?.providerRef;
    try {
      const { result: ref } = await idempotentCall(
        // Keyed by the generation of the run being undone: the deletion itself bumps metadata.generation.
        { store: idempotency, key: idempotencyKey({ uid: resource.uid, generation: runGenerationOf(object) ?? object.status?.observedGeneration ?? resource.generation, step: 'delete', unit: STEP.rollback }), owner: `${identity}/${this.#owner}`, claimTtlMs: 5 * 60_000, breaker, signal: context.signal },
        (key, signal) => provider.rollback({ target, previous, idempotencyKey: key, ...(current === undefined ? {} : { current }), ...(signal === undefined ? {} : { signal }) }),
      );
      if (ref !== undefined && ref !== null) {
        const rollout = await breaker.execute(() => provider.observe({ target, ref, signal: context.signal }));
        if (rollout.state === 'progressing') return Action.requeueAfter(1_000);
        if (rollout.state === 'failed') throw new NonRetryableError(`the rollback's rollout failed: ${rollout.message}`);
      }
    } catch (error) {
      const failure = classifyFailure(error);
      if (failure.kind === 'deferred') return Action.requeueAfter(Math.max(1, failure.retryAfterMs ?? 1_000));
      if (failure.kind !== 'permanent') throw error;
      context.logger.error({ err: error }, 'deleted deploy could not be rolled back; letting it go');
      return undefined;
    }
    this.#metrics.rollbackFinished(provider.name, 'DeployDeleted');
    const restoredVersion = previous.version === UNKNOWN_VERSION || previous.version === '' ? {} : { restoredVersion: previous.version };
    try {
      events.emit('deploy.rolledback', { resource: resourceRefOf(resource, DEPLOYS.plural), correlationId: object.status?.workflow?.id ?? '' }, {
        service: spec.service,
        version: spec.version,
        provider: provider.name,
        reason: 'DeployDeleted',
        message: `the Deploy was deleted at ${new Date(clock.now()).toISOString()} before its run finished`,
        ...restoredVersion,
      });
    } catch (error) {
      context.logger.error({ err: error }, 'deploy outcome could not be announced');
    }
    return undefined;
  }
}
