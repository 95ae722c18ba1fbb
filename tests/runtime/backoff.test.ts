import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { ExponentialBackoff } from '../../src/runtime/backoff.ts';

describe('ExponentialBackoff', () => {
  it('draws each delay under a ceiling that doubles from 0.8 s to 30 s (full jitter)', () => {
    const clock = new ManualClock();
    const backoff = new ExponentialBackoff(clock, { random: () => 0.999999 });
    const delays = Array.from({ length: 8 }, () => backoff.next());
    expect(delays.map((d) => Math.round(d / 100) * 100)).toEqual([800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000]);
    const low = new ExponentialBackoff(clock, { random: () => 0 });
    expect(low.next()).toBe(0);
  });

  it('spreads delays uniformly below the ceiling', () => {
    const clock = new ManualClock();
    let seed = 1;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const samples = Array.from({ length: 2000 }, () => new ExponentialBackoff(clock, { random }).next());
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    expect(Math.max(...samples)).toBeLessThan(800);
    expect(mean).toBeGreaterThan(350);
    expect(mean).toBeLessThan(450);
  });

  it('starts over after two minutes without a failure, not before', () => {
    const clock = new ManualClock();
    const backoff = new ExponentialBackoff(clock, { random: () => 0.5 });
    backoff.next();
    backoff.next();
    backoff.next();
    expect(backoff.ceilingMs).toBe(6400);
    clock.advance(120_000);
    expect(backoff.next()).toBe(3200);
    clock.advance(120_001);
    expect(backoff.next()).toBe(400);
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(400);
  });
});
