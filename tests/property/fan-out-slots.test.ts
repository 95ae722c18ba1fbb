// Random fan-out groups of http-like units (two checkers, each behind its breaker, answering a random script of
// failures) and job-like units (no breaker, Jobs of random lengths), under a random concurrency, driven through
// operator restarts that forget the breakers and a random stretch of reconciles during which the group holds the
// units not started (a suspension). Whatever the schedule: no more than `concurrency` units are ever in an
// attempt, a unit without a breaker never waits while a slot is held by a unit that could not use it, no unit
// starts while held, deferrals and holds use no attempts, and every unit ends passed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { RetryableError } from '../../src/resilience/classify-failure.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { done, fanOut, wait, type FanOutUnit } from '../../src/workflow/step.ts';
import { WorkflowEngine } from '../../src/workflow/workflow-engine.ts';
import { defineWorkflow } from '../../src/workflow/workflow.ts';
import { exactRetry, FakeStatusStore, RecordingEvents, resource } from '../support/workflow-fakes.ts';
import { propertyRuns, propertyTimeoutMs } from './property-runs.ts';

interface Unit extends FanOutUnit {
  /** The breaker its calls go through (`checker:a` or `checker:b`), or none for a Job. */
  readonly breaker: string | undefined;
  /** How long its Job runs. */
  readonly jobMs: number;
}

interface Schedule {
  readonly units: readonly Unit[];
  readonly concurrency: number;
  /** Each checker's answers, in order (true: a 5xx); every later call passes. */
  readonly failures: Readonly<Record<string, readonly boolean[]>>;
  /** Reconciles after which the operator restarts, its breakers closed again. */
  readonly restarts: ReadonlySet<number>;
  /** Reconciles during which the group holds units not started, for 5 s each time. */
  readonly held: { readonly from: number; readonly to: number };
}

const MAX_ATTEMPTS = 30;
const MAX_RECONCILES = 400;

const schedule: fc.Arbitrary<Schedule> = fc
  .record({
    kinds: fc.array(fc.record({ breaker: fc.constantFrom('checker:a', 'checker:b', undefined), jobMs: fc.integer({ min: 1, max: 40 }).map((s) => s * 1_000) }), { minLength: 2, maxLength: 10 }),
    concurrency: fc.integer({ min: 1, max: 3 }),
    // Mostly failures, so that breakers open (two in a row) in most schedules.
    a: fc.array(fc.constantFrom(true, true, false), { maxLength: 10 }),
    b: fc.array(fc.constantFrom(true, true, false), { maxLength: 10 }),
    restarts: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { maxLength: 4 }),
    heldFrom: fc.integer({ min: 0, max: 20 }),
    heldFor: fc.integer({ min: 0, max: 10 }),
  })
  .map(({ kinds, concurrency, a, b, restarts, heldFrom, heldFor }) => ({
    units: kinds.map((kind, i) => ({ id: `unit-${i}`, ...kind })),
    concurrency,
    failures: { 'checker:a': a, 'checker:b': b },
    restarts: new Set(restarts),
    held: { from: heldFrom, to: heldFrom + heldFor },
  }));

function describeSchedule(s: Schedule): string {
  const units = s.units.map((unit) => `${unit.id}:${unit.breaker ?? `job ${unit.jobMs / 1000}s`}`).join(' ');
  const answers = Object.entries(s.failures).map(([breaker, script]) => `${breaker} ${script.map((fails) => (fails ? 'x' : '.')).join('')}`);
  return `concurrency ${s.concurrency}; ${units}; ${answers.join('; ')}; restarts after ${[...s.restarts].join(',')}; held in reconciles ${s.held.from} to ${s.held.to - 1}`;
}

/** Runs the schedule to its end and checks the invariants along the way. */
async function check(s: Schedule): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const status = new FakeStatusStore();
  const events = new RecordingEvents();
  const idempotency = new IdempotencyMemoryStore({ clock });
  const callsOf = new Map<string, number>();
  const answered = new Map<string, number>();
  const jobsCreated = new Map<string, number>();
  let inAttempt = 0;
  let peak = 0;
  /** Whether the group holds units not started in this reconcile (the resource is suspended). */
  let suspended = false;
  const ran = new Set<string>();
  /** Units whose first attempt began while the group was holding units not started. */
  const startedWhileHeld: string[] = [];

  const workflow = defineWorkflow<{ units: readonly Unit[] }>('sweep', [
    fanOut<{ units: readonly Unit[] }, Unit>({
      name: 'checks',
      concurrency: s.concurrency,
      units: (input) => input.units,
      breaker: (unit) => unit.breaker,
      hold: () => (suspended ? { delayMs: 5_000, reason: 'held' } : undefined),
      run: async (ctx, unit) => {
        if (suspended && !ran.has(unit.id)) startedWhileHeld.push(unit.id);
        ran.add(unit.id);
        inAttempt += 1;
        peak = Math.max(peak, inAttempt);
        try {
          const breaker = unit.breaker;
          if (breaker !== undefined) {
            const verdict = await ctx.sideEffect(
              'check',
              async () => {
                callsOf.set(unit.id, (callsOf.get(unit.id) ?? 0) + 1);
                const index = answered.get(breaker) ?? 0;
                answered.set(breaker, index + 1);
                // Let the other units of the pass run before this answer comes back.
                await new Promise<void>((resolve) => setImmediate(resolve));
                if (s.failures[breaker]?.[index] === true) throw new RetryableError(`${breaker} answered 503`);
                return 'pass';
              },
              { breaker },
            );
            return done({ verdict });
          }
          const createdAtMs = await ctx.sideEffect('job', async () => (jobsCreated.set(unit.id, (jobsCreated.get(unit.id) ?? 0) + 1), clock.now()));
          const leftMs = createdAtMs + unit.jobMs - clock.now();
          return leftMs > 0 ? wait(leftMs, 'job running') : done({ verdict: 'pass' });
        } finally {
          inAttempt -= 1;
        }
      },
    }),
  ]);

  const operator = () => {
    const breakers = new CircuitBreakerRegistry({ clock, defaults: { consecutiveFailures: 2, halfOpenAfterMs: 10_000 } });
    return { breakers, engine: new WorkflowEngine({ owner: 'operator', clock, idempotency, breakers, events }) };
  };
  let { breakers, engine } = operator();
  const input = { units: s.units };
  let finished = false;
  for (let reconcile = 0; reconcile < MAX_RECONCILES && !finished; reconcile += 1) {
    suspended = reconcile >= s.held.from && reconcile < s.held.to;
    const result = await engine.run(workflow, { resource: resource(), input, persisted: status.latest, store: status, retry: exactRetry(clock, MAX_ATTEMPTS) });
    if (result.state !== 'running') {
      expect(result.state, `the run ended ${result.state}`).toBe('succeeded');
      finished = true;
      break;
    }
    // A unit without a breaker waits only while every slot is held by a unit that can use it: one in an attempt,
    // or one between attempts whose breaker lets calls through.
    const records = new Map((status.latest?.units['checks'] ?? []).map((record) => [record.id, record]));
    const holding = s.units.filter((unit) => {
      const record = records.get(unit.id);
      if (record?.state === 'Running' || record?.state === 'Waiting') return true;
      return record?.state === 'Pending' && record.attempts > 0 && (unit.breaker === undefined || breakers.get(unit.breaker).retryAfterMs() === 0);
    }).length;
    const jobWaiting = s.units.find((unit) => unit.breaker === undefined && records.get(unit.id) === undefined);
    if (jobWaiting !== undefined) expect(holding, `${jobWaiting.id} not started after reconcile ${reconcile} with a slot free`).toBeGreaterThanOrEqual(s.concurrency);
    if (s.restarts.has(reconcile)) ({ breakers, engine } = operator());
    clock.advance(result.requeueAfterMs);
  }
  expect(finished, `the run did not end within ${MAX_RECONCILES} reconciles`).toBe(true);

  expect(peak, 'units in an attempt at once').toBeLessThanOrEqual(s.concurrency);
  expect(startedWhileHeld, 'units whose first attempt began while held').toEqual([]);
  for (const saved of status.saved) {
    const units = saved.units['checks'] ?? [];
    expect(units.filter((unit) => unit.state === 'Running' || unit.state === 'Waiting').length).toBeLessThanOrEqual(s.concurrency);
    // A unit held is not started: no attempt, no startedAt.
    for (const unit of units.filter((record) => record.message === 'held')) expect([unit.id, unit.state, unit.attempts, unit.startedAt]).toEqual([unit.id, 'Pending', 0, undefined]);
  }
  const final = new Map((status.latest?.units['checks'] ?? []).map((record) => [record.id, record]));
  for (const unit of s.units) {
    const record = final.get(unit.id);
    expect(record?.state, unit.id).toBe('Succeeded');
    const attempts = record?.attempts ?? 0;
    // Each attempt calls the checker (a deferral or a hold uses none); a Job is created once.
    if (unit.breaker === undefined) expect([attempts, jobsCreated.get(unit.id)], unit.id).toEqual([1, 1]);
    else expect(attempts, `${unit.id}: attempts, ${callsOf.get(unit.id) ?? 0} calls`).toBeLessThanOrEqual(callsOf.get(unit.id) ?? 0);
    const starts = events.events.flatMap((event) => (event.type === 'job.started' && 'unit' in event && event.unit === unit.id ? [event.attempt] : []));
    expect(starts, `${unit.id}: job.started per attempt`).toEqual(Array.from({ length: attempts }, (_, i) => i + 1));
  }
}

describe('fan-out slots under random breaker schedules', () => {
  it(
    'never has more than `concurrency` units in an attempt, never keeps a unit without a breaker waiting behind units that cannot run, starts no unit while held, and ends with every unit passed and no attempt spent on a deferral or a hold',
    async () => {
      await fc.assert(
        fc.asyncProperty(schedule, async (s) => {
          try {
            await check(s);
          } catch (error) {
            throw new Error(`schedule ${describeSchedule(s)}`, { cause: error });
          }
        }),
        propertyRuns(150, 3_000),
      );
    },
    propertyTimeoutMs(30_000, 600_000),
  );
});
