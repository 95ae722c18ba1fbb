// Benchmark: what a circuit breaker and a retry policy add to a call that succeeds, against the bare call in the same run.
// Run: node bench/resilience-breaker-retry.ts   (target: breaker + retry under 2 µs per call)
import { createMetricsRegistry } from '../src/observability/metrics.ts';
import { CircuitBreakerRegistry } from '../src/resilience/circuit-breaker-registry.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { wrap, type Policy } from '../src/resilience/policy.ts';
import { ResilienceMetrics } from '../src/resilience/resilience-metrics.ts';
import { DEFAULT_RETRY, RetryPolicy } from '../src/resilience/retry.ts';
import { RetryBudgets } from '../src/resilience/retry-budget.ts';
import { publish, size } from './report.ts';

const BATCH = size(20_000, 5_000);
const ROUNDS = size(25, 10);
const WARMUP_ROUNDS = 5;
const TARGET_OVERHEAD_NS = 2_000;

/** Nanoseconds per awaited call of `call`, median of timed batches after a warm-up. */
async function nsPerCall(call: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS + WARMUP_ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i += 1) await call();
    const elapsed = Number(process.hrtime.bigint() - start);
    if (round >= WARMUP_ROUNDS) samples.push(elapsed / BATCH);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] ?? Number.NaN;
}

const metrics = new ResilienceMetrics(createMetricsRegistry({ processMetrics: false }));
const breakers = new CircuitBreakerRegistry({ clock: systemClock, metrics });
const budgets = new RetryBudgets({ clock: systemClock });
const { attemptTimeoutMs: _none, ...withoutTimeout } = DEFAULT_RETRY;
const retry = new RetryPolicy({ ...withoutTimeout, clock: systemClock, metrics, budget: budgets.get('provider:bench') });
const retryWithTimeout = new RetryPolicy({ ...DEFAULT_RETRY, name: 'default-timeout', clock: systemClock, metrics, budget: budgets.get('provider:bench') });
const breaker = breakers.get('provider:bench');
const guarded: Policy = wrap(retry, breaker);
const guardedWithTimeout: Policy = wrap(retryWithTimeout, breaker);

let sink = 0;
const work = async (): Promise<number> => (sink += 1);

const baseline = await nsPerCall(() => work());
const breakerOnly = await nsPerCall(() => breaker.execute(work));
const retryOnly = await nsPerCall(() => retry.execute(work));
const composed = await nsPerCall(() => guarded.execute(work));
const withTimeout = await nsPerCall(() => guardedWithTimeout.execute(work));
const baselineAgain = await nsPerCall(() => work());
if (sink === 0) throw new Error('the work never ran');

const bare = 'the bare awaited call, same run';
const method = `per successful awaited call, median of ${ROUNDS} batches of ${BATCH} after ${WARMUP_ROUNDS} warm-up batches; the bare call measured again at the end: ${baselineAgain.toFixed(0)} ns (drift check)`;
publish('resilience-breaker-retry', [
  { name: 'retry + breaker overhead per successful call', value: composed - baseline, unit: 'ns', target: TARGET_OVERHEAD_NS, comparator: '<', baseline, baselineLabel: bare, note: `${composed.toFixed(0)} ns per guarded call minus ${baseline.toFixed(0)} ns per bare call; ${method}` },
  { name: 'breaker alone, per call', value: breakerOnly, unit: 'ns', baseline },
  { name: 'retry (DEFAULT, no attempt timeout) alone, per call', value: retryOnly, unit: 'ns', baseline },
  { name: 'retry + breaker + 30 s attempt timeout, per call', value: withTimeout, unit: 'ns', baseline },
]);
