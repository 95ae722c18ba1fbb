// Prometheus metrics of the resilience layer: breaker state and transitions, retry attempts, idempotency hits and misses.
import { Counter, Gauge, type Registry } from 'prom-client';

/** The gauge value of each breaker state: 0 closed, 1 half-open, 2 open (isolated counts as open). */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2, isolated: 2 } as const;

/** The outcome of one attempt under a retry policy. */
export type RetryOutcome = 'success' | 'retry' | 'exhausted' | 'non_retryable' | 'deferred' | 'budget_exhausted' | 'aborted';

/** Counters of one retry policy, bound to its label once so the hot path does no label lookup. */
export type RetryAttemptCounters = Readonly<Record<RetryOutcome, { inc(): void }>>;

/** The outcome of a claim: a miss runs the side effect, a hit replays a recorded result, a contended claim waits. */
export type IdempotencyClaimOutcome = 'hit' | 'miss' | 'contended';

/**
 * The resilience metrics on an injected registry. Create one per registry (in the composition root) and
 * hand it to the breaker registry, the retry policies and the idempotency store.
 */
export class ResilienceMetrics {
  readonly #breakerStates = new Map<string, () => number>();
  readonly #transitions: Counter<'breaker' | 'to'>;
  readonly #retryAttempts: Counter<'policy' | 'outcome'>;
  readonly #idempotencyHits: Counter<'store'>;
  readonly #idempotencyMisses: Counter<'store'>;
  readonly #idempotencyContended: Counter<'store'>;

  constructor(registry: Registry) {
    const states = this.#breakerStates;
    new Gauge({
      name: 'blackroad_circuit_breaker_state',
      help: 'State of each circuit breaker: 0 closed, 1 half-open, 2 open.',
      labelNames: ['breaker'],
      registers: [registry],
      collect() {
        // Read at scrape time: an open breaker whose delay has passed shows as half-open without a call.
        for (const [breaker, read] of states) this.set({ breaker }, read());
      },
    });
    this.#transitions = new Counter({
      name: 'blackroad_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by breaker and new state.',
      labelNames: ['breaker', 'to'],
      registers: [registry],
    });
    this.#retryAttempts = new Counter({
      name: 'blackroad_retry_attempts_total',
      help: 'Attempts made under a retry policy, by policy and outcome.',
      labelNames: ['policy', 'outcome'],
      registers: [registry],
    });
    this.#idempotencyHits = new Counter({
      name: 'blackroad_idempotency_hits_total',
      help: 'Claims that found the side effect already completed and replayed its recorded result.',
      labelNames: ['store'],
      registers: [registry],
    });
    this.#idempotencyMisses = new Counter({
      name: 'blackroad_idempotency_misses_total',
      help: 'Claims that found no record and won the right to run the side effect.',
      labelNames: ['store'],
      registers: [registry],
    });
    this.#idempotencyContended = new Counter({
      name: 'blackroad_idempotency_contended_total',
      help: 'Claims refused because another run holds a live claim on the key.',
      labelNames: ['store'],
      registers: [registry],
    });
  }

  /** Reports `readState()` as the breaker's gauge value at each scrape. */
  trackBreaker(breaker: string, readState: () => number): void {
    this.#breakerStates.set(breaker, readState);
    this.#transitions.inc({ breaker, to: 'closed' }, 0);
  }

  breakerTransition(breaker: string, to: string): void {
    this.#transitions.inc({ breaker, to });
  }

  retryCounters(policy: string): RetryAttemptCounters {
    const outcomes: RetryOutcome[] = ['success', 'retry', 'exhausted', 'non_retryable', 'deferred', 'budget_exhausted', 'aborted'];
    return Object.fromEntries(outcomes.map((outcome) => [outcome, this.#retryAttempts.labels({ policy, outcome })])) as unknown as RetryAttemptCounters;
  }

  idempotencyClaim(store: string, outcome: IdempotencyClaimOutcome): void {
    const counter = outcome === 'hit' ? this.#idempotencyHits : outcome === 'miss' ? this.#idempotencyMisses : this.#idempotencyContended;
    counter.inc({ store });
  }
}
