// Steps and fan-out groups: what a workflow is made of, what one run of a step returns, and what it may use.
import type { Clock } from '../resilience/clock.ts';
import type { SideEffectCall } from '../resilience/idempotent-call.ts';
import type { RetryPolicy } from '../resilience/retry.ts';
import type { WorkflowUnit } from './workflow-status-store.ts';
import type { WorkflowResource } from './workflow.ts';

/**
 * The outcome of one run of a step. A step never sleeps: it returns `wait` and the engine asks for a
 * requeue, or `fail` and the engine schedules the retry (or gives up) under the step's policy.
 */
export type StepOutcome =
  | { readonly kind: 'done'; readonly result: unknown; readonly message?: string }
  | { readonly kind: 'wait'; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'fail'; readonly error: unknown; readonly retryable: boolean };

/** The step finished; `result` (JSON) is kept for fan-in when the step is a unit. */
export function done(result?: unknown, message?: string): StepOutcome {
  return message === undefined ? { kind: 'done', result } : { kind: 'done', result, message };
}

/** The step is not finished and wants to be run again in `delayMs` (a poll), without using an attempt. */
export function wait(delayMs: number, reason: string): StepOutcome {
  return { kind: 'wait', delayMs: Math.max(0, delayMs), reason };
}

/** The attempt failed; a retryable failure is tried again under the step's retry policy, another fails the step. */
export function fail(error: unknown, options: { readonly retryable: boolean }): StepOutcome {
  return { kind: 'fail', error, retryable: options.retryable };
}

export interface SideEffectOptions {
  /** The breaker of the dependency called, from the registry (`provider:railway`). */
  readonly breaker?: string;
  /** Bounds the call; the step's attempt timeout by default. */
  readonly timeoutMs?: number;
  /** How long the claim protects the call; by default its timeout plus 30 s, or the engine's claim TTL when it has none. */
  readonly claimTtlMs?: number;
}

/** What a step's run receives. */
export interface StepContext<Input> {
  readonly input: Input;
  readonly resource: WorkflowResource;
  /** The run's id, `<uid>/<generation>`: the correlation id of logs and events. */
  readonly workflowId: string;
  readonly step: string;
  /** The fan-out unit being run, if any. */
  readonly unit: string | undefined;
  /** 1-based; a run resumed from a wait keeps the attempt it waited in. */
  readonly attempt: number;
  /** Aborted when the attempt times out or the reconcile is cancelled. */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  /**
   * Runs an external side effect exactly once for this resource generation, step, unit and `name`:
   * breaker, claim of the idempotency key, call with the key, record of the result. Returns the recorded
   * result (JSON) without calling when it already ran. Throws a deferral (the engine turns it into a
   * wait) when the breaker is open, the key is held by another run, or the store is unreachable.
   */
  sideEffect<T>(name: string, call: SideEffectCall<T>, options?: SideEffectOptions): Promise<T>;
  /** The recorded result of a side effect of this run (`step`, and `name` as given to sideEffect), while it is kept. */
  recordedResult<T>(step: string, name: string, unit?: string): Promise<T | undefined>;
}

interface StepCommon<Input> {
  /** Unique in its workflow, at most 63 characters. */
  readonly name: string;
  /** Decides retries of failed attempts; the run's default policy when absent. */
  readonly retry?: RetryPolicy;
  /** Bounds one run; the retry policy's attempt timeout when absent. */
  readonly timeoutMs?: number;
  /** Undoes this step when a later step fails for good (e.g. rollback of a deploy). Runs as a step of its own. */
  readonly compensation?: Step<Input>;
  /**
   * The status message of a wait the engine imposes when a run is deferred (an open breaker, a claim held by
   * another run, an unreachable store), so a controller can mark the waits it reports; the error's message when
   * absent or undefined.
   */
  deferredMessage?(error: unknown): string | undefined;
}

/** One step: run until done, waiting and retrying across reconciles. */
export interface Step<Input> extends StepCommon<Input> {
  readonly kind: 'step';
  run(context: StepContext<Input>): Promise<StepOutcome>;
}

/** A unit of a fan-out group, identified by a stable id. */
export interface FanOutUnit {
  readonly id: string;
}

/** Why a unit not started must not start now, and when to look at it again. */
export interface UnitHold {
  /** The unit is looked at again after this long, or sooner when the run's snapshot is handed over with its `nextAttemptAt` dropped. */
  readonly delayMs: number;
  /** Its status message. */
  readonly reason: string;
}

/** N units run under a concurrency limit, each like a step of its own, then aggregated (fan-in). */
export interface FanOut<Input, Unit extends FanOutUnit = FanOutUnit> extends StepCommon<Input> {
  readonly kind: 'fan-out';
  /** The units, in scheduling order; the same ids for the same input. */
  units(input: Input): readonly Unit[];
  /** At most this many units in progress (started and not finished) at a time. */
  readonly concurrency: number;
  /** After the first unit fails, start no more units; those never started become Skipped. */
  readonly failFast?: boolean;
  /** A unit that finished with this result still counts as failed (a check that ran and found problems). */
  readonly unitFailed?: (result: unknown) => boolean;
  /**
   * The circuit breaker (its registry name) a unit's calls go through, if any. While that breaker refuses calls,
   * the unit is not run: it waits for the breaker without an attempt (see `FanOutPass`).
   */
  breaker?(unit: Unit, input: Input): string | undefined;
  /**
   * Whether a unit not started must not start now (the resource is suspended, the reconcile has run long enough),
   * asked each time it would start. A held unit is not run: it waits for the hold's delay without an attempt (see
   * `FanOutPass`). Units started already are not asked: their next attempt runs and decides for itself.
   */
  hold?(unit: Unit, input: Input): UnitHold | undefined;
  run(context: StepContext<Input>, unit: Unit): Promise<StepOutcome>;
  /**
   * The group's outcome from its finished units (`done` or `fail`; anything else fails the group). By
   * default: done with the counts, or a final failure when a unit failed.
   */
  fanIn?(units: readonly WorkflowUnit[]): StepOutcome;
}

/** Declares a step. */
export function step<Input>(definition: Omit<Step<Input>, 'kind'>): Step<Input> {
  return { kind: 'step', ...definition };
}

/** Declares a fan-out group. */
export function fanOut<Input, Unit extends FanOutUnit>(definition: Omit<FanOut<Input, Unit>, 'kind'>): FanOut<Input, Unit> {
  if (!(definition.concurrency >= 1)) throw new RangeError(`fan-out ${definition.name}: concurrency must be at least 1`);
  return { kind: 'fan-out', ...definition };
}
