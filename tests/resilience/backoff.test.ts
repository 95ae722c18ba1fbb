import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constantBackoff, exponentialBackoff, linearBackoff } from '../../src/resilience/backoff.ts';

const top = () => 0.999_999;
const bottom = () => 0;

describe('backoff', () => {
  it('exponential without jitter doubles from the initial delay up to the cap', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 40].map((n) => backoff.delayMs(n, 0, top))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('full jitter waits a uniform part of the exponential delay', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 10_000, jitter: 'full' });
    expect(backoff.delayMs(3, 0, () => 0.5)).toBe(200);
    expect(backoff.delayMs(3, 0, bottom)).toBe(0);
    expect(backoff.delayMs(3, 0, top)).toBe(399);
  });

  it('decorrelated jitter waits between the initial delay and three times the previous wait, capped', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'decorrelated' });
    expect(backoff.delayMs(1, 0, bottom)).toBe(100);
    expect(backoff.delayMs(2, 200, bottom)).toBe(100);
    expect(backoff.delayMs(2, 200, top)).toBe(599);
    expect(backoff.delayMs(5, 900, top)).toBe(1_000);
  });

  it('decorrelated jitter still grows when the previous wait is unknown (a step retried across reconciles)', () => {
    const backoff = exponentialBackoff({ initialDelayMs: 100, maxDelayMs: 100_000, jitter: 'decorrelated' });
    // Stands in the un-jittered previous wait: 100 × 2^(n−2).
    expect(backoff.delayMs(4, 0, top)).toBe(1_199);
    expect(backoff.delayMs(4, 0, bottom)).toBe(100);
  });

  it('linear adds a fixed step per attempt up to the cap; constant never changes', () => {
    const linear = linearBackoff({ initialDelayMs: 100, stepMs: 50, maxDelayMs: 220 });
    expect([1, 2, 3, 4].map((n) => linear.delayMs(n, 0, top))).toEqual([100, 150, 200, 220]);
    const constant = constantBackoff(30);
    expect([1, 9].map((n) => constant.delayMs(n, 0, top))).toEqual([30, 30]);
  });

  it('never waits less than 0 or more than the cap, whatever the attempt, the previous wait or the random draw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('none', 'full', 'decorrelated' as const),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (jitter, initialDelayMs, extraMs, attempt, previousDelayMs, draw) => {
          const backoff = exponentialBackoff({ initialDelayMs, maxDelayMs: initialDelayMs + extraMs, jitter });
          const delay = backoff.delayMs(attempt, previousDelayMs, () => draw);
          return Number.isFinite(delay) && delay >= 0 && delay <= backoff.maxDelayMs;
        },
      ),
    );
  });

  it('rejects a cap below the initial delay', () => {
    expect(() => exponentialBackoff({ initialDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });
});
