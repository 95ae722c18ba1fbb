import { describe, expect, it } from 'vitest';
import { MAX_SWEEP_UNITS, SWEEP_HISTORY_LIMIT, sweepSpecSchema, sweepStatusSchema, type SweepStatus } from '../../../src/api/sweep.ts';
import { checkJobName } from '../../../src/providers/checks/job-check-manifest.ts';
import { sweepRun } from '../../../src/controllers/sweep/sweep-run.ts';
import {
  boundedMessage,
  composeSweepStatus,
  HELD_WHILE_SUSPENDED,
  historyAfter,
  recordOf,
  recordsOf,
  RESULT_MESSAGE_MAX_BYTES,
  resultOf,
  resultsOf,
  sweepState,
  tally,
  VALIDATE_STEP,
  WAITING_FOR_DEPENDENCY,
  withUnitsDue,
  type SweepStatusContext,
  type UnitVerdict,
} from '../../../src/controllers/sweep/sweep-status.ts';
import { sweepUnits, type SweepUnit } from '../../../src/controllers/sweep/sweep-units.ts';
import type { WorkflowSnapshot, WorkflowUnit } from '../../../src/workflow/workflow-status-store.ts';

const unit: SweepUnit = sweepUnits(
  sweepSpecSchema.parse({ repositories: [{ name: 'api', url: 'https://github.com/acme/api' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] }),
)[0] as SweepUnit;

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:05.250Z';

describe('unit records in status.results', () => {
  const records: [string, WorkflowUnit][] = [
    ['held before its first attempt', { id: 'api/lint', state: 'Pending', attempts: 0, nextAttemptAt: T1, message: HELD_WHILE_SUSPENDED }],
    ['a retry scheduled', { id: 'api/lint', state: 'Pending', attempts: 2, startedAt: T0, nextAttemptAt: T1, message: 'attempt 2 failed: 503' }],
    ['an attempt in progress', { id: 'api/lint', state: 'Running', attempts: 1, startedAt: T0 }],
    ['waiting on its Job', { id: 'api/lint', state: 'Waiting', attempts: 1, startedAt: T0, nextAttemptAt: T1, message: 'Job running' }],
    ['passed', { id: 'api/lint', state: 'Succeeded', attempts: 1, message: 'Job completed', result: { verdict: 'passed', durationMs: 4000, jobName: 'nightly-0123456789' } satisfies UnitVerdict }],
    ['failed its check', { id: 'api/lint', state: 'Succeeded', attempts: 1, message: 'lint errors', result: { verdict: 'failed', durationMs: 10 } satisfies UnitVerdict }],
    ['errored (timed out)', { id: 'api/lint', state: 'Succeeded', attempts: 1, message: 'timed out', result: { verdict: 'errored', durationMs: 600_000 } satisfies UnitVerdict }],
    ['skipped by failFast', { id: 'api/lint', state: 'Skipped', attempts: 0, message: 'not started: fail-fast after a failed unit' }],
  ];

  for (const [what, record] of records) {
    it(`a unit ${what} reads back as the state the engine left it in`, () => {
      const back = recordOf(resultOf(unit, record));
      expect(back?.state).toBe(record.state);
      expect(back?.attempts).toBe(record.attempts);
      expect(back?.nextAttemptAt).toBe(record.nextAttemptAt);
      if (record.state !== 'Succeeded') expect(back?.startedAt).toBe(record.startedAt);
      else expect((back?.result as UnitVerdict).verdict).toBe((record.result as UnitVerdict).verdict);
    });
  }

  it('maps engine states to the API states, keeping attempts, duration, message and Job name', () => {
    // No Job exists before the unit starts, so none is named.
    expect(resultOf(unit, undefined, 'nightly-0123456789')).toEqual({ repository: 'api', check: 'lint', state: 'Pending', attempts: 0 });
    expect(records.map(([, record]) => resultOf(unit, record).state)).toEqual(['Pending', 'Pending', 'Running', 'Running', 'Passed', 'Failed', 'Errored', 'Skipped']);
    expect(resultOf(unit, records[0]?.[1], 'nightly-0123456789')).toEqual({ repository: 'api', check: 'lint', state: 'Pending', attempts: 0, nextAttemptAt: T1, message: HELD_WHILE_SUSPENDED });
    expect(resultOf(unit, records[4]?.[1])).toEqual({ repository: 'api', check: 'lint', state: 'Passed', attempts: 1, durationMs: 4000, message: 'Job completed', jobName: 'nightly-0123456789' });
    // A unit the runner kept failing has no verdict: errored, its duration from its own times.
    expect(resultOf(unit, { id: 'api/lint', state: 'Failed', attempts: 5, startedAt: T0, finishedAt: T1, message: 'failed after 5 attempts: 503' })).toEqual({
      repository: 'api',
      check: 'lint',
      state: 'Errored',
      attempts: 5,
      durationMs: 5250,
      message: 'failed after 5 attempts: 503',
    });
  });

  it('a unit never started has no record, so the engine starts it when a slot is free', () => {
    expect(recordOf(resultOf(unit, undefined))).toBeUndefined();
    expect(recordsOf(undefined)).toEqual([]);
  });

  it('a unit held before its first attempt or waiting within one is made due when asked; a retry keeps its backoff', () => {
    const snapshot: WorkflowSnapshot = {
      workflow: { id: 'uid/1/run', steps: [{ name: 'checks', state: 'Waiting', attempts: 1, nextAttemptAt: T1 }] },
      units: {
        checks: [
          { id: 'a/lint', state: 'Pending', attempts: 0, nextAttemptAt: T1, message: HELD_WHILE_SUSPENDED },
          { id: 'b/lint', state: 'Waiting', attempts: 1, startedAt: T0, nextAttemptAt: T1, message: HELD_WHILE_SUSPENDED },
          { id: 'c/lint', state: 'Pending', attempts: 1, startedAt: T0, nextAttemptAt: T1, message: 'attempt 1 failed: 503' },
        ],
      },
    };
    const woken = withUnitsDue(snapshot, () => true);
    expect(woken.units['checks']?.map((record) => [record.id, record.nextAttemptAt])).toEqual([
      ['a/lint', undefined],
      ['b/lint', undefined],
      ['c/lint', T1],
    ]);
    expect(woken.workflow.steps[0]?.nextAttemptAt).toBeUndefined();
    expect(withUnitsDue(snapshot, () => false)).toBe(snapshot);
  });
});

describe('result messages', () => {
  it('lose control characters and extra white space', () => {
    expect(boundedMessage('line 1\n\tline\u0000 2\r\n')).toBe('line 1 line 2');
  });

  it('are cut to 256 bytes of JSON at a character boundary, whatever they contain', () => {
    for (const text of ['x'.repeat(10_000), '"\\'.repeat(5_000), '€'.repeat(5_000), '😀'.repeat(5_000), `${'a'.repeat(254)}😀😀`]) {
      const bounded = boundedMessage(text);
      expect(Buffer.byteLength(JSON.stringify(bounded)) - 2).toBeLessThanOrEqual(RESULT_MESSAGE_MAX_BYTES);
      expect(bounded.endsWith('…')).toBe(true);
      expect(bounded).not.toContain('\uFFFD');
      expect(text.startsWith(bounded.slice(0, -1).trimEnd())).toBe(true);
    }
    expect(boundedMessage('short')).toBe('short');
  });
});

describe('the status of a large Sweep', () => {
  /**
   * The bound: etcd stores an object in at most 1.5 MiB (its default request limit). The status of the
   * largest Sweep (1,000 units, every name at its longest, every message at its longest, ten past runs,
   * long condition messages) must stay under 640 KiB, so it is never more than about 40 % of an object
   * and leaves over 900 KB for the spec, the metadata and managedFields.
   */
  const STATUS_BOUND_BYTES = 640 * 1024;

  it('stays under 640 KiB with 1,000 units, the longest names and long hostile messages', () => {
    const checks = Array.from({ length: 10 }, (_, i) => ({ name: `${'c'.repeat(60)}-${i}`, runner: 'job', image: 'node:24' }));
    const repositories = Array.from({ length: 100 }, (_, i) => ({ name: `${'r'.repeat(96)}${String(i).padStart(4, '0')}`, url: `https://github.com/acme/${i}` }));
    const units = sweepUnits(sweepSpecSchema.parse({ repositories, checks }));
    expect(units).toHaveLength(MAX_SWEEP_UNITS);
    const hostile = `${'"\u0001€😀'.repeat(2_000)}`;
    const records: WorkflowUnit[] = units.map((u, i) =>
      i < 100
        ? { id: u.id, state: 'Waiting', attempts: 999, startedAt: T0, nextAttemptAt: T1, message: hostile }
        : { id: u.id, state: 'Succeeded', attempts: 1000, message: hostile, result: { verdict: i % 2 === 0 ? 'failed' : 'errored', durationMs: 604_800_000 } satisfies UnitVerdict },
    );
    const results = resultsOf(units, records, (u) => checkJobName(`${'s'.repeat(250)}`, `9999999999-a1b2c3d4e5-20260101T0300Z`, u.repository.name, u.check.name));
    const { summary, progress } = tally(results);
    const longText = 'm'.repeat(1024);
    const status: SweepStatus = {
      observedGeneration: 9_999_999,
      phase: 'Running',
      conditions: ['Ready', 'Reconciling', 'Stalled'].map((type) => ({ type, status: 'False', reason: 'Running', message: longText, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 9_999_999 })),
      workflow: { id: `${'u'.repeat(36)}/9999999999/a1b2c3d4e5-20260101T0300Z`, startedAt: T0, steps: [{ name: 'checks', state: 'Waiting', attempts: 1, startedAt: T0, nextAttemptAt: T1, message: longText }] },
      results,
      summary,
      progress,
      lastScheduleTime: T0,
      nextScheduleTime: T1,
      history: Array.from({ length: SWEEP_HISTORY_LIMIT }, () => ({ startedAt: T0, finishedAt: T1, phase: 'Failed' as const, summary })),
    };
    sweepStatusSchema.parse(status);
    const bytes = Buffer.byteLength(JSON.stringify(status));
    expect(bytes).toBeLessThan(STATUS_BOUND_BYTES);
    // Not a vacuous bound: the same status with messages left uncut would be far over it.
    expect(Buffer.byteLength(JSON.stringify({ ...status, results: results.map((r) => ({ ...r, message: hostile })) }))).toBeGreaterThan(STATUS_BOUND_BYTES * 10);
  });
});

describe('summary, progress and phase', () => {
  const units = sweepUnits(
    sweepSpecSchema.parse({
      repositories: ['a', 'b', 'c'].map((name) => ({ name, url: `https://github.com/acme/${name}` })),
      checks: [
        { name: 'lint', runner: 'job', image: 'node:24' },
        { name: 'test', runner: 'job', image: 'node:24' },
      ],
    }),
  );
  const done = (id: string, verdict: UnitVerdict['verdict']): WorkflowUnit => ({ id, state: 'Succeeded', attempts: 1, result: { verdict } });
  const snapshot = (finished: boolean, state: 'Succeeded' | 'Failed' | 'Waiting'): WorkflowSnapshot => ({
    workflow: { id: 'u/1/a1b2c3d4e5', startedAt: T0, ...(finished ? { finishedAt: T1 } : {}), steps: [{ name: 'checks', state, attempts: 1 }] },
    units: {},
  });

  it('counts each outcome and the units finished, as "completed/total"', () => {
    const results = resultsOf(units, [done('a/lint', 'passed'), done('a/test', 'failed'), done('b/lint', 'errored'), { id: 'b/test', state: 'Skipped', attempts: 0 }, { id: 'c/lint', state: 'Waiting', attempts: 1, nextAttemptAt: T1 }], () => undefined);
    expect(results.map((r) => `${r.repository}/${r.check}`)).toEqual(['a/lint', 'a/test', 'b/lint', 'b/test', 'c/lint', 'c/test']);
    expect(tally(results)).toEqual({ summary: { passed: 1, failed: 1, errored: 1, skipped: 1 }, progress: { total: 6, completed: 4, text: '4/6' }, running: 1 });
  });

  it('is Pending before any unit starts, Running while units run, Succeeded when all passed, Failed otherwise', () => {
    expect(sweepState({ suspended: false, snapshot: snapshot(false, 'Waiting'), results: resultsOf(units, [], () => undefined) })).toMatchObject({ phase: 'Pending', kind: 'progressing' });
    expect(sweepState({ suspended: false, snapshot: snapshot(false, 'Waiting'), results: resultsOf(units, [{ id: 'a/lint', state: 'Running', attempts: 1 }], () => undefined) })).toEqual({
      phase: 'Running',
      kind: 'progressing',
      reason: 'Running',
      message: '0/6 units finished, 1 in progress',
    });
    const allPassed = resultsOf(units, units.map((u) => done(u.id, 'passed')), () => undefined);
    expect(sweepState({ suspended: false, snapshot: snapshot(true, 'Succeeded'), results: allPassed })).toEqual({ phase: 'Succeeded', kind: 'ready', reason: 'Succeeded', message: 'Every check passed: 6 units' });
    const mixed = resultsOf(units, units.map((u, i) => done(u.id, i === 0 ? 'failed' : i < 3 ? 'errored' : 'passed')), () => undefined);
    expect(sweepState({ suspended: false, snapshot: snapshot(true, 'Failed'), results: mixed })).toEqual({ phase: 'Failed', kind: 'stalled', reason: 'ChecksFailed', message: '1 unit failed, 2 errored; 3 of 6 passed' });
    expect(sweepState({ suspended: true, snapshot: snapshot(false, 'Waiting'), results: resultsOf(units, [{ id: 'a/lint', state: 'Waiting', attempts: 1, nextAttemptAt: T1 }], () => undefined) })).toEqual({
      phase: 'Suspended',
      kind: 'suspended',
      reason: 'Suspended',
      message: 'spec.suspend is true; 1 units in flight finish, no other starts',
    });
  });
  it('says DependencyUnavailable while a unit waits for an open breaker (Pending until a unit has started), and InvalidSpec when validate failed', () => {
    const blocked = resultsOf(units, [done('a/lint', 'passed'), { id: 'a/test', state: 'Waiting', attempts: 1, nextAttemptAt: T1, message: `${WAITING_FOR_DEPENDENCY}circuit breaker checker:checks.example is open; retry in 1500 ms` }], () => undefined);
    expect(sweepState({ suspended: false, snapshot: snapshot(false, 'Waiting'), results: blocked })).toEqual({
      phase: 'Running',
      kind: 'progressing',
      reason: 'DependencyUnavailable',
      message: '1/6 units finished; a/test is waiting for a dependency: circuit breaker checker:checks.example is open; retry in 1500 ms',
    });
    // Units held back before their first attempt: nothing has started, so the phase is still Pending; each reads back as it was.
    const held = { state: 'Pending' as const, attempts: 0, nextAttemptAt: T1, message: `${WAITING_FOR_DEPENDENCY}circuit breaker checker:checks.example is open; retry in 1500 ms` };
    const notStarted = resultsOf(units, [{ id: 'a/lint', ...held }, { id: 'a/test', ...held }], () => undefined);
    expect(notStarted[0]).toEqual({ repository: 'a', check: 'lint', ...held });
    expect(recordsOf(notStarted)).toEqual([{ id: 'a/lint', ...held }, { id: 'a/test', ...held }]);
    expect(sweepState({ suspended: false, snapshot: snapshot(false, 'Waiting'), results: notStarted })).toEqual({
      phase: 'Pending',
      kind: 'progressing',
      reason: 'DependencyUnavailable',
      message: '0/6 units finished; a/lint is waiting for a dependency: circuit breaker checker:checks.example is open; retry in 1500 ms',
    });
    const invalid: WorkflowSnapshot = {
      workflow: { id: 'u/1/a1b2c3d4e5', startedAt: T0, finishedAt: T1, steps: [{ name: VALIDATE_STEP, state: 'Failed', attempts: 1, message: 'Secret ci/checker not found' }, { name: 'checks', state: 'Pending', attempts: 0 }] },
      units: {},
    };
    expect(sweepState({ suspended: false, snapshot: invalid, results: resultsOf(units, [], () => undefined) })).toEqual({ phase: 'Failed', kind: 'stalled', reason: 'InvalidSpec', message: 'Secret ci/checker not found' });
  });
});

describe('history of runs', () => {
  const previous = (id: string, finished: boolean, history?: SweepStatus['history']): SweepStatus => ({
    phase: 'Running',
    workflow: { id, startedAt: T0, ...(finished ? { finishedAt: T1 } : {}), steps: [] },
    summary: { passed: 3, failed: finished ? 1 : 0, errored: 0, skipped: 0 },
    ...(history === undefined ? {} : { history }),
  });

  it('gains the previous run, newest first, when a new run replaces it; the same run adds nothing', () => {
    expect(historyAfter(previous('u/1/a', true), 'u/1/a')).toBeUndefined();
    expect(historyAfter(previous('u/1/a', true), 'u/1/a-20260101T0300Z')).toEqual([{ startedAt: T0, finishedAt: T1, phase: 'Failed', summary: { passed: 3, failed: 1, errored: 0, skipped: 0 } }]);
    // A run superseded before it finished keeps its last phase and has no finishedAt.
    expect(historyAfter(previous('u/1/a', false), 'u/2/b')).toEqual([{ startedAt: T0, phase: 'Running', summary: { passed: 3, failed: 0, errored: 0, skipped: 0 } }]);
  });

  it('keeps the last 10 runs', () => {
    const full = Array.from({ length: SWEEP_HISTORY_LIMIT }, (_, i) => ({ startedAt: `2025-12-${String(i + 1).padStart(2, '0')}T03:00:00Z`, phase: 'Succeeded' as const, summary: { passed: i, failed: 0, errored: 0, skipped: 0 } }));
    const next = historyAfter(previous('u/1/a', true, full), 'u/1/b') ?? [];
    expect(next).toHaveLength(SWEEP_HISTORY_LIMIT);
    expect(next[0]?.startedAt).toBe(T0);
    expect(next.at(-1)?.summary.passed).toBe(8);
  });
});

describe('the whole status of a Sweep for a snapshot', () => {
  const units = sweepUnits(sweepSpecSchema.parse({ repositories: [{ name: 'api', url: 'https://github.com/acme/api' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] }));
  const snapshot = (id: string, finished: boolean): WorkflowSnapshot => ({
    workflow: { id, startedAt: T0, ...(finished ? { finishedAt: T1 } : {}), steps: [{ name: 'checks', state: finished ? 'Succeeded' : 'Waiting', attempts: 1 }] },
    units: { checks: [finished ? { id: 'api/lint', state: 'Succeeded', attempts: 1, result: { verdict: 'passed', jobName: 'nightly-0123456789' } } : { id: 'api/lint', state: 'Waiting', attempts: 1, startedAt: T0, nextAttemptAt: T1 }] },
  });
  const context = (overrides: Partial<SweepStatusContext> = {}): SweepStatusContext => ({
    units,
    run: sweepRun(2, 'a1b2c3d4e5', Date.parse('2026-01-02T03:00:00Z')),
    suspended: false,
    nextScheduleMs: Date.parse('2026-01-03T03:00:00Z'),
    jobNameOf: () => 'nightly-0123456789',
    generation: 3,
    ...overrides,
  });
  const NOW = Date.parse('2026-01-02T03:00:05Z');

  it('writes results, counts, schedule times and the phase with its conditions, and keeps what it does not own', () => {
    const previous: SweepStatus & { extra?: string } = { extra: 'kept', phase: 'Succeeded', workflow: { id: 'u/2/a1b2c3d4e5', startedAt: T0, finishedAt: T1, steps: [] }, summary: { passed: 1, failed: 0, errored: 0, skipped: 0 } };
    const status = composeSweepStatus(previous, snapshot('u/2/a1b2c3d4e5-20260102T0300Z', false), context(), NOW) as SweepStatus & { extra?: string };
    expect(status).toMatchObject({
      extra: 'kept',
      observedGeneration: 3,
      phase: 'Running',
      results: [{ repository: 'api', check: 'lint', state: 'Running', attempts: 1, jobName: 'nightly-0123456789', startedAt: T0, nextAttemptAt: T1 }],
      summary: { passed: 0, failed: 0, errored: 0, skipped: 0 },
      progress: { total: 1, completed: 0, text: '0/1' },
      lastScheduleTime: '2026-01-02T03:00:00.000Z',
      nextScheduleTime: '2026-01-03T03:00:00.000Z',
      history: [{ startedAt: T0, finishedAt: T1, phase: 'Succeeded', summary: { passed: 1, failed: 0, errored: 0, skipped: 0 } }],
    });
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'Running'],
      ['Reconciling', 'True', 'Running'],
      ['Stalled', 'False', 'Idle'],
    ]);
    sweepStatusSchema.parse(status);
  });

  it('drops nextScheduleTime while suspended, and keeps the last tick when a run was not started by the schedule', () => {
    const previous: SweepStatus = { lastScheduleTime: '2026-01-01T03:00:00.000Z', nextScheduleTime: '2026-01-02T03:00:00.000Z' };
    const status = composeSweepStatus(previous, snapshot('u/3/ffffffffff', true), context({ run: sweepRun(3, 'ffffffffff'), suspended: true, nextScheduleMs: undefined }), NOW);
    expect(status.lastScheduleTime).toBe('2026-01-01T03:00:00.000Z');
    expect(status.nextScheduleTime).toBeUndefined();
    expect(status.phase).toBe('Suspended');
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
  });
});
