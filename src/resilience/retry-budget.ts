// The retry budget of a dependency: retries stay a small share of calls, so a failing dependency is not hit with triple load.
import type { Clock } from './clock.ts';
import { SlidingWindow } from './sliding-window.ts';

export interface RetryBudgetOptions {
  /** Retries allowed per call made, over the window; 0.1 by default (at most 10 % extra load). */
  readonly ratio?: number;
  /** Length of the sliding window; 10 s by default. */
  readonly windowMs?: number;
  /** Retries allowed in any window whatever the traffic, so a quiet dependency can still retry; 3 by default. */
  readonly minRetriesPerWindow?: number;
  readonly clock: Clock;
}

const CALLS = 0;
const RETRIES = 1;

/**
 * Counts calls and retries over a sliding window. A retry is allowed while the retries in the window
 * stay within `max(minRetriesPerWindow, ratio × calls)`.
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetriesPerWindow: number;
  readonly #window: SlidingWindow;

  constructor(options: RetryBudgetOptions) {
    this.ratio = options.ratio ?? 0.1;
    this.minRetriesPerWindow = options.minRetriesPerWindow ?? 3;
    if (!(this.ratio >= 0) || !(this.minRetriesPerWindow >= 0)) throw new RangeError('retry budget needs ratio >= 0 and minRetriesPerWindow >= 0');
    this.#window = new SlidingWindow(options.windowMs ?? 10_000, 2, options.clock);
  }

  /** Counts a first attempt (not a retry). */
  recordCall(): void {
    this.#window.add(CALLS);
  }

  /** Takes one retry from the budget; false when the budget is spent (then do not retry). */
  tryRetry(): boolean {
    const { calls, retries } = this.snapshot();
    if (retries + 1 > Math.max(this.minRetriesPerWindow, this.ratio * calls)) return false;
    this.#window.add(RETRIES);
    return true;
  }

  /** Calls and retries counted in the current window. */
  snapshot(): { calls: number; retries: number } {
    return { calls: this.#window.sum(CALLS), retries: this.#window.sum(RETRIES) };
  }
}

/** One {@link RetryBudget} per dependency name, created on first use with shared options. */
export class RetryBudgets {
  readonly #options: RetryBudgetOptions;
  readonly #budgets = new Map<string, RetryBudget>();

  constructor(options: RetryBudgetOptions) {
    this.#options = options;
  }

  get(dependency: string): RetryBudget {
    let budget = this.#budgets.get(dependency);
    if (budget === undefined) {
      budget = new RetryBudget(this.#options);
      this.#budgets.set(dependency, budget);
    }
    return budget;
  }
}
