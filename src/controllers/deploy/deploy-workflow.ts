// The Deploy workflow: validate → approve → deploy (rollback as its compensation) → verify → finalize (ADR 010).
import type { DeploySpec } from '../../api/deploy.ts';
import { APPROVED_BY_ANNOTATION } from '../../api/group-version.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { AuditLog } from '../../events/audit-log.ts';
import type { DomainEvents, EventAbout } from '../../events/domain-events.ts';
import type { ResourceRef } from '../../events/resource-ref.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { DeployProvider, DeployTarget } from '../../providers/deploy/deploy-provider.ts';
import type { HealthChecker } from '../../providers/health/health-checker.ts';
import { isInvalidSpec } from '../../providers/provider-error.ts';
import type { SecretReader, SecretRef } from '../../providers/secret-reader.ts';
import type { CircuitBreakerRegistry } from '../../resilience/circuit-breaker-registry.ts';
import { NonRetryableError } from '../../resilience/classify-failure.ts';
import type { Clock } from '../../resilience/clock.ts';
import type { RetryPolicy } from '../../resilience/retry.ts';
import { done, fail, step, wait, type Step, type StepContext, type StepOutcome } from '../../workflow/step.ts';
import { defineWorkflow, type Workflow } from '../../workflow/workflow.ts';
import { blockingReason, findCause } from '../provider-failure.ts';
import type { ResourceStatusStore } from '../resource-status-store.ts';
import { INVALID_SPEC } from '../resource-state.ts';
import { DEPLOYS, type DeployObject } from './deploy-resource.ts';
import { providerName, restoredLabel, STEP, stepOf, UNKNOWN_VERSION, type DeployDraft } from './deploy-status.ts';
import type { DeployStatus } from '../../api/deploy.ts';

/** Timings of the workflow; the defaults suit production, tests shorten them. */
export interface DeployTuning {
  /** Rollouts are polled every quarter of the time they have taken, within these bounds. Default 500 ms to 10 s. */
  readonly rolloutPollMs?: { readonly minMs: number; readonly maxMs: number };
  /** A waiting approval is looked at this often even without a change of its annotation. Default 10 min. */
  readonly approvalRecheckMs?: number;
  /** How long verification (and a rollback's rollout) may take without a health check. Default 600 s. */
  readonly verifyTimeoutSeconds?: number;
  /** Upper bound of one health probe. Default 10 s. */
  readonly probeTimeoutMs?: number;
  /**
   * A run that failed at validate (a Secret, key, Deployment or container it names is missing) looks for them again
   * after a quarter of the time since it failed, within these bounds. Default 5 s to 5 min.
   */
  readonly validateRecheckMs?: { readonly minMs: number; readonly maxMs: number };
}

/** What the steps use besides the run's input; one per controller. */
export interface DeployServices {
  readonly clock: Clock;
  readonly events: DomainEvents;
  readonly breakers: CircuitBreakerRegistry;
  readonly secrets: SecretReader;
  readonly health: HealthChecker;
  readonly audit: AuditLog;
  readonly client: Pick<KubeClient, 'patch'>;
  readonly fieldManager: string;
  /** This replica, the actor of automatic audit records. */
  readonly identity: string;
  /** Rollbacks must get through: they retry under the critical policy whatever the spec says. */
  readonly rollbackRetry: RetryPolicy;
  readonly tuning: DeployTuning;
}

/** One reconcile's input to the run. */
export interface DeployRun {
  readonly object: DeployObject;
  readonly spec: DeploySpec;
  readonly target: DeployTarget;
  readonly provider: DeployProvider;
  readonly draft: DeployDraft;
  readonly store: ResourceStatusStore<DeployObject, DeployStatus>;
  /** The Deploy and the run id, for events and audit records. */
  readonly about: EventAbout & { readonly resource: ResourceRef };
}

const DEFAULT_POLL = { minMs: 500, maxMs: 10_000 };
const DEFAULT_VALIDATE_RECHECK = { minMs: 5_000, maxMs: 300_000 };

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The image a spec deploys, when its provider deploys images. */
export function imageOf(spec: DeploySpec): string | undefined {
  return spec.provider.kubernetes?.image ?? spec.provider.railway?.image;
}

/** The Secret keys a Deploy's provider uses. */
export function secretRefsOf(spec: DeploySpec): SecretRef[] {
  return [spec.provider.railway?.tokenSecretRef, spec.provider.webhook?.secretRef].filter((ref): ref is SecretRef => ref !== undefined);
}

/** Start of a step (or of the run) in this run, from the last snapshot written. */
function startedAtMs(run: DeployRun, stepName?: string): number | undefined {
  const workflow = run.store.lastSnapshot?.workflow;
  if (workflow === undefined) return undefined;
  const time = stepName === undefined ? workflow.startedAt : stepOf(workflow.steps, stepName)?.startedAt;
  return time === undefined ? undefined : Date.parse(time);
}

/**
 * When a step's current stretch of work began: its start, or the last resume of the Deploy after it, whichever is
 * later. Its timeout counts from then, so time spent suspended does not count against it.
 */
function workingSinceMs(run: DeployRun, stepName: string): number | undefined {
  const startedMs = startedAtMs(run, stepName);
  const resumedMs = run.draft.resumedAtMs;
  return startedMs === undefined || resumedMs === undefined ? startedMs : Math.max(startedMs, resumedMs);
}

/**
 * The Deploy workflows, one per combination of the approval gate and the rollback: a step or compensation
 * that does not apply is not part of the run at all.
 */
export class DeployWorkflows {
  readonly #services: DeployServices;
  readonly #workflows = new Map<string, Workflow<DeployRun>>();

  constructor(services: DeployServices) {
    this.#services = services;
    for (const approval of [false, true]) {
      for (const rollback of [false, true]) {
        const deploy = this.#deployStep(rollback ? this.#rollbackStep() : undefined);
        const steps = [this.#validateStep(), ...(approval ? [this.#approveStep()] : []), deploy, this.#verifyStep(), this.#finalizeStep()];
        this.#workflows.set(`${approval}/${rollback}`, defineWorkflow<DeployRun>('deploy', steps));
      }
    }
  }

  /** The workflow a spec runs. */
  for(spec: DeploySpec): Workflow<DeployRun> {
    const workflow = this.#workflows.get(`${spec.compliance.requireApproval}/${spec.rollback.enabled}`);
    if (workflow === undefined) throw new Error('no Deploy workflow for this spec');
    return workflow;
  }

  /** Calls the provider outside a side effect (reads, polls) through its breaker. */
  #throughBreaker<T>(provider: DeployProvider, call: () => Promise<T>): Promise<T> {
    return this.#services.breakers.get(`provider:${provider.name}`).execute(() => call());
  }

  /** A step whose failures and deferrals leave a note in the draft, for the conditions of the save that follows. */
  #step(name: string, run: (context: StepContext<DeployRun>) => Promise<StepOutcome>, extra: Partial<Step<DeployRun>> = {}): Step<DeployRun> {
    return step<DeployRun>({
      name,
      ...extra,
      run: async (context) => {
        const { draft } = context.input;
        draft.blocked = undefined;
        draft.failure = undefined;
        try {
          return await run(context);
        } catch (error) {
          const blocked = blockingReason(error);
          if (blocked !== undefined) draft.blocked = { reason: blocked, message: errorText(error) };
          else if (findCause(error, isInvalidSpec) !== undefined) draft.failure = { reason: INVALID_SPEC, message: errorText(error) };
          throw error;
        }
      },
    });
  }

  #validateStep(): Step<DeployRun> {
    return this.#step(STEP.validate, async ({ input, signal }) => {
      await this.#checkNamed(input, signal);
      return done(undefined, 'The spec is valid; what it names exists');
    });
  }

  /** Reads what the spec names outside itself: the Secret keys, and for `kubernetes` the Deployment and container. */
  async #checkNamed(run: Pick<DeployRun, 'spec' | 'target' | 'provider'>, signal: AbortSignal): Promise<void> {
    const { spec, target, provider } = run;
    for (const ref of secretRefsOf(spec)) await this.#services.secrets.read(target.namespace, ref, signal);
    // The kubernetes target is in the cluster: its Deployment and container must exist before anything is asked.
    if (spec.provider.kubernetes !== undefined) await this.#throughBreaker(provider, () => provider.recordPrevious({ target, signal }));
  }

  /**
   * Whether what validate checks is there now, for a run that failed at validate: the reconciler reopens the run
   * when it is, and otherwise looks again after {@link DeployWorkflows.validateRecheckMs}. Values read are masked
   * as validate's are, and not kept. Any failure (still missing, or the API server or breaker out) is a no.
   */
  async namedExists(run: Pick<DeployRun, 'spec' | 'target' | 'provider'>, signal: AbortSignal): Promise<boolean> {
    try {
      await this.#checkNamed(run, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** How long a run that failed at validate `sinceFailedMs` ago waits before {@link DeployWorkflows.namedExists} asks again. */
  validateRecheckMs(sinceFailedMs: number): number {
    const { minMs, maxMs } = this.#services.tuning.validateRecheckMs ?? DEFAULT_VALIDATE_RECHECK;
    return Math.min(maxMs, Math.max(minMs, Math.floor(sinceFailedMs / 4)));
  }

  #approveStep(): Step<DeployRun> {
    return this.#step(STEP.approve, async ({ input, resource }) => {
      const { spec, draft, object, about } = input;
      const { clock, events, audit, tuning } = this.#services;
      const nowIso = new Date(clock.now()).toISOString();
      const approvedBy = object.metadata.annotations?.[APPROVED_BY_ANNOTATION]?.trim().slice(0, 253) ?? '';
      if (approvedBy === '') {
        if (draft.approval?.requestedAt === undefined) {
          draft.approval = { required: true, requestedAt: nowIso };
          events.emit('approval.requested', about, { service: spec.service, version: spec.version, category: spec.compliance.category });
        }
        return wait(tuning.approvalRecheckMs ?? 600_000, `Waiting for the ${APPROVED_BY_ANNOTATION} annotation`);
      }
      await audit.append({
        resource: about.resource,
        actor: approvedBy,
        action: 'approval.granted',
        step: STEP.approve,
        outcome: 'Approved',
        generation: resource.generation,
        ...(about.correlationId === undefined ? {} : { correlationId: about.correlationId }),
        details: { version: spec.version, category: spec.compliance.category },
      });
      draft.approval = { required: true, requestedAt: draft.approval?.requestedAt ?? nowIso, approvedBy, approvedAt: nowIso };
      events.emit('approval.granted', about, { service: spec.service, version: spec.version, approvedBy });
      return done(undefined, `Approved by ${approvedBy}`);
    });
  }

  /**
   * Removes the approval annotation once the run's approval is saved in status, so the next generation needs an
   * approval of its own. Never earlier: with the annotation gone and the status write that records the approval
   * failed (a conflict, an outage, the process killed), the gate would wait for an approval already given. The
   * deploy step calls it first, each time it runs (the approval is saved by then), and the reconciler again
   * while the run goes on and in the reconcile that finishes it. Only the recorded approver's annotation is
   * removed, and the JSON patch tests the value first: an approval changed meanwhile is left in place. Best
   * effort: a failed removal is tried again by the next reconcile of the run.
   */
  async consumeApproval(object: DeployObject, recordedApprover: string | undefined): Promise<void> {
    const current = object.metadata.annotations?.[APPROVED_BY_ANNOTATION];
    if (current === undefined || recordedApprover === undefined || current.trim().slice(0, 253) !== recordedApprover) return;
    const path = `/metadata/annotations/${APPROVED_BY_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    try {
      await this.#services.client.patch(DEPLOYS, object.metadata.name ?? '', [{ op: 'test', path, value: current }, { op: 'remove', path }], {
        type: 'json',
        namespace: object.metadata.namespace ?? '',
        fieldManager: this.#services.fieldManager,
      });
    } catch (error) {
      if (isNotFound(error)) throw error;
      // Changed or gone meanwhile (a failed `test`), or the write failed: the next reconcile looks again.
    }
  }

  #deployStep(compensation: Step<DeployRun> | undefined): Step<DeployRun> {
    return this.#step(
      STEP.deploy,
      async (context) => {
        const { input, signal } = context;
        const { spec, draft, provider, target, about, store } = input;
        await this.consumeApproval(input.object, draft.approval?.approvedBy);
        const runStartedMs = startedAtMs(input) ?? 0;
        if (draft.previous === undefined || Date.parse(draft.previous.recordedAt) < runStartedMs) {
          // What runs now is recorded, and saved, before anything changes: it is what a rollback restores.
          const recorded = await this.#throughBreaker(provider, () => provider.recordPrevious({ target, signal }));
          draft.previous = { version: draft.current?.version ?? UNKNOWN_VERSION, ...recorded };
          draft.health = undefined;
          await store.refresh();
          const previousVersion = draft.previous.version === UNKNOWN_VERSION ? {} : { previousVersion: draft.previous.version };
          this.#services.events.emit('deploy.started', about, { service: spec.service, version: spec.version, provider: provider.name, ...previousVersion });
        }
        const previous = draft.previous;
        const ref = await context.sideEffect('deploy', (key, callSignal) => provider.deploy({ target, idempotencyKey: key, previous, ...(callSignal === undefined ? {} : { signal: callSignal }) }), {
          breaker: `provider:${provider.name}`,
        });
        draft.providerRef = ref;
        draft.revision = (draft.revision ?? 0) + 1;
        return done(undefined, `Rollout ${ref.id} started with ${provider.name}`);
      },
      compensation === undefined ? {} : { compensation },
    );
  }

  #verifyStep(): Step<DeployRun> {
    return this.#step(STEP.verify, async ({ input, signal }) => {
      const { spec, draft, provider, target } = input;
      const { clock, health, tuning } = this.#services;
      const nowMs = clock.now();
      const startedMs = workingSinceMs(input, STEP.verify) ?? nowMs;
      const check = spec.healthCheck;
      const timeoutSeconds = check?.timeoutSeconds ?? tuning.verifyTimeoutSeconds ?? 600;
      const overdue = nowMs - startedMs >= timeoutSeconds * 1000;

      if (draft.health === undefined) {
        const ref = draft.providerRef;
        if (ref === undefined) throw new NonRetryableError('the deploy step recorded no rollout to verify');
        const rollout = await this.#throughBreaker(provider, () => provider.observe({ target, ref, signal }));
        if (rollout.state === 'failed') return this.#verifyFailed(input, provider.name === 'kubernetes' ? 'RolloutDeadlineExceeded' : 'ProviderFailed', rollout.message);
        if (rollout.state === 'progressing') {
          if (overdue) return this.#verifyFailed(input, 'RolloutDeadlineExceeded', `The rollout did not finish within ${timeoutSeconds} s: ${rollout.message}`);
          return wait(this.#pollDelayMs(nowMs - startedMs), rollout.message);
        }
        if (check === undefined) return done(undefined, rollout.message);
        // From here on the rollout is done: `health` present means the probes have started.
        draft.health = { consecutiveSuccesses: 0, consecutiveFailures: 0 };
      }
      if (check === undefined) return done(undefined, 'Rolled out');

      const probeTimeoutMs = Math.min(tuning.probeTimeoutMs ?? 10_000, check.intervalSeconds * 1000);
      const probe = await health.probe({ url: check.url, expectStatus: check.expectStatus, timeoutMs: probeTimeoutMs, ...(signal === undefined ? {} : { signal }) });
      const before = draft.health ?? { consecutiveSuccesses: 0, consecutiveFailures: 0 };
      const counts = probe.healthy ? { consecutiveSuccesses: before.consecutiveSuccesses + 1, consecutiveFailures: 0 } : { consecutiveSuccesses: 0, consecutiveFailures: before.consecutiveFailures + 1 };
      draft.health = { ...counts, lastProbe: probe };
      const answer = probe.statusCode === undefined ? (probe.message ?? 'no answer') : `HTTP ${probe.statusCode}${probe.message === undefined ? '' : `: ${probe.message}`}`;
      if (counts.consecutiveSuccesses >= check.successThreshold) return done(undefined, `Healthy: ${counts.consecutiveSuccesses} probes in a row answered ${check.expectStatus}`);
      if (counts.consecutiveFailures >= check.failureThreshold) return this.#verifyFailed(input, 'HealthCheckFailed', `Health check failed ${counts.consecutiveFailures} times in a row (${answer})`);
      if (overdue) return this.#verifyFailed(input, 'HealthCheckFailed', `Not healthy within ${timeoutSeconds} s (last probe: ${answer})`);
      return wait(check.intervalSeconds * 1000, `Health check: ${counts.consecutiveSuccesses} of ${check.successThreshold} healthy probes in a row (last: ${answer})`);
    });
  }

  /** Verification failed for good: say why, and start the rollback's record when a rollback follows. */
  #verifyFailed(run: DeployRun, reason: string, message: string): StepOutcome {
    const { draft, spec } = run;
    draft.failure = { reason, message };
    if (spec.rollback.enabled) {
      const previous = draft.previous;
      draft.rollback = {
        state: 'InProgress',
        startedAt: new Date(this.#services.clock.now()).toISOString(),
        reason,
        message: message.slice(0, 1024),
        toVersion: previous?.version ?? UNKNOWN_VERSION,
        ...(previous?.image === undefined ? {} : { toImage: previous.image }),
      };
    }
    return fail(new NonRetryableError(message), { retryable: false });
  }

  #rollbackStep(): Step<DeployRun> {
    return this.#step(
      STEP.rollback,
      async (context) => {
        const { input, signal } = context;
        const { draft, provider, target, spec } = input;
        const { clock, tuning } = this.#services;
        const nowMs = clock.now();
        const previous = draft.previous;
        if (draft.rollback === undefined || Date.parse(draft.rollback.startedAt) < (startedAtMs(input) ?? 0)) {
          draft.rollback = {
            state: 'InProgress',
            startedAt: new Date(nowMs).toISOString(),
            reason: draft.failure?.reason ?? 'ProviderFailed',
            message: (draft.failure?.message ?? 'the rollout failed').slice(0, 1024),
            toVersion: previous?.version ?? UNKNOWN_VERSION,
            ...(previous?.image === undefined ? {} : { toImage: previous.image }),
          };
        }
        if (previous === undefined) throw new NonRetryableError('nothing was recorded before the deploy; there is nothing to roll back to');
        const current = draft.providerRef;
        const ref = await context.sideEffect(
          'rollback',
          (key, callSignal) => provider.rollback({ target, previous, idempotencyKey: key, ...(current === undefined ? {} : { current }), ...(callSignal === undefined ? {} : { signal: callSignal }) }),
          { breaker: `provider:${provider.name}` },
        );
        // A side effect's recorded result is JSON: a rollback without a rollout to follow comes back as null.
        if (ref !== undefined && ref !== null) {
          const rollout = await this.#throughBreaker(provider, () => provider.observe({ target, ref, signal }));
          if (rollout.state === 'failed') throw new NonRetryableError(`the rollback's rollout failed: ${rollout.message}`);
          if (rollout.state === 'progressing') {
            const startedMs = workingSinceMs(input, STEP.rollback) ?? nowMs;
            const timeoutSeconds = spec.healthCheck?.timeoutSeconds ?? tuning.verifyTimeoutSeconds ?? 600;
            if (nowMs - startedMs >= timeoutSeconds * 1000) throw new NonRetryableError(`the rollback's rollout did not finish within ${timeoutSeconds} s: ${rollout.message}`);
            return wait(this.#pollDelayMs(nowMs - startedMs), `Rolling back to ${restoredLabel(previous)}: ${rollout.message}`);
          }
          draft.providerRef = ref;
        }
        draft.current = { version: previous.version, ...(previous.image === undefined ? {} : { image: previous.image }), since: new Date(nowMs).toISOString() };
        return done(undefined, `Restored ${restoredLabel(previous)}`);
      },
      { retry: this.#services.rollbackRetry },
    );
  }

  #finalizeStep(): Step<DeployRun> {
    return this.#step(STEP.finalize, async ({ input }) => {
      const { spec, draft } = input;
      const image = imageOf(spec);
      draft.current = { version: spec.version, ...(image === undefined ? {} : { image }), since: new Date(this.#services.clock.now()).toISOString() };
      return done(undefined, `${spec.service} ${spec.version} is running on ${providerName(spec)}`);
    });
  }

  #pollDelayMs(elapsedMs: number): number {
    const { minMs, maxMs } = this.#services.tuning.rolloutPollMs ?? DEFAULT_POLL;
    return Math.min(maxMs, Math.max(minMs, Math.floor(elapsedMs / 4)));
  }
}
