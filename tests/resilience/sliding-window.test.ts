import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { SlidingWindow } from '../../src/resilience/sliding-window.ts';

describe('SlidingWindow', () => {
  it('sums each counter over the last window and drops buckets that slid out', () => {
    const clock = new ManualClock(1_000_000);
    const window = new SlidingWindow(10_000, 2, clock);
    window.add(0, 3);
    window.add(1);
    clock.advance(5_000);
    window.add(0);
    expect([window.sum(0), window.sum(1)]).toEqual([4, 1]);
    clock.advance(5_000);
    // The first bucket is now 10 s old: gone.
    expect([window.sum(0), window.sum(1)]).toEqual([1, 0]);
    clock.advance(10_000);
    expect(window.sum(0)).toBe(0);
  });

  it('forgets everything on clear(), even at the very start of the clock', () => {
    const clock = new ManualClock(0);
    const window = new SlidingWindow(10_000, 1, clock);
    window.add(0, 5);
    window.clear();
    expect(window.sum(0)).toBe(0);
    clock.advance(1_000);
    expect(window.sum(0)).toBe(0);
    window.add(0);
    expect(window.sum(0)).toBe(1);
  });
});
