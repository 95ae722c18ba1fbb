import { describe, expect, it } from 'vitest';
import type { SweepStatus, UnitResult, UnitState } from '../../../src/api/sweep.ts';
import { SweepAnnouncer, sweepChanges } from '../../../src/controllers/sweep/sweep-events.ts';
import { SweepMetrics } from '../../../src/controllers/sweep/sweep-metrics.ts';
import { tally } from '../../../src/controllers/sweep/sweep-status.ts';
import { DomainEvents } from '../../../src/events/domain-events.ts';
import { EventBus } from '../../../src/events/event-bus.ts';
import { createMetricsRegistry } from '../../../src/observability/metrics.ts';
import { ManualClock } from '../../../src/resilience/clock.ts';
import { captureLogger, metricValue, sweepRef } from '../../events/event-fixtures.ts';

const SHAPE = { repositories: 10, checks: 2, concurrency: 5 };

function status(id: string, states: readonly UnitState[], finished?: { readonly failedStep?: string }): SweepStatus {
  const results: UnitResult[] = states.map((state, i) => ({ repository: `r${Math.floor(i / 2)}`, check: i % 2 === 0 ? 'lint' : 'test', state, attempts: state === 'Pending' ? 0 : 1 }));
  return {
    workflow: {
      id,
      startedAt: '2026-01-01T00:00:00.000Z',
      ...(finished === undefined ? {} : { finishedAt: '2026-01-01T00:02:00.000Z' }),
      steps: [{ name: 'checks', state: finished === undefined ? 'Waiting' : finished.failedStep === undefined ? 'Succeeded' : 'Failed', attempts: 1, ...(finished?.failedStep === undefined ? {} : { message: finished.failedStep }) }],
    },
    results,
  };
}

const fill = (done: readonly UnitState[], total = 20): UnitState[] => [...done, ...Array.from({ length: total - done.length }, (): UnitState => 'Pending')];

describe('changes between two saved statuses of a Sweep', () => {
  it('a new run has started, with its size; nothing has finished yet', () => {
    const changes = sweepChanges(undefined, status('u/1/a', fill([])), SHAPE);
    expect(changes).toEqual({ started: { repositories: 10, checks: 2, concurrency: 5, total: 20 }, finishedUnits: [], progress: undefined, finished: undefined });
  });

  it('each unit finishes once, under its check and result', () => {
    const before = status('u/1/a', fill(['Passed', 'Running']));
    const after = status('u/1/a', fill(['Passed', 'Failed', 'Errored']));
    expect(sweepChanges(before, after, SHAPE).finishedUnits).toEqual([
      { check: 'test', result: 'failed' },
      { check: 'lint', result: 'errored' },
    ]);
    expect(sweepChanges(after, after, SHAPE).finishedUnits).toEqual([]);
    // The units of a new run finish again, for that run.
    expect(sweepChanges(after, status('u/1/b', fill(['Passed'])), SHAPE).finishedUnits).toEqual([{ check: 'lint', result: 'passed' }]);
  });

  it('reports progress each time another tenth of the units has finished, not on every unit', () => {
    const progressAt = (from: number, to: number) => sweepChanges(status('u/1/a', fill(Array<UnitState>(from).fill('Passed'))), status('u/1/a', fill(Array<UnitState>(to).fill('Passed'))), SHAPE).progress;
    expect(progressAt(0, 1)).toBeUndefined();
    expect(progressAt(1, 2)).toMatchObject({ completed: 2, total: 20, passed: 2, text: '2/20' });
    expect(progressAt(2, 3)).toBeUndefined();
    expect(progressAt(3, 9)).toMatchObject({ completed: 9 });
  });

  it('a run finishes once: completed when every unit ran, failed when failFast stopped it', () => {
    const running = status('u/1/a', fill(Array<UnitState>(19).fill('Passed')));
    const done = status('u/1/a', Array<UnitState>(20).fill('Passed'), {});
    expect(sweepChanges(running, done, SHAPE).finished).toEqual({ kind: 'completed', durationMs: 120_000, message: '' });
    expect(sweepChanges(done, done, SHAPE).finished).toBeUndefined();
    const stopped = status('u/1/a', ['Failed', ...Array<UnitState>(19).fill('Skipped')], { failedStep: '1 of 20 units failed, 19 skipped' });
    expect(sweepChanges(running, stopped, SHAPE).finished).toEqual({ kind: 'failed', durationMs: 120_000, message: '1 of 20 units failed, 19 skipped' });
  });
});

describe('announcing a Sweep', () => {
  it('emits sweep.* CloudEvents with the run as correlation id and counts units by check and result', async () => {
    const clock = new ManualClock();
    const registry = createMetricsRegistry({ processMetrics: false });
    const log = captureLogger();
    const bus = new EventBus({ clock, logger: log.logger, registry });
    const metrics = new SweepMetrics(registry);
    const announcer = new SweepAnnouncer({ events: new DomainEvents(bus), metrics, logger: log.logger });
    const ref = sweepRef();
    const tell = (previous: SweepStatus | undefined, next: SweepStatus): void => {
      const counted = tally(next.results ?? []);
      announcer.announce(ref, next.workflow?.id ?? '', sweepChanges(previous, next, SHAPE), { ...counted.summary, ...counted.progress });
    };
    const first = status('u/1/a', fill([]));
    tell(undefined, first);
    const half = status('u/1/a', fill(Array<UnitState>(10).fill('Passed')));
    tell(first, half);
    const done = status('u/1/a', [...Array<UnitState>(18).fill('Passed'), 'Failed', 'Errored'], { failedStep: '2 of 20 units failed' });
    tell(half, done);

    const events = bus.since(0).map((event) => event.cloudEvent);
    expect(events.map((event) => event.type)).toEqual(['io.blackroad.operator.sweep.started', 'io.blackroad.operator.sweep.progress', 'io.blackroad.operator.sweep.completed']);
    expect(events.every((event) => event.correlationid === 'u/1/a' && event.source === '/apis/operator.blackroad.io/v1alpha1/namespaces/quality/sweeps/nightly')).toBe(true);
    expect(events[1]?.data).toEqual({ total: 20, completed: 10, passed: 10, failed: 0, errored: 0, skipped: 0 });
    expect(events[2]?.data).toEqual({ total: 20, completed: 20, passed: 18, failed: 1, errored: 1, skipped: 0, durationMs: 120_000 });
    expect(await metricValue(registry, 'blackroad_sweep_units_total', { check: 'lint', result: 'passed' })).toBe(9);
    expect(await metricValue(registry, 'blackroad_sweep_units_total', { check: 'test', result: 'passed' })).toBe(9);
    expect(await metricValue(registry, 'blackroad_sweep_units_total', { check: 'lint', result: 'failed' })).toBe(1);
    expect(await metricValue(registry, 'blackroad_sweep_units_total', { check: 'test', result: 'errored' })).toBe(1);
  });

  it('reads the running gauge at scrape time from its source', async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const metrics = new SweepMetrics(registry);
    expect(await metricValue(registry, 'blackroad_sweep_units_running')).toBe(0);
    let running = 7;
    metrics.countRunningWith(() => running);
    expect(await metricValue(registry, 'blackroad_sweep_units_running')).toBe(7);
    running = 2;
    expect(await metricValue(registry, 'blackroad_sweep_units_running')).toBe(2);
  });
});
