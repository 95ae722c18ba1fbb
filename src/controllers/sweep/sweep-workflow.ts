// The Sweep workflow: one fan-out group whose units run a check against a repository through a check runner.
import type { CheckRunner as CheckRunnerName, SweepSpec } from '../../api/sweep.ts';
import type { CheckHandle, CheckObservation, CheckRunner, CheckUnit, SweepRef } from '../../providers/checks/check-runner.ts';
import type { Clock } from '../../resilience/clock.ts';
import { isInvalidSpec, InvalidSpecError } from '../../providers/provider-error.ts';
import type { SecretRef, SecretSource } from '../../providers/secret-reader.ts';
import { isIdempotencyHeld } from '../../resilience/idempotency-store.ts';
import { done, fanOut, step, wait, type SideEffectOptions, type StepContext, type StepOutcome, type UnitHold } from '../../workflow/step.ts';
import { defineWorkflow, type Workflow } from '../../workflow/workflow.ts';
import { blockingReason } from '../provider-failure.ts';
import type { SweepRun } from './sweep-run.ts';
import { CHECKS_STEP, DEFERRED_TO_NEXT_PASS, HELD_WHILE_SUSPENDED, VALIDATE_STEP, WAITING_FOR_DEPENDENCY, type UnitVerdict } from './sweep-status.ts';
import type { SweepUnit } from './sweep-units.ts';

export const SWEEP_WORKFLOW = 'sweep';


/** Bounds creating (or adopting) a unit's Job. */
const JOB_CALL_TIMEOUT_MS = 10_000;
/** Added to an http check's own `timeoutSeconds` to bound the call (reading the Secret, signing). */
const HTTP_CALL_SLACK_MS = 2_000;
/**
 * A claim outlives the call it protects by this much. The operator aborts each call at its timeout on its
 * own clock, so a call cannot outlive its claim unless the process stalls for this long; a restarted
 * operator then waits at most a call's timeout plus this before it takes over an interrupted unit.
 */
const CLAIM_MARGIN_MS = 5_000;
/** A unit held while the Sweep is suspended is looked at again after this long at the latest; resuming wakes it at once. */
const HELD_POLL_MS = 60 * 60_000;

/** What one reconcile of a Sweep run hands the workflow. */
export interface SweepRunInput {
  readonly sweep: SweepRef;
  readonly spec: SweepSpec;
  readonly run: SweepRun;
  /** The run's units, in spec order. */
  readonly units: readonly SweepUnit[];
  /**
   * No http check starts after this time in this reconcile: an http check holds the reconcile while it
   * runs, so a long sweep is driven over many reconciles, each bounded, instead of one.
   */
  readonly startChecksUntilMs: number;
  /** The Secrets of this reconcile: the validate step and every unit read each key once through it. */
  readonly secrets: SecretSource;
  /**
   * Whether the Sweep is suspended now: its spec, or a newer generation seen during this reconcile (http checks
   * hold a reconcile for seconds; a suspension must stop it starting units, not wait for the next one).
   */
  readonly suspended: () => boolean;
}

export interface SweepWorkflowOptions {
  readonly runners: Readonly<Record<CheckRunnerName, CheckRunner>>;
  readonly clock: Clock;
  /**
   * How long a unit waits on its running Job before looking again. A Job's watch event wakes the Sweep
   * sooner (the controller owns its Jobs); this is the backstop. Default 30 s.
   */
  readonly jobPollMs?: number;
}

/** The breaker of a checker service: one per host. */
export function checkerBreaker(url: string): string {
  try {
    return `checker:${new URL(url).host}`;
  } catch {
    return 'checker';
  }
}

function checkUnit(input: SweepRunInput, unit: SweepUnit): CheckUnit {
  return { sweep: input.sweep, runId: input.run.runId, repository: unit.repository, check: unit.check, ttlSecondsAfterFinished: input.spec.ttlSecondsAfterFinished };
}

/** The Secret keys the spec's http checks sign with, each once, with the checks that use it. */
function signingSecrets(spec: SweepSpec): { readonly ref: SecretRef; readonly checks: string[] }[] {
  const byRef = new Map<string, { ref: SecretRef; checks: string[] }>();
  for (const check of spec.checks) {
    if (check.runner !== 'http' || check.secretRef === undefined) continue;
    const id = JSON.stringify([check.secretRef.name, check.secretRef.key]);
    const entry = byRef.get(id) ?? { ref: { name: check.secretRef.name, key: check.secretRef.key }, checks: [] };
    entry.checks.push(check.name);
    byRef.set(id, entry);
  }
  return [...byRef.values()];
}

/**
 * The `validate` step: every Secret key an http check signs with exists, before any unit starts. What is missing
 * is one `InvalidSpecError` naming each Secret and key and the checks that need them (names, never values), so
 * the run stops with nothing started; other failures (the API server) are retried as usual.
 */
async function validateSecrets(ctx: StepContext<SweepRunInput>): Promise<StepOutcome> {
  const { sweep, spec, secrets } = ctx.input;
  const problems: string[] = [];
  for (const { ref, checks } of signingSecrets(spec)) {
    try {
      await secrets.read(sweep.namespace, ref, ctx.signal);
    } catch (error) {
      if (!isInvalidSpec(error)) throw error;
      problems.push(`${checks.length === 1 ? 'check' : 'checks'} ${checks.map((name) => `"${name}"`).join(', ')}: ${error.message}`);
    }
  }
  if (problems.length > 0) throw new InvalidSpecError('secrets', `The http checks' signing keys are missing, so no check was started: ${problems.join('; ')}`);
  return done(undefined, 'Every Secret key the http checks sign with exists');
}

/** The breaker a unit's calls go through: its checker's, for an http check. */
function unitBreaker(unit: SweepUnit): string | undefined {
  return unit.check.runner === 'http' && unit.check.url !== undefined ? checkerBreaker(unit.check.url) : undefined;
}

/**
 * The message of a unit the engine defers because a dependency is out (the checker's breaker is open, the
 * idempotency store unreachable), which the status reads as `DependencyUnavailable`; the engine's own for any
 * other deferral (a claim held by another run).
 */
function dependencyMessage(error: unknown): string | undefined {
  return blockingReason(error) === undefined ? undefined : `${WAITING_FOR_DEPENDENCY}${error instanceof Error ? error.message : String(error)}`;
}

function callTimeoutMs(unit: SweepUnit): number {
  return unit.check.runner === 'http' ? unit.check.timeoutSeconds * 1000 + HTTP_CALL_SLACK_MS : JOB_CALL_TIMEOUT_MS;
}

/**
 * Declares the workflow of a Sweep's spec: `validate` (the http checks' Secret keys exist), then the `checks` fan-out over every (repository, check), at most
 * `spec.concurrency` in progress, stopping at the first failure with `spec.failFast`. Settings are read from
 * the spec each reconcile, so a changed concurrency or failFast applies to the run in progress.
 *
 * A unit not started is held before its first attempt while the Sweep is suspended, and an http one once the pass
 * is past `startChecksUntilMs` (deferred to the next reconcile): `Pending`, no attempt counted, no `startedAt`, no
 * `job.started` and no slot held, so job units run meanwhile. A unit in an attempt whose check has not started
 * (a retry) is held the same way within it. Otherwise its check is started as a side effect (`start`: a Job
 * created, or the checker's verdict), so a restarted operator never starts it twice in one run. An http unit is
 * then done with the verdict. A job unit looks at its Job: running → wait; `Complete` → passed; `Failed` → failed (or errored when it timed out); gone before it finished → created
 * again once (`recreate`), and errored if it goes missing again. An http unit whose checker's breaker refuses
 * calls is not run at all (the fan-out's `breaker`): it waits for the breaker, with no attempt counted, no call
 * made and no slot held, so job units run meanwhile. Any unit the engine defers because a dependency is out says
 * so in a message the status reads as `DependencyUnavailable`.
 */
export function sweepWorkflow(spec: SweepSpec, options: SweepWorkflowOptions): Workflow<SweepRunInput> {
  const jobPollMs = options.jobPollMs ?? 30_000;
  const longest = Math.max(...spec.checks.map((check) => (check.runner === 'http' ? check.timeoutSeconds * 1000 + HTTP_CALL_SLACK_MS : JOB_CALL_TIMEOUT_MS)));

  /** Starts (or finds) a unit's check under the side effect `name`; the result is recorded for the run. */
  const start = async (ctx: StepContext<SweepRunInput>, unit: SweepUnit, name: 'start' | 'recreate'): Promise<CheckHandle> => {
    const runner = options.runners[unit.check.runner];
    // Runner errors are the engine's retryable or non-retryable classes already (ADR 009), so the breaker counts a 5xx, not a 4xx.
    const call = (key: string, signal: AbortSignal | undefined): Promise<CheckHandle> => runner.start({ unit: checkUnit(ctx.input, unit), idempotencyKey: key, secrets: ctx.input.secrets, ...(signal === undefined ? {} : { signal }) });
    const timeoutMs = callTimeoutMs(unit);
    const breaker = unitBreaker(unit);
    const sideEffect: SideEffectOptions = { timeoutMs, claimTtlMs: timeoutMs + CLAIM_MARGIN_MS, ...(breaker === undefined ? {} : { breaker }) };
    try {
      return await ctx.sideEffect(name, call, sideEffect);
    } catch (error) {
      // A claim left by a process that died while creating the Job: creating it is idempotent by name
      // (AlreadyExists is ours), so there is no need to wait the claim out.
      if (unit.check.runner === 'job' && isIdempotencyHeld(error)) return call(error.key, ctx.signal);
      throw error;
    }
  };

  const observe = (ctx: StepContext<SweepRunInput>, unit: SweepUnit, handle: CheckHandle): Promise<CheckObservation> =>
    options.runners[unit.check.runner].observe({ unit: checkUnit(ctx.input, unit), handle, signal: ctx.signal });

  /** Why a unit whose check has not started must not start now: the Sweep is suspended, or an http unit's pass has run its budget. */
  const holdOf = (unit: SweepUnit, input: SweepRunInput): UnitHold | undefined => {
    if (input.suspended()) return { delayMs: HELD_POLL_MS, reason: HELD_WHILE_SUSPENDED };
    if (unit.check.runner === 'http' && options.clock.now() >= input.startChecksUntilMs) return { delayMs: 0, reason: DEFERRED_TO_NEXT_PASS };
    return undefined;
  };

  /**
   * A unit in an attempt whose check has not started, and must not start now: a retry (a unit never started is
   * held before its attempt, by the fan-out's `hold`), or a unit that began its attempt as the suspension arrived.
   */
  const heldBack = async (ctx: StepContext<SweepRunInput>, unit: SweepUnit): Promise<StepOutcome | undefined> => {
    const hold = holdOf(unit, ctx.input);
    if (hold === undefined) return undefined;
    if ((await ctx.recordedResult(CHECKS_STEP, 'start', unit.id)) !== undefined) return undefined;
    return wait(hold.delayMs, hold.reason);
  };

  const runUnit = async (ctx: StepContext<SweepRunInput>, unit: SweepUnit): Promise<StepOutcome> => {
    const held = await heldBack(ctx, unit);
    if (held !== undefined) return held;
    const first = await start(ctx, unit, 'start');
    if (first.runner === 'http') {
      const verdict = await observe(ctx, unit, first);
      return done({ verdict: verdict.state === 'passed' ? 'passed' : verdict.state === 'failed' ? 'failed' : 'errored', ...(verdict.durationMs === undefined ? {} : { durationMs: verdict.durationMs }) } satisfies UnitVerdict, verdict.message);
    }
    const recreated = await ctx.recordedResult<CheckHandle>(CHECKS_STEP, 'recreate', unit.id);
    const handle = recreated ?? first;
    const jobName = handle.runner === 'job' ? handle.jobName : undefined;
    const seen = await observe(ctx, unit, handle);
    const verdict = (state: UnitVerdict['verdict']): UnitVerdict => ({ verdict: state, ...(seen.durationMs === undefined ? {} : { durationMs: seen.durationMs }), ...(jobName === undefined ? {} : { jobName }) });
    switch (seen.state) {
      case 'running':
        return wait(jobPollMs, seen.message);
      case 'passed':
      case 'failed':
      case 'errored':
        return done(verdict(seen.state), seen.message);
      case 'missing':
        if (recreated !== undefined) return done(verdict('errored'), `${seen.message}; it had been created again once already`);
        await start(ctx, unit, 'recreate');
        return wait(jobPollMs, `${seen.message}; created it again`);
    }
  };

  return defineWorkflow<SweepRunInput>(SWEEP_WORKFLOW, [
    step<SweepRunInput>({ name: VALIDATE_STEP, run: validateSecrets }),
    fanOut<SweepRunInput, SweepUnit>({
      name: CHECKS_STEP,
      concurrency: spec.concurrency,
      failFast: spec.failFast,
      timeoutMs: longest + CLAIM_MARGIN_MS,
      units: (input) => input.units,
      unitFailed: (result) => (result as UnitVerdict | null)?.verdict !== 'passed',
      breaker: unitBreaker,
      hold: holdOf,
      deferredMessage: dependencyMessage,
      run: runUnit,
    }),
  ]);
}
