// The Deploy's own status fields during a reconcile, and the status (phase, conditions) derived from them and the run's steps.
import type { DeploySpec, DeployStatus, ProviderRef } from '../../api/deploy.ts';
import type { WorkflowStep } from '../../api/status.ts';
import type { DeployPrevious } from '../../providers/deploy/deploy-provider.ts';
import type { WorkflowSnapshot } from '../../workflow/workflow-status-store.ts';
import { presentedWorkflow } from '../resource-status-store.ts';
import { DEPENDENCY_UNAVAILABLE, INVALID_SPEC, SUSPENDED, withState, type ResourceState } from '../resource-state.ts';

/** The Deploy workflow's steps. */
export const STEP = { validate: 'validate', approve: 'approve', deploy: 'deploy', verify: 'verify', rollback: 'rollback', finalize: 'finalize' } as const;

/** `status.previous.version` when no run of this Deploy has finished before (the provider cannot know versions). */
export const UNKNOWN_VERSION = 'unknown';

export type RollbackStatus = NonNullable<DeployStatus['rollback']>;
export type ApprovalStatus = NonNullable<DeployStatus['approval']>;
export type HealthStatus = NonNullable<DeployStatus['health']>;
export type CurrentStatus = NonNullable<DeployStatus['current']>;

/** Why a step waits on a dependency, or why it failed: what the conditions say about it. */
export interface StepNote {
  readonly reason: string;
  readonly message: string;
}

/**
 * The fields of `status` the Deploy's steps own, changed in memory by the steps of one reconcile and written with
 * every save of the run. `blocked` and `failure` are not written as such: they decide the conditions' reason.
 */
export interface DeployDraft {
  revision: number | undefined;
  current: CurrentStatus | undefined;
  previous: DeployPrevious | undefined;
  providerRef: ProviderRef | undefined;
  rollback: RollbackStatus | undefined;
  approval: ApprovalStatus | undefined;
  health: HealthStatus | undefined;
  blocked: StepNote | undefined;
  failure: StepNote | undefined;
  /**
   * The Stalled reason this run's failure was written with (read back from the status): `failure` lives for one
   * reconcile only, and a later one (a new leader's first pass, a retried write) must say the same.
   */
  readonly recordedFailureReason: string | undefined;
  /**
   * When the run last went back to work after a suspension (see {@link draftOf}); the verify and rollback timeouts
   * count from then when it is later than the step's start, so time spent suspended does not count against them.
   */
  readonly resumedAtMs: number | undefined;
}

/**
 * The draft a reconcile of a Deploy that is not suspended starts from: what the status holds, with the per-run
 * fields (`health`, `approval`) started afresh when the status belongs to another run (a new generation).
 *
 * A status that still shows the Deploy Suspended is being resumed by this reconcile: `resumedAtMs` is now, and a
 * verification in progress starts over (`health` afresh: probes before and after a suspension are not in a row).
 * Later reconciles read the resume from the Reconciling condition, which is False while the Deploy is suspended
 * and turns True with the first status written after the resume: its `lastTransitionTime` (for a run that was
 * never suspended, a time no later than the run's start).
 */
export function draftOf(status: DeployStatus | undefined, runId: string, spec: DeploySpec, nowMs: number): DeployDraft {
  const sameRun = status?.workflow?.id === runId;
  const resuming = status?.phase === SUSPENDED;
  const approval = sameRun ? status?.approval : spec.compliance.requireApproval ? { required: true } : undefined;
  const verify = status?.workflow === undefined ? undefined : stepOf(status.workflow.steps, STEP.verify);
  const verifying = verify !== undefined && !FINAL.has(verify.state) && status?.workflow?.finishedAt === undefined;
  const reconciling = status?.conditions?.find((condition) => condition.type === 'Reconciling' && condition.status === 'True');
  return {
    revision: status?.revision,
    current: status?.current,
    previous: status?.previous,
    providerRef: status?.providerRef,
    rollback: status?.rollback,
    approval,
    health: sameRun && !(resuming && verifying) ? status?.health : undefined,
    blocked: undefined,
    failure: undefined,
    recordedFailureReason: sameRun ? status?.conditions?.find((condition) => condition.type === 'Stalled' && condition.status === 'True')?.reason : undefined,
    resumedAtMs: resuming ? nowMs : reconciling === undefined ? undefined : Date.parse(reconciling.lastTransitionTime),
  };
}

/** How the version (or, when unknown, the image) a rollback restores reads in messages. */
export function restoredLabel(previous: Pick<DeployPrevious, 'version' | 'image'> | undefined): string {
  if (previous === undefined) return 'what ran before';
  if (previous.version !== UNKNOWN_VERSION && previous.version !== '') return previous.version;
  return previous.image ?? 'what ran before';
}

const FINAL = new Set(['Succeeded', 'Failed', 'Skipped']);
/** The Stalled reason of a run that failed at a step, when the step did not say more. */
const FAILURE_REASON: Readonly<Record<string, string>> = { validate: INVALID_SPEC, approve: 'ApprovalFailed', deploy: 'DeployFailed', verify: 'VerificationFailed', finalize: 'DeployFailed' };

/** The entry of step `name` in a run's steps, if the run has one. */
export function stepOf(steps: readonly WorkflowStep[], name: string): WorkflowStep | undefined {
  return steps.find((step) => step.name === name);
}

/**
 * Where a Deploy stands, from its run's steps and its draft (ADR 008's phase table):
 * - a finished run is Succeeded, RolledBack (its rollback succeeded) or Failed;
 * - a run with a failed step is RollingBack while its rollback runs (or is about to), Failed when none will;
 * - otherwise the step in progress names the phase: validate → Pending, approve → AwaitingApproval,
 *   deploy → Deploying, verify and finalize → Verifying;
 * - a step waiting on a dependency that is out says so with reason DependencyUnavailable.
 */
export function deployState(snapshot: WorkflowSnapshot, draft: DeployDraft, spec: DeploySpec): ResourceState {
  const { steps, finishedAt } = snapshot.workflow;
  const target = `${spec.service} ${spec.version}`;
  const rollback = stepOf(steps, STEP.rollback);
  const failed = steps.find((step) => step.state === 'Failed' && step.name !== STEP.rollback);
  const restored = restoredLabel(draft.previous);
  const why = draft.rollback?.message ?? draft.failure?.message ?? failed?.message ?? '';

  if (failed !== undefined) {
    if (rollback?.state === 'Succeeded' && finishedAt !== undefined) return { kind: 'stalled', phase: 'RolledBack', reason: 'RolledBack', message: `Rolled back to ${restored}: ${why}` };
    if (rollback?.state === 'Failed') return { kind: 'stalled', phase: 'Failed', reason: 'RollbackFailed', message: `${failed.name} failed (${why}) and the rollback to ${restored} failed: ${rollback.message ?? ''}` };
    const rollingBack = rollback !== undefined || (spec.rollback.enabled && failed.name !== STEP.deploy && stepOf(steps, STEP.deploy)?.state === 'Succeeded');
    if (rollingBack) return progressing(draft, 'RollingBack', `Rolling back to ${restored}: ${why}`);
    return { kind: 'stalled', phase: 'Failed', reason: draft.failure?.reason ?? draft.recordedFailureReason ?? FAILURE_REASON[failed.name] ?? 'DeployFailed', message: `${failed.name} failed: ${failed.message ?? why}` };
  }
  if (finishedAt !== undefined) return { kind: 'ready', phase: 'Succeeded', reason: 'Succeeded', message: `${target} is running${spec.healthCheck === undefined ? '' : ' and healthy'}` };

  const active = steps.find((step) => !FINAL.has(step.state));
  switch (active?.name) {
    case STEP.validate:
      return progressing(draft, 'Pending', active.message ?? 'Validating the spec');
    case STEP.approve:
      return progressing(draft, 'AwaitingApproval', active.message ?? 'Waiting for approval');
    case STEP.deploy:
      return progressing(draft, 'Deploying', active.message ?? `Rolling out ${target} with ${providerName(spec)}`);
    default:
      return progressing(draft, 'Verifying', active?.message ?? `Verifying ${target}`);
  }
}

function progressing(draft: DeployDraft, phase: string, message: string): ResourceState {
  if (draft.blocked !== undefined) return { kind: 'progressing', phase, reason: DEPENDENCY_UNAVAILABLE, message: draft.blocked.message };
  return { kind: 'progressing', phase, reason: phase, message };
}

/** The provider a spec uses. */
export function providerName(spec: DeploySpec): 'kubernetes' | 'railway' | 'webhook' {
  if (spec.provider.kubernetes !== undefined) return 'kubernetes';
  if (spec.provider.railway !== undefined) return 'railway';
  return 'webhook';
}

/**
 * The whole status for a save: the run (a finished run's unreached steps shown Skipped), the draft's fields, the
 * rollback's state as its step says it, and the summary of {@link deployState}. Conditions keep their
 * transition times from `current`.
 */
export function deployStatus(current: DeployStatus | undefined, snapshot: WorkflowSnapshot, draft: DeployDraft, spec: DeploySpec, generation: number, nowMs: number): DeployStatus {
  const rollbackStep = stepOf(snapshot.workflow.steps, STEP.rollback);
  let rollback = draft.rollback;
  if (rollback !== undefined && rollbackStep !== undefined) {
    const state = rollbackStep.state === 'Succeeded' ? 'Succeeded' : rollbackStep.state === 'Failed' ? 'Failed' : 'InProgress';
    const { finishedAt: _finishedAt, ...rest } = rollback;
    rollback = { ...rest, state, ...(state !== 'InProgress' && rollbackStep.finishedAt !== undefined ? { finishedAt: rollbackStep.finishedAt } : {}) };
  }
  const fields: DeployStatus = {
    ...(current?.conditions === undefined ? {} : { conditions: current.conditions }),
    workflow: presentedWorkflow(snapshot.workflow),
    ...(draft.revision === undefined ? {} : { revision: draft.revision }),
    ...(draft.current === undefined ? {} : { current: draft.current }),
    ...(draft.providerRef === undefined ? {} : { providerRef: draft.providerRef }),
    ...(draft.previous === undefined ? {} : { previous: draft.previous }),
    ...(rollback === undefined ? {} : { rollback }),
    ...(draft.approval === undefined ? {} : { approval: draft.approval }),
    ...(draft.health === undefined ? {} : { health: draft.health }),
  };
  return withState(fields, deployState(snapshot, draft, spec), generation, nowMs);
}
