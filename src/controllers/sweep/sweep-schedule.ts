// A Sweep's cron schedule: which tick is due now, which were missed, and when the next one comes.
import { CronExpressionParser, type CronExpression } from 'cron-parser';

/** A schedule the API server accepted but cron-parser cannot use (the CRD's pattern is looser than cron). */
export class InvalidScheduleError extends Error {
  override name = 'InvalidScheduleError';
}
export const isInvalidScheduleError = (error: unknown): error is InvalidScheduleError => error instanceof InvalidScheduleError;

/** Missed ticks are counted up to this many (for logs and events), as the CronJob controller does. */
const MAX_COUNTED_MISSES = 100;

/** What the schedule asks for at `nowMs`, given the time the current run was started for. */
export interface ScheduleDecision {
  /** The tick to start a run for now, if any: the latest tick since the current run's, within its starting deadline. */
  readonly dueMs: number | undefined;
  /** Ticks since the current run's that will never run: every one before the latest, and the latest too when it is too late. At most 100. */
  readonly missed: number;
  /** The first tick after `nowMs` (undefined for a schedule that never fires again). */
  readonly nextMs: number | undefined;
}

/**
 * A parsed cron schedule in UTC.
 *
 * Missed ticks (the operator was down, or a run was still going when the tick came): only the latest
 * one runs, and only while it is late by at most half the time between it and the tick after it, its
 * *starting deadline*. A daily sweep missed at 03:00 still runs when the operator is back by 15:00; after
 * that it waits for the next 03:00, so a late run never lands right before the next one. Ticks are never
 * run in a burst to catch up. This is the CronJob controller's rule with `startingDeadlineSeconds` set to
 * half the period, and with `concurrencyPolicy: Forbid` for ticks that come during a run.
 */
export class SweepSchedule {
  readonly expression: string;

  private constructor(expression: string) {
    this.expression = expression;
  }

  /** Parses `expression` (five fields or a macro). Throws {@link InvalidScheduleError} naming the problem. */
  static parse(expression: string): SweepSchedule {
    try {
      CronExpressionParser.parse(expression, { tz: 'UTC' });
    } catch (error) {
      throw new InvalidScheduleError(`schedule "${expression}" is not a valid cron schedule: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return new SweepSchedule(expression);
  }

  /** The first tick strictly after `afterMs`. */
  next(afterMs: number): number | undefined {
    return step(this.#cron(afterMs), 'next');
  }

  /** The last tick at or before `atMs`. */
  latest(atMs: number): number | undefined {
    return step(this.#cron(atMs + 1), 'prev');
  }

  /**
   * Decides at `nowMs` for a Sweep whose current run was started for `sinceMs` (its tick, or the time a
   * spec change started it): ticks after `sinceMs` are the ones not run yet.
   */
  decide(sinceMs: number, nowMs: number): ScheduleDecision {
    const nextMs = this.next(nowMs);
    const latest = this.latest(nowMs);
    if (latest === undefined || latest <= sinceMs) return { dueMs: undefined, missed: 0, nextMs };
    const earlier = this.#countBetween(sinceMs, latest);
    const following = this.next(latest);
    const deadlineMs = following === undefined ? Number.POSITIVE_INFINITY : (following - latest) / 2;
    if (nowMs - latest <= deadlineMs) return { dueMs: latest, missed: earlier, nextMs };
    return { dueMs: undefined, missed: Math.min(MAX_COUNTED_MISSES, earlier + 1), nextMs };
  }

  /** Ticks strictly between `fromMs` and `toMs`, counted up to the cap. */
  #countBetween(fromMs: number, toMs: number): number {
    const cron = this.#cron(fromMs);
    let count = 0;
    while (count < MAX_COUNTED_MISSES) {
      const tick = step(cron, 'next');
      if (tick === undefined || tick >= toMs) break;
      count += 1;
    }
    return count;
  }

  #cron(currentMs: number): CronExpression {
    return CronExpressionParser.parse(this.expression, { currentDate: new Date(currentMs), tz: 'UTC' });
  }
}

/** The next or previous tick, or undefined when the expression has none (cron-parser throws then). */
function step(cron: CronExpression, direction: 'next' | 'prev'): number | undefined {
  try {
    return (direction === 'next' ? cron.next() : cron.prev()).getTime();
  } catch {
    return undefined;
  }
}
