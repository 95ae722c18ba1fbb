// The summary every kind's status leads with: a phase and the kstatus conditions Argo CD, Flux and kstatus read (ADR 008).
import type { Condition } from '../api/status.ts';
import { setCondition, type Condition as RuntimeCondition } from '../runtime/conditions.ts';

/** Reason of a condition that does not hold (Reconciling or Stalled written False). */
export const IDLE_REASON = 'Idle';
/** Reconciling reason of a step waiting on a dependency whose breaker is open, or on an unreachable store. */
export const DEPENDENCY_UNAVAILABLE = 'DependencyUnavailable';
/** Ready reason (and phase) of a resource whose `spec.suspend` is true. */
export const SUSPENDED = 'Suspended';
/** Stalled reason of a spec the operator cannot act on (a missing Secret, a target that does not exist). */
export const INVALID_SPEC = 'InvalidSpec';

/**
 * Where a resource stands, as the conditions say it:
 * - `progressing`: work in progress (Reconciling=True);
 * - `ready`: done and healthy (Ready=True);
 * - `stalled`: cannot progress without a spec change or a person (Stalled=True);
 * - `suspended`: `spec.suspend` (Ready=False reason Suspended; neither Reconciling nor Stalled).
 */
export interface ResourceState {
  readonly kind: 'progressing' | 'ready' | 'stalled' | 'suspended';
  readonly phase: string;
  /** CamelCase reason of the deciding condition (and of Ready). */
  readonly reason: string;
  readonly message: string;
}

/** The state of a suspended resource. */
export function suspendedState(message = 'spec.suspend is true'): ResourceState {
  return { kind: 'suspended', phase: SUSPENDED, reason: SUSPENDED, message };
}

/**
 * The three kstatus conditions of `state`: Ready always; Reconciling and Stalled True only when they hold and
 * False (reason `Idle`) otherwise, never both True. Each is stamped with `generation`; `lastTransitionTime`
 * changes only when a condition's status does, so writing the same state again is a no-op.
 */
export function kstatusConditions(existing: readonly Condition[] | undefined, state: ResourceState, generation: number, nowMs: number): Condition[] {
  const message = state.message.length <= 32_768 ? state.message : `${state.message.slice(0, 32_767)}…`;
  const holding = (type: 'Reconciling' | 'Stalled', holds: boolean) =>
    holds ? { type, status: 'True' as const, reason: state.reason, message, observedGeneration: generation } : { type, status: 'False' as const, reason: IDLE_REASON, message: '', observedGeneration: generation };
  let conditions = setCondition(existing as readonly RuntimeCondition[] | undefined, { type: 'Ready', status: state.kind === 'ready' ? 'True' : 'False', reason: state.reason, message, observedGeneration: generation }, nowMs);
  conditions = setCondition(conditions, holding('Reconciling', state.kind === 'progressing'), nowMs);
  conditions = setCondition(conditions, holding('Stalled', state.kind === 'stalled'), nowMs);
  return conditions;
}

/** The status fields every kind leads with. */
export interface StatusSummary {
  readonly observedGeneration?: number | undefined;
  readonly phase?: string | undefined;
  readonly conditions?: readonly Condition[] | undefined;
}

/** `status` with `observedGeneration`, `phase` and conditions set for `state`; every other field kept. */
export function withState<S extends StatusSummary>(status: S | undefined, state: ResourceState, generation: number, nowMs: number): S {
  return { ...status, observedGeneration: generation, phase: state.phase, conditions: kstatusConditions(status?.conditions, state, generation, nowMs) } as unknown as S;
}
