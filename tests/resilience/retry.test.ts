import { describe, expect, it } from 'vitest';
import { ServerError, TooManyRequestsError, InvalidError } from '../../src/kube/errors.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { exponentialBackoff } from '../../src/resilience/backoff.ts';
import { CircuitBreaker, BrokenCircuitError } from '../../src/resilience/circuit-breaker.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { wrap } from '../../src/resilience/policy.ts';
import { ResilienceMetrics } from '../../src/resilience/resilience-metrics.ts';
import { CRITICAL_RETRY, DEFAULT_RETRY, RetryPolicy, type RetrySettings } from '../../src/resilience/retry.ts';
import { RetryBudget, RetryBudgets } from '../../src/resilience/retry-budget.ts';
import { TimeoutError, TimeoutPolicy } from '../../src/resilience/timeout.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

/** Lets promise chains run (a macrotask turn); never advances any clock. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const EXACT: RetrySettings = {
  name: 'exact',
  maxAttempts: 4,
  backoff: exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 10_000, jitter: 'none' }),
  maxInCallWaitMs: 5_000,
};
const unavailable = () => new ServerError(503, 'ServiceUnavailable', 'down');

/** A call that fails with the given errors, one per attempt, then succeeds; it records when each attempt ran. */
function scripted(clock: ManualClock, failures: Error[]) {
  const startedAt: number[] = [];
  const call = async () => {
    startedAt.push(clock.now());
    const failure = failures.shift();
    if (failure !== undefined) throw failure;
    return 'done';
  };
  return { call, startedAt };
}

describe('RetryPolicy', () => {
  it('retries transient failures after the backoff on the injected clock, never sooner', async () => {
    const clock = new ManualClock(0);
    const policy = new RetryPolicy({ ...EXACT, clock });
    const { call, startedAt } = scripted(clock, [unavailable(), unavailable()]);
    const result = policy.execute(call);
    await flush();
    expect(startedAt).toEqual([0]);
    clock.advance(99);
    await flush();
    expect(startedAt).toEqual([0]);
    clock.advance(1);
    await flush();
    clock.advance(200);
    await expect(result).resolves.toBe('done');
    expect(startedAt).toEqual([0, 100, 300]);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const clock = new ManualClock(0);
    const policy = new RetryPolicy({ ...EXACT, maxAttempts: 2, clock });
    const last = unavailable();
    const { call, startedAt } = scripted(clock, [unavailable(), last, unavailable()]);
    const result = policy.execute(call).catch((error: unknown) => error);
    await flush();
    clock.advance(100);
    expect(await result).toBe(last);
    expect(startedAt).toHaveLength(2);
  });

  it('does not retry a permanent failure', async () => {
    const clock = new ManualClock(0);
    const { call, startedAt } = scripted(clock, [new InvalidError(422, 'Invalid', 'spec.version: required')]);
    await expect(new RetryPolicy({ ...EXACT, clock }).execute(call)).rejects.toBeInstanceOf(InvalidError);
    expect(startedAt).toEqual([0]);
  });

  it('waits for Retry-After when it is longer than the backoff', async () => {
    const clock = new ManualClock(0);
    const throttled = new TooManyRequestsError(429, 'TooManyRequests', 'slow down', { retryAfterMs: 2_000 });
    const { call, startedAt } = scripted(clock, [throttled]);
    const result = new RetryPolicy({ ...EXACT, clock }).execute(call);
    await flush();
    clock.advance(1_999);
    await flush();
    expect(startedAt).toEqual([0]);
    clock.advance(1);
    await expect(result).resolves.toBe('done');
    expect(startedAt).toEqual([0, 2_000]);
  });

  it('leaves a wait longer than maxInCallWaitMs to the caller instead of holding the reconcile', async () => {
    const clock = new ManualClock(0);
    const throttled = new TooManyRequestsError(429, 'TooManyRequests', 'slow down', { retryAfterMs: 60_000 });
    const { call, startedAt } = scripted(clock, [throttled]);
    await expect(new RetryPolicy({ ...EXACT, clock }).execute(call)).rejects.toBe(throttled);
    expect(startedAt).toEqual([0]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stops waiting and rejects with the reason when the signal aborts during a backoff', async () => {
    const clock = new ManualClock(0);
    const { call, startedAt } = scripted(clock, [unavailable()]);
    const controller = new AbortController();
    const result = new RetryPolicy({ ...EXACT, clock }).execute(call, { signal: controller.signal, attempt: 1 });
    await flush();
    controller.abort(new Error('shutting down'));
    await expect(result).rejects.toThrow('shutting down');
    clock.advance(10_000);
    expect(startedAt).toEqual([0]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('bounds each attempt with attemptTimeoutMs and retries the timeout', async () => {
    const clock = new ManualClock(0);
    const policy = new RetryPolicy({ ...EXACT, attemptTimeoutMs: 1_000, clock });
    const signals: AbortSignal[] = [];
    const result = policy.execute(({ signal, attempt }) => {
      signals.push(signal as AbortSignal);
      return attempt === 1 ? new Promise<string>(() => undefined) : 'second';
    });
    await flush();
    clock.advance(1_000);
    await flush();
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(TimeoutError);
    clock.advance(100);
    await expect(result).resolves.toBe('second');
  });

  it('decide() tells the workflow engine when to try again without sleeping', () => {
    const policy = new RetryPolicy({ ...EXACT, clock: new ManualClock(0) });
    expect(policy.decide(1, { kind: 'transient', reason: 'server' })).toMatchObject({ retry: true, delayMs: 100 });
    expect(policy.decide(3, { kind: 'transient', reason: 'server' })).toMatchObject({ retry: true, delayMs: 400 });
    expect(policy.decide(4, { kind: 'transient', reason: 'server' })).toMatchObject({ retry: false, outcome: 'exhausted' });
    expect(policy.decide(1, { kind: 'permanent', reason: 'client' })).toMatchObject({ retry: false, outcome: 'non_retryable' });
    expect(policy.decide(1, { kind: 'deferred', reason: 'circuit-open', retryAfterMs: 5 })).toMatchObject({ retry: false, outcome: 'deferred' });
  });

  it('counts every attempt by policy and outcome', async () => {
    const clock = new ManualClock(0);
    const registry = createMetricsRegistry({ processMetrics: false });
    const policy = new RetryPolicy({ ...EXACT, maxAttempts: 2, clock, metrics: new ResilienceMetrics(registry) });
    const first = policy.execute(scripted(clock, [unavailable()]).call);
    await flush();
    clock.advance(100);
    await first;
    const second = policy.execute(scripted(clock, [unavailable(), unavailable()]).call).catch(() => undefined);
    await flush();
    clock.advance(100);
    await second;
    await policy.execute(scripted(clock, [new InvalidError(422, 'Invalid', 'x')]).call).catch(() => undefined);
    const families = parsePrometheusText(await registry.metrics());
    const attempts = (outcome: string) => sampleValue(families, 'blackroad_retry_attempts_total', { policy: 'exact', outcome });
    expect([attempts('success'), attempts('retry'), attempts('exhausted'), attempts('non_retryable')]).toEqual([1, 2, 1, 1]);
  });

  it('composed around a breaker, stops at an open breaker instead of retrying into it', async () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker('provider:test', { consecutiveFailures: 2, halfOpenAfterMs: 30_000 }, { clock });
    const policy = wrap(new RetryPolicy({ ...EXACT, clock }), breaker);
    const { call, startedAt } = scripted(clock, [unavailable(), unavailable(), unavailable()]);
    const result = policy.execute(call).catch((error: unknown) => error);
    await flush();
    clock.advance(100);
    await flush();
    // The second failure opened the breaker and is reported as the open breaker: no third attempt.
    const error = await result;
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect((error as BrokenCircuitError).retryAfterMs).toBe(30_000);
    expect(startedAt).toEqual([0, 100]);
  });

  it('documents its presets with the numbers the ADR states', () => {
    expect([DEFAULT_RETRY.maxAttempts, DEFAULT_RETRY.backoff.maxDelayMs, DEFAULT_RETRY.attemptTimeoutMs]).toEqual([5, 60_000, 30_000]);
    expect([CRITICAL_RETRY.maxAttempts, CRITICAL_RETRY.backoff.maxDelayMs, CRITICAL_RETRY.attemptTimeoutMs]).toEqual([10, 300_000, 60_000]);
    // Without jitter, DEFAULT waits 1 s, 2 s, 4 s, 8 s between its five attempts.
    const max = () => 0.999_999_9;
    expect([1, 2, 3, 4].map((n) => Math.round(DEFAULT_RETRY.backoff.delayMs(n, 0, max) / 1000))).toEqual([1, 2, 4, 8]);
  });
});

describe('RetryBudget', () => {
  it('allows retries up to 10 % of the calls in the window, with a small floor', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ clock, ratio: 0.1, minRetriesPerWindow: 3, windowMs: 10_000 });
    // No traffic: the floor allows 3.
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, true, false]);
    for (let i = 0; i < 100; i += 1) budget.recordCall();
    // 100 calls allow 10 retries in all: 7 more.
    const granted = Array.from({ length: 20 }, () => budget.tryRetry()).filter(Boolean).length;
    expect(granted).toBe(7);
    expect(budget.snapshot()).toEqual({ calls: 100, retries: 10 });
  });

  it('refills as old calls and retries slide out of the window', () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ clock, minRetriesPerWindow: 1, windowMs: 10_000 });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.advance(10_000);
    expect(budget.tryRetry()).toBe(true);
  });

  it('caps the extra load a failing dependency sees at about 10 %, where unbudgeted retries would triple it', async () => {
    const clock = new ManualClock(0);
    const budgets = new RetryBudgets({ clock, minRetriesPerWindow: 3 });
    const immediate: RetrySettings = { ...EXACT, maxAttempts: 3, backoff: exponentialBackoff({ initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' }) };
    const policy = new RetryPolicy({ ...immediate, clock, budget: budgets.get('provider:down') });
    const unbudgeted = new RetryPolicy({ ...immediate, clock });
    let budgetedCalls = 0;
    let unbudgetedCalls = 0;
    for (let i = 0; i < 200; i += 1) {
      await policy.execute(async () => {
        budgetedCalls += 1;
        throw unavailable();
      }).catch(() => undefined);
      await unbudgeted.execute(async () => {
        unbudgetedCalls += 1;
        throw unavailable();
      }).catch(() => undefined);
    }
    expect(unbudgetedCalls).toBe(600);
    expect(budgetedCalls).toBeLessThanOrEqual(200 + 20);
    expect(budgetedCalls).toBeGreaterThan(200);
    expect(budgets.get('provider:down')).toBe(budgets.get('provider:down'));
  });
});

describe('TimeoutPolicy', () => {
  it('rejects at the deadline and aborts the call', async () => {
    const clock = new ManualClock(0);
    let seen: AbortSignal | undefined;
    const result = new TimeoutPolicy({ timeoutMs: 500, clock }).execute(({ signal }) => {
      seen = signal;
      return new Promise(() => undefined);
    });
    clock.advance(499);
    await flush();
    expect(seen?.aborted).toBe(false);
    clock.advance(1);
    await expect(result).rejects.toBeInstanceOf(TimeoutError);
    expect(seen?.aborted).toBe(true);
  });

  it('passes the result of a call that finishes in time and leaves no timer behind', async () => {
    const clock = new ManualClock(0);
    await expect(new TimeoutPolicy({ timeoutMs: 500, clock }).execute(async () => 42)).resolves.toBe(42);
    expect(clock.pendingTimers).toBe(0);
  });

  it('follows the caller signal: an abort rejects at once with its reason', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const result = new TimeoutPolicy({ timeoutMs: 500, clock }).execute(() => new Promise(() => undefined), { signal: controller.signal, attempt: 1 });
    controller.abort(new Error('reconcile cancelled'));
    await expect(result).rejects.toThrow('reconcile cancelled');
    expect(clock.pendingTimers).toBe(0);
  });
});
