// Retry policies: which failures to try again, how long to wait (backoff, Retry-After), how many times, within which budget.
import { exponentialBackoff, type Backoff, type Random } from './backoff.ts';
import { classifyFailure, type FailureClass } from './classify-failure.ts';
import { sleep, type Clock } from './clock.ts';
import { ROOT_CONTEXT, type Policy, type PolicyCall, type PolicyContext } from './policy.ts';
import type { ResilienceMetrics, RetryAttemptCounters, RetryOutcome } from './resilience-metrics.ts';
import type { RetryBudget } from './retry-budget.ts';
import { TimeoutPolicy } from './timeout.ts';

/** The numbers of a retry policy; plain data, so presets can be documented and compared. */
export interface RetrySettings {
  /** Names the policy in metrics (`blackroad_retry_attempts_total{policy}`). */
  readonly name: string;
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  /** Bounds each attempt (through {@link TimeoutPolicy}); none when absent. */
  readonly attemptTimeoutMs?: number;
  /**
   * In-call, a retry waits only when the wait is at most this long; a longer wait (a long Retry-After,
   * a late attempt) is left to the caller, which requeues instead of holding a reconcile.
   */
  readonly maxInCallWaitMs: number;
}

/**
 * The default for workflow steps and provider calls: 5 attempts, exponential backoff from 1 s doubling
 * to a 60 s cap with full jitter, 30 s per attempt; in-call waits up to 5 s.
 */
export const DEFAULT_RETRY: RetrySettings = {
  name: 'default',
  maxAttempts: 5,
  backoff: exponentialBackoff({ initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 60_000, jitter: 'full' }),
  attemptTimeoutMs: 30_000,
  maxInCallWaitMs: 5_000,
};

/**
 * For steps that must get through (`retryPolicy: critical`, rollbacks): 10 attempts, exponential from
 * 2 s to a 5 min cap with decorrelated jitter (about 25 min of trying), 60 s per attempt; in-call waits
 * up to 10 s.
 */
export const CRITICAL_RETRY: RetrySettings = {
  name: 'critical',
  maxAttempts: 10,
  backoff: exponentialBackoff({ initialDelayMs: 2_000, multiplier: 2, maxDelayMs: 300_000, jitter: 'decorrelated' }),
  attemptTimeoutMs: 60_000,
  maxInCallWaitMs: 10_000,
};

/** Short in-call retries of transport errors: 3 attempts, 100 ms doubling to 1 s with full jitter, 10 s per attempt. */
export const TRANSPORT_RETRY: RetrySettings = {
  name: 'transport',
  maxAttempts: 3,
  backoff: exponentialBackoff({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 'full' }),
  attemptTimeoutMs: 10_000,
  maxInCallWaitMs: 1_000,
};

/** What to do after a failed attempt. */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly failure: FailureClass }
  | { readonly retry: false; readonly outcome: Exclude<RetryOutcome, 'success' | 'retry' | 'budget_exhausted'>; readonly failure: FailureClass };

export interface RetryPolicyOptions extends RetrySettings {
  readonly clock: Clock;
  readonly random?: Random;
  readonly metrics?: ResilienceMetrics;
  /** The budget of the dependency this policy calls; shared by every policy calling it. */
  readonly budget?: RetryBudget;
  /** Overrides {@link classifyFailure}. */
  readonly classify?: (error: unknown) => FailureClass;
}

/** Read through a function: TypeScript would otherwise keep a narrowing of `signal.aborted` across awaits. */
const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

const NOTHING = { inc: (): void => undefined };
const NO_COUNTERS: RetryAttemptCounters = {
  success: NOTHING,
  retry: NOTHING,
  exhausted: NOTHING,
  non_retryable: NOTHING,
  deferred: NOTHING,
  budget_exhausted: NOTHING,
  aborted: NOTHING,
};

/**
 * Retries transient failures with backoff on the injected clock.
 *
 * Guarantees:
 * - Only `transient` failures are retried, at most `maxAttempts` attempts in all, each bounded by
 *   `attemptTimeoutMs` when set; the wait is `max(backoff, Retry-After)`.
 * - A wait longer than `maxInCallWaitMs`, a spent retry budget, or an aborted signal ends the call with
 *   the last error (the abort with the signal's reason), so the caller can requeue.
 * - Every attempt is counted once in `blackroad_retry_attempts_total{policy,outcome}`.
 */
export class RetryPolicy implements Policy {
  readonly settings: RetrySettings;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #budget: RetryBudget | undefined;
  readonly #classify: (error: unknown) => FailureClass;
  readonly #counters: RetryAttemptCounters;
  readonly #timeout: TimeoutPolicy | undefined;

  constructor(options: RetryPolicyOptions) {
    const { clock, random, metrics, budget, classify, ...settings } = options;
    if (!(settings.maxAttempts >= 1)) throw new RangeError(`maxAttempts must be at least 1, got ${settings.maxAttempts}`);
    this.settings = settings;
    this.#clock = clock;
    this.#random = random ?? Math.random;
    this.#budget = budget;
    this.#classify = classify ?? classifyFailure;
    this.#counters = metrics?.retryCounters(settings.name) ?? NO_COUNTERS;
    this.#timeout = settings.attemptTimeoutMs === undefined ? undefined : new TimeoutPolicy({ timeoutMs: settings.attemptTimeoutMs, clock });
  }

  /**
   * Decides, without waiting, what follows the failed attempt number `attempt` (1-based). The workflow
   * engine uses it to schedule a step's next attempt across reconciles.
   */
  decide(attempt: number, failure: FailureClass, previousDelayMs = 0): RetryDecision {
    if (failure.kind === 'cancelled') return { retry: false, outcome: 'aborted', failure };
    if (failure.kind === 'deferred') return { retry: false, outcome: 'deferred', failure };
    if (failure.kind !== 'transient') return { retry: false, outcome: 'non_retryable', failure };
    if (attempt >= this.settings.maxAttempts) return { retry: false, outcome: 'exhausted', failure };
    const backoffMs = this.settings.backoff.delayMs(attempt, previousDelayMs, this.#random);
    return { retry: true, delayMs: Math.max(backoffMs, failure.retryAfterMs ?? 0), failure };
  }

  async execute<T>(fn: PolicyCall<T>, context: PolicyContext = ROOT_CONTEXT): Promise<T> {
    const { signal } = context;
    this.#budget?.recordCall();
    let previousDelayMs = 0;
    for (let attempt = 1; ; attempt += 1) {
      if (isAborted(signal)) throw signal?.reason;
      const attemptContext: PolicyContext = { signal, attempt };
      try {
        const value = await (this.#timeout === undefined ? fn(attemptContext) : this.#timeout.execute(fn, attemptContext));
        this.#counters.success.inc();
        return value;
      } catch (error) {
        const decision = this.decide(attempt, isAborted(signal) ? { kind: 'cancelled', reason: 'aborted' } : this.#classify(error), previousDelayMs);
        if (!decision.retry) {
          this.#counters[decision.outcome].inc();
          throw error;
        }
        if (decision.delayMs > this.settings.maxInCallWaitMs) {
          this.#counters.deferred.inc();
          throw error;
        }
        if (this.#budget !== undefined && !this.#budget.tryRetry()) {
          this.#counters.budget_exhausted.inc();
          throw error;
        }
        this.#counters.retry.inc();
        previousDelayMs = decision.delayMs;
        if (decision.delayMs > 0) await sleep(this.#clock, decision.delayMs, signal);
      }
    }
  }
}
