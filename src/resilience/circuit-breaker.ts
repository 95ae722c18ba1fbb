// The circuit breaker of one external dependency: stops calling it while it fails, and says when to come back.
import { classifyFailure, DeferredError } from './classify-failure.ts';
import type { Clock } from './clock.ts';
import { ROOT_CONTEXT, type Policy, type PolicyCall, type PolicyContext } from './policy.ts';
import { SlidingWindow } from './sliding-window.ts';

/**
 * `closed`: calls go through. `open`: calls are refused until `halfOpenAfterMs` has passed.
 * `half-open`: a few trial calls go through; they decide between closed and open.
 * `isolated`: held open by hand ({@link CircuitBreaker.isolate}) until {@link CircuitBreaker.reset}.
 */
export type CircuitState = 'closed' | 'half-open' | 'open' | 'isolated';

export interface CircuitBreakerOptions {
  /**
   * Opens after this many counted failures in a row; 3 by default, 0 turns the rule off. Keep it below the
   * attempts of the retry policies calling through the breaker (DEFAULT_RETRY: 5), so that one caller alone
   * against a dependency that is down opens the breaker before it runs out of attempts.
   */
  readonly consecutiveFailures?: number;
  /** Opens when this share of the calls in the window failed (0 < ratio ≤ 1); 0.5 by default, 0 turns the rule off. */
  readonly failureRatio?: number;
  /** Length of the sliding window of the ratio rule; 60 s by default. */
  readonly windowMs?: number;
  /** The ratio rule needs at least this many calls in the window; 20 by default. */
  readonly minimumCalls?: number;
  /** How long the breaker stays open before admitting trial calls; 30 s by default. */
  readonly halfOpenAfterMs?: number;
  /** Trial calls admitted in half-open; all must succeed to close. 1 by default. */
  readonly halfOpenTrialCalls?: number;
  /**
   * Which errors count against the dependency. By default transient and unknown failures do; a 4xx,
   * a cancellation or a deferral is the dependency working as it should.
   */
  readonly isFailure?: (error: unknown) => boolean;
}

export interface CircuitBreakerSnapshot {
  readonly name: string;
  readonly state: CircuitState;
  /** 0 when a call would be admitted now; otherwise how long until one would be. */
  readonly retryAfterMs: number;
  readonly consecutiveFailures: number;
  readonly windowCalls: number;
  readonly windowFailures: number;
  /** When the breaker last opened (RFC 3339), if it has. */
  readonly openedAt?: string;
  readonly options: {
    readonly consecutiveFailures: number;
    readonly failureRatio: number;
    readonly windowMs: number;
    readonly minimumCalls: number;
    readonly halfOpenAfterMs: number;
    readonly halfOpenTrialCalls: number;
  };
}

/**
 * A call was refused because the breaker is open, isolated, or its half-open trials are taken; or the call
 * failed and its failure opened the breaker (then `cause` is that failure).
 */
export class BrokenCircuitError extends DeferredError {
  override name = 'BrokenCircuitError';
  readonly breaker: string;
  readonly state: CircuitState;

  constructor(breaker: string, state: CircuitState, retryAfterMs: number, options: { readonly cause?: unknown } = {}) {
    const opened = options.cause === undefined ? `is ${state}` : `opened on this failure: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`;
    super('circuit-open', `circuit breaker ${breaker} ${opened}; retry in ${retryAfterMs} ms`, retryAfterMs, options);
    this.breaker = breaker;
    this.state = state;
  }
}

export const isBrokenCircuit = (error: unknown): error is BrokenCircuitError => error instanceof BrokenCircuitError;

/** Called after each state change. */
export type TransitionListener = (breaker: string, from: CircuitState, to: CircuitState) => void;

const CALLS = 0;
const FAILURES = 1;
/** How soon a caller refused because all half-open trials are taken should come back. */
const TRIALS_TAKEN_RETRY_MS = 1000;

const countsAsFailure = (error: unknown): boolean => {
  const kind = classifyFailure(error).kind;
  return kind === 'transient' || kind === 'unknown';
};

/**
 * A circuit breaker (closed → open → half-open → closed) driven by an injected clock.
 *
 * Guarantees:
 * - State changes are computed when the breaker is consulted; there are no timers to leak or to fake.
 * - A call's outcome only counts in the state period it was admitted in: a slow call admitted while
 *   closed cannot close a breaker that has since opened and half-opened.
 * - An open breaker refuses with {@link BrokenCircuitError}, whose `retryAfterMs` says when to return.
 */
export class CircuitBreaker implements Policy {
  readonly name: string;
  readonly #clock: Clock;
  readonly #onTransition: TransitionListener | undefined;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #consecutiveLimit: number;
  readonly #failureRatio: number;
  readonly #windowMs: number;
  readonly #minimumCalls: number;
  readonly #halfOpenAfterMs: number;
  readonly #trialCalls: number;
  readonly #window: SlidingWindow;

  #state: CircuitState = 'closed';
  /** Incremented on every state change; a call remembers the period it was admitted in. */
  #period = 0;
  #openedAtMs: number | undefined;
  #consecutiveFailures = 0;
  #trialsAdmitted = 0;
  #trialsSucceeded = 0;

  constructor(name: string, options: CircuitBreakerOptions, runtime: { readonly clock: Clock; readonly onTransition?: TransitionListener }) {
    this.name = name;
    this.#clock = runtime.clock;
    this.#onTransition = runtime.onTransition;
    this.#isFailure = options.isFailure ?? countsAsFailure;
    this.#consecutiveLimit = options.consecutiveFailures ?? 3;
    this.#failureRatio = options.failureRatio ?? 0.5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#minimumCalls = options.minimumCalls ?? 20;
    this.#halfOpenAfterMs = options.halfOpenAfterMs ?? 30_000;
    this.#trialCalls = options.halfOpenTrialCalls ?? 1;
    if (!(this.#failureRatio >= 0 && this.#failureRatio <= 1)) throw new RangeError(`failureRatio must be within [0, 1], got ${this.#failureRatio}`);
    if (!(this.#trialCalls >= 1) || !(this.#halfOpenAfterMs >= 0)) throw new RangeError('circuit breaker needs halfOpenTrialCalls >= 1 and halfOpenAfterMs >= 0');
    this.#window = new SlidingWindow(this.#windowMs, 2, this.#clock);
  }

  /** The current state (an open breaker whose delay has passed reports, and becomes, half-open). */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#clock.now() >= (this.#openedAtMs ?? 0) + this.#halfOpenAfterMs) this.#transition('half-open');
    return this.#state;
  }

  /** 0 when a call would be admitted now; otherwise how long until one would be (callers requeue for that long). */
  retryAfterMs(): number {
    switch (this.state) {
      case 'closed':
        return 0;
      case 'half-open':
        return this.#trialsAdmitted < this.#trialCalls ? 0 : Math.min(TRIALS_TAKEN_RETRY_MS, Math.max(1, this.#halfOpenAfterMs));
      case 'open':
        return Math.max(0, (this.#openedAtMs ?? 0) + this.#halfOpenAfterMs - this.#clock.now());
      case 'isolated':
        // Held open by hand: there is no known end, so callers poll at the half-open delay.
        return Math.max(1, this.#halfOpenAfterMs);
    }
  }

  /** Throws {@link BrokenCircuitError} when a call would be refused now; admits nothing. */
  check(): void {
    const retryAfterMs = this.retryAfterMs();
    if (retryAfterMs > 0) throw new BrokenCircuitError(this.name, this.#state, retryAfterMs);
  }

  /**
   * Runs `fn` if the breaker admits it. Errors: {@link BrokenCircuitError} when refused, and also when `fn`
   * failed and that failure opened the breaker (its `cause`): the dependency is down, which is no fault of
   * the caller, so the caller waits for the breaker (a deferral) instead of spending one of its retries on
   * the outage. Any other failure is rethrown as it is.
   */
  async execute<T>(fn: PolicyCall<T>, context: PolicyContext = ROOT_CONTEXT): Promise<T> {
    const period = this.#admit();
    let value: T;
    try {
      value = await fn(context);
    } catch (error) {
      this.#recordFailure(period, error);
      if (this.#period !== period && this.#state === 'open') throw new BrokenCircuitError(this.name, 'open', this.retryAfterMs(), { cause: error });
      throw error;
    }
    this.#recordSuccess(period);
    return value;
  }

  /** Holds the breaker open until {@link reset}, whatever calls do. */
  isolate(): void {
    if (this.#state !== 'isolated') this.#transition('isolated');
  }

  /** Closes the breaker and forgets every failure. */
  reset(): void {
    if (this.#state !== 'closed') this.#transition('closed');
    this.#clearCounts();
  }

  snapshot(): CircuitBreakerSnapshot {
    const state = this.state;
    return {
      name: this.name,
      state,
      retryAfterMs: this.retryAfterMs(),
      consecutiveFailures: this.#consecutiveFailures,
      windowCalls: this.#window.sum(CALLS),
      windowFailures: this.#window.sum(FAILURES),
      ...(this.#openedAtMs === undefined ? {} : { openedAt: new Date(this.#openedAtMs).toISOString() }),
      options: {
        consecutiveFailures: this.#consecutiveLimit,
        failureRatio: this.#failureRatio,
        windowMs: this.#windowMs,
        minimumCalls: this.#minimumCalls,
        halfOpenAfterMs: this.#halfOpenAfterMs,
        halfOpenTrialCalls: this.#trialCalls,
      },
    };
  }

  /** Admits a call or throws; returns the state period it was admitted in. */
  #admit(): number {
    const state = this.state;
    if (state === 'closed') return this.#period;
    if (state === 'half-open' && this.#trialsAdmitted < this.#trialCalls) {
      this.#trialsAdmitted += 1;
      return this.#period;
    }
    throw new BrokenCircuitError(this.name, state, this.retryAfterMs());
  }

  #recordSuccess(period: number): void {
    if (period !== this.#period) return;
    if (this.#state === 'half-open') {
      this.#trialsSucceeded += 1;
      if (this.#trialsSucceeded >= this.#trialCalls) this.reset();
      return;
    }
    this.#consecutiveFailures = 0;
    this.#window.add(CALLS);
  }

  #recordFailure(period: number, error: unknown): void {
    if (period !== this.#period) return;
    if (!this.#isFailure(error)) {
      // The dependency answered (a 404, a cancellation by our side): in half-open that proves it is back,
      // except for a cancellation, which proves nothing and frees the trial slot.
      if (this.#state === 'half-open') {
        if (classifyFailure(error).kind === 'cancelled') this.#trialsAdmitted -= 1;
        else this.#recordSuccess(period);
      }
      return;
    }
    if (this.#state === 'half-open') {
      this.#open();
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutiveFailures += 1;
    this.#window.add(CALLS);
    this.#window.add(FAILURES);
    if (this.#consecutiveLimit > 0 && this.#consecutiveFailures >= this.#consecutiveLimit) {
      this.#open();
      return;
    }
    if (this.#failureRatio > 0) {
      const calls = this.#window.sum(CALLS);
      if (calls >= this.#minimumCalls && this.#window.sum(FAILURES) >= this.#failureRatio * calls) this.#open();
    }
  }

  #open(): void {
    this.#openedAtMs = this.#clock.now();
    this.#transition('open');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    this.#state = to;
    this.#period += 1;
    this.#trialsAdmitted = 0;
    this.#trialsSucceeded = 0;
    this.#onTransition?.(this.name, from, to);
  }

  #clearCounts(): void {
    this.#consecutiveFailures = 0;
    this.#window.clear();
  }
}
