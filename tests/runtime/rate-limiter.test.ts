import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { defaultControllerRateLimiter, ItemExponentialRateLimiter, TokenBucketRateLimiter } from '../../src/runtime/rate-limiter.ts';

describe('rate limiters', () => {
  it('doubles the per-key delay from 5 ms up to the 1000 s cap, independently per key', () => {
    const limiter = new ItemExponentialRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 22 }, () => limiter.when('a'));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(limiter.when('b')).toBe(5);
    limiter.forget('a');
    expect(limiter.when('a')).toBe(5);
  });

  it('stays finite after very many failures', () => {
    const limiter = new ItemExponentialRateLimiter(5, 1_000_000);
    for (let i = 0; i < 5000; i += 1) limiter.when('a');
    expect(limiter.when('a')).toBe(1_000_000);
  });

  it('lets a burst through, then spreads retries at the bucket rate, refilling with time', () => {
    const clock = new ManualClock();
    const bucket = new TokenBucketRateLimiter(clock, 10, 3);
    expect([bucket.when('a'), bucket.when('b'), bucket.when('c')]).toEqual([0, 0, 0]);
    expect(bucket.when('d')).toBe(100);
    expect(bucket.when('e')).toBe(200);
    clock.advance(10_000);
    expect(bucket.when('f')).toBe(0);
  });

  it('the default controller limiter takes the longer of per-key backoff and the overall bucket', () => {
    const clock = new ManualClock();
    const limiter = defaultControllerRateLimiter(clock);
    for (let i = 0; i < 100; i += 1) expect(limiter.when(`k${i}`)).toBe(5);
    expect(limiter.when('k-101')).toBe(100);
    expect(limiter.numRequeues('k1')).toBe(1);
  });
});
