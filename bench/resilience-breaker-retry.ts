// Benchmark: what a circuit breaker and a retry policy add to a call that succeeds, against the bare call in the same run.
// Run: node bench/resilience-breaker-retry.ts   (target: breaker + retry under 2 µs per call)
import { createMetricsRegistry } from '../src/observability/metrics.ts';
import { CircuitBreakerRegistry } from '../src/resilience/circuit-breaker-registry.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { wrap, type Policy } from '../src/resilience/policy.ts';
import { ResilienceMetrics } from '../src/resilience/resilience-metrics.ts';
import { DEFAULT_RETRY, RetryPolicy } from '../src/resilience/retry.ts';
import { RetryBudgets } from '../src/resilience/retry-budget.ts';

const BATCH = 20_000;
const ROUNDS = 25;
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

const rows: [string, number][] = [];
const baseline = await nsPerCall(() => work());
rows.push(['bare call (baseline)', baseline]);
rows.push(['breaker', await nsPerCall(() => breaker.execute(work))]);
rows.push(['retry (DEFAULT, no attempt timeout)', await nsPerCall(() => retry.execute(work))]);
const composed = await nsPerCall(() => guarded.execute(work));
rows.push(['retry + breaker', composed]);
rows.push(['retry + breaker + 30 s attempt timeout', await nsPerCall(() => guardedWithTimeout.execute(work))]);
const baselineAgain = await nsPerCall(() => work());
rows.push(['bare call (again, drift check)', baselineAgain]);

console.log(`resilience: per successful call, median of ${ROUNDS} batches of ${BATCH} (node ${process.version})`);
for (const [name, ns] of rows) {
  const overhead = ns - baseline;
  console.log(`  ${name.padEnd(40)} ${ns.toFixed(0).padStart(6)} ns   ${(ns / baseline).toFixed(2).padStart(5)}× baseline   overhead ${overhead.toFixed(0).padStart(6)} ns`);
}
const overheadNs = composed - baseline;
console.log(`  target: retry + breaker overhead < ${TARGET_OVERHEAD_NS} ns per call → ${overheadNs.toFixed(0)} ns: ${overheadNs < TARGET_OVERHEAD_NS ? 'met' : 'NOT met'}`);
if (sink === 0) console.log('unreachable');
