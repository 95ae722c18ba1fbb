import { describe, expect, it } from 'vitest';
import { InvalidScheduleError, SweepSchedule } from '../../../src/controllers/sweep/sweep-schedule.ts';

const at = (iso: string): number => Date.parse(iso);

describe('a Sweep schedule', () => {
  const nightly = SweepSchedule.parse('0 3 * * *');

  it('gives the next tick strictly after a time and the latest at or before it, in UTC', () => {
    expect(nightly.next(at('2026-01-01T02:59:59Z'))).toBe(at('2026-01-01T03:00:00Z'));
    expect(nightly.next(at('2026-01-01T03:00:00Z'))).toBe(at('2026-01-02T03:00:00Z'));
    expect(nightly.latest(at('2026-01-01T03:00:00Z'))).toBe(at('2026-01-01T03:00:00Z'));
    expect(nightly.latest(at('2026-01-01T02:59:59Z'))).toBe(at('2025-12-31T03:00:00Z'));
    expect(SweepSchedule.parse('@hourly').next(at('2026-01-01T03:00:01Z'))).toBe(at('2026-01-01T04:00:00Z'));
  });

  it('has nothing due before the first tick after the current run started', () => {
    expect(nightly.decide(at('2026-01-01T01:00:00Z'), at('2026-01-01T02:59:00Z'))).toEqual({ dueMs: undefined, missed: 0, nextMs: at('2026-01-01T03:00:00Z') });
    // The run was started for the 03:00 tick itself: that tick is not due again.
    expect(nightly.decide(at('2026-01-01T03:00:00Z'), at('2026-01-01T03:00:30Z')).dueMs).toBeUndefined();
  });

  it('makes a tick due at its time, and the one after it next', () => {
    expect(nightly.decide(at('2026-01-01T01:00:00Z'), at('2026-01-01T03:00:00Z'))).toEqual({ dueMs: at('2026-01-01T03:00:00Z'), missed: 0, nextMs: at('2026-01-02T03:00:00Z') });
  });

  it('runs only the latest of several missed ticks, and counts the others as missed', () => {
    // Down for three days: the runs of the 1st and 2nd are dropped, the 3rd's runs at 09:00.
    expect(nightly.decide(at('2025-12-31T03:00:00Z'), at('2026-01-03T09:00:00Z'))).toEqual({ dueMs: at('2026-01-03T03:00:00Z'), missed: 2, nextMs: at('2026-01-04T03:00:00Z') });
  });

  it('skips a tick late by more than half the time to the next one (its starting deadline)', () => {
    const since = at('2026-01-01T04:00:00Z');
    expect(nightly.decide(since, at('2026-01-02T15:00:00Z')).dueMs).toBe(at('2026-01-02T03:00:00Z'));
    expect(nightly.decide(since, at('2026-01-02T15:00:01Z'))).toEqual({ dueMs: undefined, missed: 1, nextMs: at('2026-01-03T03:00:00Z') });
    const everyFive = SweepSchedule.parse('*/5 * * * *');
    expect(everyFive.decide(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:07:30Z')).dueMs).toBe(at('2026-01-01T00:05:00Z'));
    expect(everyFive.decide(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:07:31Z')).dueMs).toBeUndefined();
  });

  it('counts at most 100 missed ticks, however long the outage', () => {
    const everyMinute = SweepSchedule.parse('* * * * *');
    expect(everyMinute.decide(at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:10Z'))).toMatchObject({ dueMs: at('2026-01-08T00:00:00Z'), missed: 100 });
  });

  it('refuses a schedule cron-parser cannot use, naming it', () => {
    expect(() => SweepSchedule.parse('0 0 31 2 *')).toThrow(InvalidScheduleError);
    expect(() => SweepSchedule.parse('61 * * * *')).toThrow(/"61 \* \* \* \*" is not a valid cron schedule/);
  });
});
