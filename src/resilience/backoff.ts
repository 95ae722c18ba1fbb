// Backoff: how long to wait before the next attempt; exponential or linear, with full or decorrelated jitter, always capped.

/** A source of uniform numbers in [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/**
 * `none` waits the computed delay; `full` waits a uniform random part of it (AWS "full jitter");
 * `decorrelated` waits between the initial delay and three times the previous wait (AWS "decorrelated
 * jitter"), which spreads retries of many clients without synchronising them.
 */
export type Jitter = 'none' | 'full' | 'decorrelated';

/** Gives the wait before the next attempt. Pure: everything it needs is passed in. */
export interface Backoff {
  /**
   * @param failedAttempts attempts made so far (1 after the first failure)
   * @param previousDelayMs the wait before the last attempt (0 before the first retry, or when unknown)
   */
  delayMs(failedAttempts: number, previousDelayMs: number, random: Random): number;
  /** No wait is ever longer than this. */
  readonly maxDelayMs: number;
}

export interface ExponentialBackoffOptions {
  readonly initialDelayMs: number;
  /** Growth per attempt; 2 by default. */
  readonly multiplier?: number;
  readonly maxDelayMs: number;
  readonly jitter?: Jitter;
}

export interface LinearBackoffOptions {
  readonly initialDelayMs: number;
  /** Added per attempt. */
  readonly stepMs: number;
  readonly maxDelayMs: number;
  readonly jitter?: Exclude<Jitter, 'decorrelated'>;
}

function checkRange(initialDelayMs: number, maxDelayMs: number): void {
  if (!(initialDelayMs >= 0) || !(maxDelayMs >= initialDelayMs)) {
    throw new RangeError(`backoff needs 0 <= initialDelayMs <= maxDelayMs, got ${initialDelayMs} and ${maxDelayMs}`);
  }
}

function jittered(ceilingMs: number, jitter: Jitter, random: Random): number {
  return jitter === 'full' ? Math.floor(random() * ceilingMs) : ceilingMs;
}

/** `initialDelayMs × multiplier^(n−1)` after the n-th failed attempt, capped at `maxDelayMs`. */
export function exponentialBackoff(options: ExponentialBackoffOptions): Backoff {
  const { initialDelayMs, maxDelayMs, multiplier = 2, jitter = 'full' } = options;
  checkRange(initialDelayMs, maxDelayMs);
  if (!(multiplier >= 1)) throw new RangeError(`multiplier must be at least 1, got ${multiplier}`);
  // Clamped so a huge attempt number times a zero initial delay is 0, not 0 × Infinity = NaN.
  const exponential = (failedAttempts: number): number => Math.min(maxDelayMs, initialDelayMs * Math.min(multiplier ** Math.max(0, failedAttempts - 1), Number.MAX_VALUE));
  return {
    maxDelayMs,
    delayMs(failedAttempts, previousDelayMs, random) {
      if (jitter === 'decorrelated') {
        // Without the previous wait (a workflow step retried across reconciles keeps none), the
        // un-jittered exponential wait of the previous attempt stands in for it, so waits still grow.
        const previousMs = previousDelayMs > 0 ? previousDelayMs : failedAttempts > 1 ? exponential(failedAttempts - 1) : 0;
        const upperMs = Math.max(initialDelayMs, previousMs * 3);
        return Math.min(maxDelayMs, Math.floor(initialDelayMs + random() * (upperMs - initialDelayMs)));
      }
      return jittered(exponential(failedAttempts), jitter, random);
    },
  };
}

/** `initialDelayMs + stepMs × (n−1)` after the n-th failed attempt, capped at `maxDelayMs`. */
export function linearBackoff(options: LinearBackoffOptions): Backoff {
  const { initialDelayMs, stepMs, maxDelayMs, jitter = 'none' } = options;
  checkRange(initialDelayMs, maxDelayMs);
  return {
    maxDelayMs,
    delayMs(failedAttempts, _previousDelayMs, random) {
      const ceilingMs = Math.min(maxDelayMs, initialDelayMs + stepMs * Math.max(0, failedAttempts - 1));
      return jittered(ceilingMs, jitter, random);
    },
  };
}

/** The same wait every time. */
export function constantBackoff(delayMs: number): Backoff {
  return linearBackoff({ initialDelayMs: delayMs, stepMs: 0, maxDelayMs: delayMs });
}
