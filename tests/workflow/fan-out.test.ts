import { describe, expect, it } from 'vitest';
import { ServerError } from '../../src/kube/errors.ts';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { NonRetryableError, RetryableError } from '../../src/resilience/classify-failure.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { done, fail, fanOut, step, wait, type FanOutUnit } from '../../src/workflow/step.ts';
import { defineWorkflow } from '../../src/workflow/workflow.ts';
import { drive, engineFor, exactRetry, resource, world, type World } from '../support/workflow-fakes.ts';

interface Check extends FanOutUnit {
  readonly repo: string;
  readonly check: string;
}
interface SweepInput {
  readonly checks: readonly Check[];
}

const checks = (n: number): Check[] => Array.from({ length: n }, (_, i) => ({ id: `repo-${i}/lint`, repo: `repo-${i}`, check: 'lint' }));
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function reconcile(w: World, workflow: Parameters<ReturnType<typeof engineFor>['run']>[0], input: SweepInput, owner = 'process-1') {
  return engineFor(w, owner).run(workflow as never, { resource: resource(), input, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
}

describe('fan-out groups', () => {
  it('never has more than `concurrency` units in progress, and refills finished slots within the reconcile', async () => {
    const w = world();
    let running = 0;
    let peak = 0;
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 3,
        units: (input) => input.checks,
        run: async (_ctx, unit) => {
          running += 1;
          peak = Math.max(peak, running);
          await flush();
          running -= 1;
          return done({ passed: true, repo: unit.repo });
        },
      }),
    ]);
    const results = await drive(engineFor(w), workflow, w, { checks: checks(10) });
    expect(results.map((r) => r.state)).toEqual(['succeeded']);
    expect(peak).toBe(3);
    const units = w.status.latest?.units['checks'] ?? [];
    expect(units).toHaveLength(10);
    expect(units.every((unit) => unit.state === 'Succeeded' && unit.attempts === 1)).toBe(true);
    expect(units[4]).toMatchObject({ id: 'repo-4/lint', result: { passed: true, repo: 'repo-4' } });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ name: 'checks', state: 'Succeeded', message: '10 of 10 units succeeded' });
  });

  it('saves a finished unit and the start of the unit taking its slot in one write, the start before that unit runs', async () => {
    const w = world();
    const unitStates = (snapshot: { units: Record<string, readonly { id: string; state: string }[]> }) => new Map((snapshot.units['checks'] ?? []).map((unit) => [unit.id, unit.state]));
    const seenByRunningUnit: (string | undefined)[] = [];
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 1,
        units: (input) => input.checks,
        run: async (_ctx, unit) => {
          // What the store holds when the unit runs: its own start is durable already.
          seenByRunningUnit.push(w.status.latest === undefined ? undefined : unitStates(w.status.latest).get(unit.id));
          await flush();
          return done({ repo: unit.repo });
        },
      }),
    ]);
    const results = await drive(engineFor(w), workflow, w, { checks: checks(4) });
    expect(results.map((r) => r.state)).toEqual(['succeeded']);
    expect(seenByRunningUnit).toEqual(['Running', 'Running', 'Running', 'Running']);
    const states = w.status.saved.map(unitStates);
    for (let i = 1; i < 4; i += 1) {
      // The first write that shows unit i-1 finished also shows unit i started: never a write in between.
      const finished = states.find((unitsSaved) => unitsSaved.get(`repo-${i - 1}/lint`) === 'Succeeded');
      expect(finished?.get(`repo-${i}/lint`)).toBe('Running');
    }
    // Started, then started-and-previous-finished three times, then the last one finished: 5 unit writes, not 8.
    expect(states.filter((unitsSaved, index) => index === 0 || JSON.stringify([...unitsSaved]) !== JSON.stringify([...(states[index - 1] ?? [])])).filter((unitsSaved) => unitsSaved.size > 0)).toHaveLength(5);
  });

  it('a waiting unit keeps its slot (its Job is still running); only unit records that started are persisted', async () => {
    const w = world();
    const startedPerReconcile: string[][] = [];
    let current: string[] = [];
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        units: (input) => input.checks,
        run: async (ctx, unit) => {
          // First run creates the Job and waits; the second finds it finished.
          const seen = (await ctx.recordedResult<boolean>('checks', 'job', unit.id)) === true;
          if (!seen) {
            current.push(unit.id);
            await ctx.sideEffect('job', async () => true);
            return wait(5_000, 'job running');
          }
          return done({ passed: true });
        },
      }),
    ]);
    const input = { checks: checks(5) };
    const first = await reconcile(w, workflow, input);
    startedPerReconcile.push(current);
    expect(first).toMatchObject({ state: 'running', requeueAfterMs: 5_000 });
    expect(w.status.latest?.units['checks']?.map((u) => [u.id, u.state])).toEqual([
      ['repo-0/lint', 'Waiting'],
      ['repo-1/lint', 'Waiting'],
    ]);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', message: '0/5 units finished, 2 in progress', nextAttemptAt: '2026-01-01T00:00:05.000Z' });
    for (let i = 0; i < 3; i += 1) {
      current = [];
      w.clock.advance(5_000);
      await reconcile(w, workflow, input);
      startedPerReconcile.push(current);
    }
    expect(startedPerReconcile).toEqual([['repo-0/lint', 'repo-1/lint'], ['repo-2/lint', 'repo-3/lint'], ['repo-4/lint'], []]);
    expect(w.status.latest?.workflow.finishedAt).toBeDefined();
  });

  it('with failFast, starts no unit after the first failure, lets started ones finish, and skips the rest', async () => {
    const w = world();
    const ran: string[] = [];
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        failFast: true,
        units: (input) => input.checks,
        run: async (ctx, unit) => {
          ran.push(`${unit.id}#${ctx.attempt}`);
          if (unit.id === 'repo-1/lint') return fail(new NonRetryableError('lint found 3 errors'), { retryable: false });
          if (unit.id === 'repo-0/lint' && ran.filter((r) => r.startsWith('repo-0')).length === 1) return wait(1_000, 'job running');
          return done({ passed: true });
        },
      }),
      step({ name: 'report', run: async () => done() }),
    ]);
    const results = await drive(engineFor(w), workflow, w, { checks: checks(6) });
    expect(results.at(-1)).toMatchObject({ state: 'failed', failedStep: 'checks', message: '1 of 6 units failed, 4 skipped' });
    expect(ran).toEqual(['repo-0/lint#1', 'repo-1/lint#1', 'repo-0/lint#1']);
    expect(w.status.latest?.units['checks']?.map((u) => [u.id, u.state])).toEqual([
      ['repo-0/lint', 'Succeeded'],
      ['repo-1/lint', 'Failed'],
      ['repo-2/lint', 'Skipped'],
      ['repo-3/lint', 'Skipped'],
      ['repo-4/lint', 'Skipped'],
      ['repo-5/lint', 'Skipped'],
    ]);
    expect(w.status.latest?.workflow.steps.map((s) => [s.name, s.state])).toEqual([
      ['checks', 'Failed'],
      ['report', 'Pending'],
    ]);
  });

  it('fails fast on a finished unit whose result counts as a failure, and fans in with a custom aggregate', async () => {
    const w = world();
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 1,
        failFast: true,
        unitFailed: (result) => (result as { passed: boolean }).passed === false,
        units: (input) => input.checks,
        run: async (_ctx, unit) => done({ passed: unit.id !== 'repo-1/lint' }),
        fanIn: (units) => {
          const passed = units.filter((u) => u.state === 'Succeeded' && (u.result as { passed: boolean }).passed).length;
          const failed = units.filter((u) => u.state === 'Succeeded' && !(u.result as { passed: boolean }).passed).length;
          const skipped = units.filter((u) => u.state === 'Skipped').length;
          return done({ passed, failed, skipped }, `passed ${passed}, failed ${failed}, skipped ${skipped}`);
        },
      }),
    ]);
    const results = await drive(engineFor(w), workflow, w, { checks: checks(4) });
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Succeeded', message: 'passed 1, failed 1, skipped 2' });
  });

  it('retries a failed unit under the policy while it keeps its slot', async () => {
    const w = world();
    const attempts = new Map<string, number>();
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 1,
        units: (input) => input.checks,
        run: async (ctx, unit) => {
          attempts.set(unit.id, ctx.attempt);
          return unit.id === 'repo-0/lint' && ctx.attempt === 1 ? fail(new ServerError(503, 'ServiceUnavailable', 'checker down'), { retryable: true }) : done({ passed: true });
        },
      }),
    ]);
    const results = await drive(engineFor(w), workflow, w, { checks: checks(2) });
    expect(results.map((r) => (r.state === 'running' ? r.requeueAfterMs : r.state))).toEqual([1_000, 'succeeded']);
    // repo-1 could not start while repo-0 waited for its retry: the first reconcile ran only repo-0.
    expect(w.status.saved.some((s) => (s.units['checks'] ?? []).length === 1 && s.units['checks']?.[0]?.state === 'Pending')).toBe(true);
    expect(Object.fromEntries(attempts)).toEqual({ 'repo-0/lint': 2, 'repo-1/lint': 1 });
  });

  it('a failed save stops new units but lets the calls in flight finish, so the next reconcile sends none again', async () => {
    const w = world();
    const calls: string[] = [];
    let failNextSave = false;
    let releaseSlow: (value: string) => void = () => undefined;
    const status = w.status;
    const flaky = {
      save: (snapshot: Parameters<typeof status.save>[0]) => {
        if (!failNextSave) return status.save(snapshot);
        failNextSave = false;
        return Promise.reject(new ServerError(500, 'InternalError', 'etcd timeout'));
      },
    };
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        units: (input) => input.checks,
        run: async (ctx, unit) => {
          const verdict = await ctx.sideEffect('check', (key, signal) => {
            calls.push(key);
            if (unit.id === 'repo-0/lint') return Promise.resolve((failNextSave = true, 'fast'));
            if (calls.filter((sent) => sent === key).length > 1) return Promise.resolve('sent again');
            // Sent and answered later; an abort would cut it short with its request already sent, as fetch does.
            return new Promise<string>((resolve, reject) => {
              releaseSlow = resolve;
              signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
            });
          });
          return done({ verdict });
        },
      }),
    ]);
    const input = { checks: checks(2) };
    const first = engineFor(w).run(workflow, { resource: resource(), input, persisted: w.status.latest, store: flaky, retry: exactRetry(w.clock) });
    for (let i = 0; i < 20 && calls.length < 2; i++) await flush();
    expect(calls).toHaveLength(2);
    releaseSlow('slow');
    await expect(first).rejects.toThrow('etcd timeout');
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.at(-1)?.state).toBe('succeeded');
    // Each check was sent once: the slow one finished and was recorded although its sibling's save failed.
    expect(calls.filter((key) => key.includes('repo-1'))).toHaveLength(1);
    expect(calls.filter((key) => key.includes('repo-0'))).toHaveLength(1);
    expect(w.status.latest?.units['checks']?.map((u) => u.result)).toEqual([{ verdict: 'fast' }, { verdict: 'slow' }]);
  });

  it('a restarted process resumes units in progress without starting their side effects again', async () => {
    const w = world();
    const jobsCreated: string[] = [];
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 3,
        units: (input) => input.checks,
        run: async (ctx, unit) => {
          const job = await ctx.sideEffect('job', async (key) => (jobsCreated.push(key), `job-${unit.repo}`));
          return ctx.attempt === 1 && (await ctx.recordedResult('checks', 'seen', unit.id)) === undefined
            ? (await ctx.sideEffect('seen', async () => true), wait(2_000, `${job} running`))
            : done({ passed: true, job });
        },
      }),
    ]);
    const input = { checks: checks(3) };
    await reconcile(w, workflow, input, 'process-1');
    expect(jobsCreated).toHaveLength(3);
    w.clock.advance(2_000);
    // process-1 is gone; process-2 continues from the status alone.
    const results = await drive(engineFor(w, 'process-2'), workflow, w, input);
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(jobsCreated).toEqual(['6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/checks/repo-0%2Flint%3Ajob', '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/checks/repo-1%2Flint%3Ajob', '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/checks/repo-2%2Flint%3Ajob']);
    expect(w.status.latest?.units['checks']?.map((u) => [u.state, u.attempts])).toEqual([
      ['Succeeded', 1],
      ['Succeeded', 1],
      ['Succeeded', 1],
    ]);
  });
});

describe('fan-out units behind a circuit breaker', () => {
  /** A world whose breakers open after 2 failures in a row and half-open after 10 s. */
  const breakerWorld = (): World => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    return world({ clock, breakers: new CircuitBreakerRegistry({ clock, defaults: { consecutiveFailures: 2, halfOpenAfterMs: 10_000 } }) });
  };
  /** Units that each make one call to `checker:a`; `ran` lists each run as `<unit>#<attempt>`. */
  const checkerWorkflow = (ran: string[], answer: () => Promise<string>) =>
    defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        units: (input) => input.checks,
        breaker: () => 'checker:a',
        deferredMessage: (error) => `dependency: ${(error as Error).message}`,
        run: async (ctx, unit) => {
          ran.push(`${unit.id}#${ctx.attempt}`);
          return done({ verdict: await ctx.sideEffect('check', answer, { breaker: 'checker:a' }) });
        },
      }),
    ]);
  const unitsOf = (w: World) => (w.status.latest?.units['checks'] ?? []).map(({ id, state, attempts, nextAttemptAt, message }) => ({ id, state, attempts, nextAttemptAt, message }));

  it('units never started wait for an open breaker without starting: no attempt, no job.started, no slot held', async () => {
    const w = breakerWorld();
    w.breakers.get('checker:a').isolate();
    const ran: string[] = [];
    const workflow = checkerWorkflow(ran, async () => 'pass');
    const input = { checks: checks(3) };
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 10_000 });
    expect(ran).toEqual([]);
    const waiting = { state: 'Pending', attempts: 0, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is isolated; retry in 10000 ms' };
    // None holds a slot, so the pass looks at every one: each says what it waits for.
    expect(unitsOf(w)).toEqual([
      { id: 'repo-0/lint', ...waiting },
      { id: 'repo-1/lint', ...waiting },
      { id: 'repo-2/lint', ...waiting },
    ]);
    expect(w.events.summary()).toEqual(['workflow.started', 'job.started checks']);

    w.breakers.get('checker:a').reset();
    w.clock.advance(10_000);
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.map((r) => r.state)).toEqual(['succeeded']);
    expect(ran).toEqual(['repo-0/lint#1', 'repo-1/lint#1', 'repo-2/lint#1']);
  });

  it('a unit due for a retry while its breaker is open waits without an attempt; at half-open one unit tries first, then the rest go on', async () => {
    const w = breakerWorld();
    const ran: string[] = [];
    let failing = true;
    const workflow = checkerWorkflow(ran, async () => {
      if (failing) throw new RetryableError('checker down');
      return 'pass';
    });
    const input = { checks: checks(4) };
    // Both calls fail: the second opens the breaker (its unit waits within its attempt), the first is due for a retry
    // in 1 s. The units not started are deferred by the breaker, holding no slot.
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 1_000 });
    const deferred = { state: 'Pending', attempts: 0, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is open; retry in 10000 ms' };
    expect(unitsOf(w)).toEqual([
      { id: 'repo-0/lint', state: 'Pending', attempts: 1, nextAttemptAt: '2026-01-01T00:00:01.000Z', message: 'attempt 1 failed: checker down' },
      { id: 'repo-1/lint', state: 'Waiting', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a opened on this failure: checker down; retry in 10000 ms' },
      { id: 'repo-2/lint', ...deferred },
      { id: 'repo-3/lint', ...deferred },
    ]);

    w.clock.advance(1_000);
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 9_000 });
    expect(ran).toEqual(['repo-0/lint#1', 'repo-1/lint#1']);
    expect(unitsOf(w)[0]).toEqual({ id: 'repo-0/lint', state: 'Pending', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is open; retry in 9000 ms' });

    // Half-open: repo-0's retry is the trial; repo-1 waits for it instead of being refused, then both slots refill.
    failing = false;
    w.clock.advance(9_000);
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'succeeded' });
    expect(ran).toEqual(['repo-0/lint#1', 'repo-1/lint#1', 'repo-0/lint#2', 'repo-1/lint#1', 'repo-2/lint#1', 'repo-3/lint#1']);
    expect(unitsOf(w).map((unit) => [unit.id, unit.state, unit.attempts])).toEqual([
      ['repo-0/lint', 'Succeeded', 2],
      ['repo-1/lint', 'Succeeded', 1],
      ['repo-2/lint', 'Succeeded', 1],
      ['repo-3/lint', 'Succeeded', 1],
    ]);
  });
});

describe('fan-out slots while a breaker refuses calls', () => {
  /** A world whose breakers open after 2 failures in a row and half-open after 10 s. */
  const breakerWorld = (): World => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    return world({ clock, breakers: new CircuitBreakerRegistry({ clock, defaults: { consecutiveFailures: 2, halfOpenAfterMs: 10_000 } }) });
  };
  const http = (repo: string): Check => ({ id: `${repo}/http`, repo, check: 'http' });
  const job = (repo: string): Check => ({ id: `${repo}/job`, repo, check: 'job' });
  /**
   * `http` units call the checker once through `checker:a`; `job` units (no breaker) create a Job that runs for
   * `jobMs`, waiting on it meanwhile. `calls` lists each checker call and each Job created as `<unit>@<seconds>`.
   */
  const mixedWorkflow = (calls: string[], answer: () => Promise<string>, settings: { concurrency: number; jobMs: number; failFast?: boolean; jobFails?: boolean }) =>
    defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: settings.concurrency,
        failFast: settings.failFast ?? false,
        units: (input) => input.checks,
        breaker: (unit) => (unit.check === 'http' ? 'checker:a' : undefined),
        deferredMessage: (error) => `dependency: ${(error as Error).message}`,
        run: async (ctx, unit) => {
          const at = () => `${unit.id}@${(ctx.clock.now() - Date.UTC(2026, 0, 1)) / 1000}`;
          if (unit.check === 'http') return done({ verdict: await ctx.sideEffect('check', () => (calls.push(at()), answer()), { breaker: 'checker:a' }) });
          const createdAtMs = await ctx.sideEffect('job', async () => (calls.push(at()), ctx.clock.now()));
          const leftMs = createdAtMs + settings.jobMs - ctx.clock.now();
          if (leftMs > 0) return wait(leftMs, 'job running');
          return settings.jobFails === true ? fail(new NonRetryableError('job failed'), { retryable: false }) : done({ verdict: 'pass' });
        },
      }),
    ]);
  const unitsOf = (w: World) => (w.status.latest?.units['checks'] ?? []).map(({ id, state, attempts, nextAttemptAt, message }) => ({ id, state, attempts, nextAttemptAt, message }));
  const stateOf = (w: World) => Object.fromEntries(unitsOf(w).map((unit) => [unit.id, [unit.state, unit.attempts]]));
  const startsOf = (w: World, unit: string) => w.events.events.filter((event) => event.type === 'job.started' && 'unit' in event && event.unit === unit).map((event) => ('attempt' in event ? event.attempt : undefined));
  /** The most units in an attempt (Running, or Waiting within one) in any status saved. */
  const peakInAttempt = (w: World) => Math.max(...w.status.saved.map((saved) => (saved.units['checks'] ?? []).filter((unit) => unit.state === 'Running' || unit.state === 'Waiting').length));
  /** Reconciles as the work queue would until the next requeue would be at `untilMs` or later. */
  async function driveUntil(w: World, workflow: Parameters<typeof reconcile>[1], input: SweepInput, untilMs: number): Promise<void> {
    for (;;) {
      const result = await reconcile(w, workflow, input);
      if (result.state !== 'running' || w.clock.now() + result.requeueAfterMs >= untilMs) return;
      w.clock.advance(result.requeueAfterMs);
    }
  }

  it('units whose breaker is open hold no slot: the units without one all run meanwhile, and at half-open the deferred ones run with their attempts intact', async () => {
    const w = breakerWorld();
    const calls: string[] = [];
    let failing = true;
    const workflow = mixedWorkflow(
      calls,
      async () => {
        if (failing) throw new RetryableError('checker down');
        return 'pass';
      },
      { concurrency: 2, jobMs: 2_000 },
    );
    const input = { checks: [http('a0'), http('a1'), http('a2'), job('j0'), job('j1'), job('j2')] };
    const openAt = Date.UTC(2026, 0, 1, 0, 0, 10);

    // a0 and a1 fail; a1's failure opens the breaker (a1 waits within its attempt and keeps its slot), a0's retry is
    // deferred by the breaker, a2 is deferred before it starts: the other slot runs the three Jobs, one after the other.
    await driveUntil(w, workflow, input, openAt);
    expect(w.clock.now()).toBe(Date.UTC(2026, 0, 1, 0, 0, 6));
    expect(w.breakers.get('checker:a').state).toBe('open');
    expect(calls).toEqual(['a0/http@0', 'a1/http@0', 'j0/job@0', 'j1/job@2', 'j2/job@4']);
    expect(unitsOf(w)).toEqual([
      { id: 'a0/http', state: 'Pending', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is open; retry in 9000 ms' },
      { id: 'a1/http', state: 'Waiting', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a opened on this failure: checker down; retry in 10000 ms' },
      { id: 'a2/http', state: 'Pending', attempts: 0, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is open; retry in 10000 ms' },
      { id: 'j0/job', state: 'Succeeded', attempts: 1, nextAttemptAt: undefined, message: undefined },
      { id: 'j1/job', state: 'Succeeded', attempts: 1, nextAttemptAt: undefined, message: undefined },
      { id: 'j2/job', state: 'Succeeded', attempts: 1, nextAttemptAt: undefined, message: undefined },
    ]);
    expect(startsOf(w, 'a2/http')).toEqual([]);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', message: '3/6 units finished, 2 in progress', nextAttemptAt: '2026-01-01T00:00:10.000Z' });

    // Half-open: a0's retry is the trial, then a1 goes on within its attempt and a2 makes its first.
    failing = false;
    w.clock.advance(4_000);
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.map((result) => result.state)).toEqual(['succeeded']);
    expect(calls.slice(5)).toEqual(['a0/http@10', 'a1/http@10', 'a2/http@10']);
    expect(stateOf(w)).toEqual({ 'a0/http': ['Succeeded', 2], 'a1/http': ['Succeeded', 1], 'a2/http': ['Succeeded', 1], 'j0/job': ['Succeeded', 1], 'j1/job': ['Succeeded', 1], 'j2/job': ['Succeeded', 1] });
    expect([startsOf(w, 'a0/http'), startsOf(w, 'a1/http'), startsOf(w, 'a2/http')]).toEqual([[1, 2], [1], [1]]);
    expect(peakInAttempt(w)).toBe(2);
  });

  it('units deferred by their breaker take a slot again once it lets calls through, retries first, then units not started in order', async () => {
    const w = breakerWorld();
    const calls: string[] = [];
    let answers = 0;
    const workflow = mixedWorkflow(
      calls,
      async () => {
        answers += 1;
        if (answers === 1) throw new RetryableError('checker down');
        return 'pass';
      },
      { concurrency: 1, jobMs: 15_000 },
    );
    const input = { checks: [http('a0'), http('a1'), job('j0'), job('j1')] };
    // a0's call fails: it waits 1 s for its retry, holding the only slot.
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 1_000 });
    expect(stateOf(w)).toEqual({ 'a0/http': ['Pending', 1] });

    // The checker's breaker is held open: a0's retry is deferred and frees the slot, a1 is deferred without starting, j0 starts.
    w.breakers.get('checker:a').isolate();
    w.clock.advance(1_000);
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 10_000 });
    expect(stateOf(w)).toEqual({ 'a0/http': ['Pending', 1], 'a1/http': ['Pending', 0], 'j0/job': ['Waiting', 1] });

    // The breaker closes while j0 holds the slot: the deferrals are over, so a0 says it waits for a slot and a1 is
    // simply not started again (the status no longer says they wait for the checker).
    w.breakers.get('checker:a').reset();
    w.clock.advance(10_000);
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 5_000 });
    expect(unitsOf(w)).toEqual([
      { id: 'a0/http', state: 'Pending', attempts: 1, nextAttemptAt: undefined, message: 'due; waiting for a free slot' },
      { id: 'j0/job', state: 'Waiting', attempts: 1, nextAttemptAt: '2026-01-01T00:00:16.000Z', message: 'job running' },
    ]);

    // j0 finishes: a0's retry gets the slot first, then a1, then j1.
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(calls).toEqual(['a0/http@0', 'j0/job@1', 'a0/http@16', 'a1/http@16', 'j1/job@16']);
    expect(stateOf(w)).toEqual({ 'a0/http': ['Succeeded', 2], 'a1/http': ['Succeeded', 1], 'j0/job': ['Succeeded', 1], 'j1/job': ['Succeeded', 1] });
    expect(startsOf(w, 'a1/http')).toEqual([1]);
    expect(peakInAttempt(w)).toBe(1);
  });

  it('with failFast, a unit its breaker deferred before its first attempt is skipped, never started, once a unit has failed', async () => {
    const w = breakerWorld();
    w.breakers.get('checker:a').isolate();
    const calls: string[] = [];
    const workflow = mixedWorkflow(calls, async () => 'pass', { concurrency: 3, jobMs: 1_000, failFast: true, jobFails: true });
    const input = { checks: [http('a0'), job('j0'), job('j1')] };
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 1_000 });
    expect(stateOf(w)).toEqual({ 'a0/http': ['Pending', 0], 'j0/job': ['Waiting', 1], 'j1/job': ['Waiting', 1] });

    w.breakers.get('checker:a').reset();
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.at(-1)).toMatchObject({ state: 'failed', failedStep: 'checks', message: '2 of 3 units failed, 1 skipped' });
    expect(calls).toEqual(['j0/job@0', 'j1/job@0']);
    expect(unitsOf(w)[0]).toEqual({ id: 'a0/http', state: 'Skipped', attempts: 0, nextAttemptAt: undefined, message: 'not started: fail-fast after a failed unit' });
    expect(startsOf(w, 'a0/http')).toEqual([]);
  });
});

describe('fan-out units the group holds', () => {
  const held = (repo: string): Check => ({ id: `${repo}/held`, repo, check: 'held' });
  const job = (repo: string): Check => ({ id: `${repo}/job`, repo, check: 'job' });
  /**
   * While `holding.on`, units of check `held` that have not started are held for 5 s. Every unit creates a Job that
   * runs for 2 s (its first `failures` attempts fail before creating it), waiting on it meanwhile. `ran` lists each
   * run as `<unit>#<attempt>@<seconds>`.
   */
  const holdingWorkflow = (ran: string[], holding: { on: boolean }, failures = new Map<string, number>()) =>
    defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        units: (input) => input.checks,
        hold: (unit) => (holding.on && unit.check === 'held' ? { delayMs: 5_000, reason: 'held: the run is paused' } : undefined),
        run: async (ctx, unit) => {
          ran.push(`${unit.id}#${ctx.attempt}@${(ctx.clock.now() - Date.UTC(2026, 0, 1)) / 1000}`);
          const left = failures.get(unit.id) ?? 0;
          if (left > 0) {
            failures.set(unit.id, left - 1);
            return fail(new RetryableError('API server unavailable'), { retryable: true });
          }
          const createdAtMs = await ctx.sideEffect('job', async () => ctx.clock.now());
          const leftMs = createdAtMs + 2_000 - ctx.clock.now();
          return leftMs > 0 ? wait(leftMs, 'job running') : done({ verdict: 'pass' });
        },
      }),
    ]);
  const unitsOf = (w: World) => (w.status.latest?.units['checks'] ?? []).map(({ id, state, attempts, startedAt, nextAttemptAt, message }) => ({ id, state, attempts, startedAt, nextAttemptAt, message }));
  const startsOf = (w: World) => w.events.events.flatMap((event) => (event.type === 'job.started' && event.unit !== undefined ? [`${event.unit}#${event.attempt}`] : []));

  it('units not started that it holds take no attempt, no startedAt, no job.started and no slot: the others run meanwhile, and the held ones start once released, each in one attempt', async () => {
    const w = world();
    const ran: string[] = [];
    const holding = { on: true };
    const workflow = holdingWorkflow(ran, holding);
    const input = { checks: [held('a'), held('b'), held('c'), job('d'), job('e')] };
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 2_000 });
    const waiting = { state: 'Pending', attempts: 0, startedAt: undefined, nextAttemptAt: '2026-01-01T00:00:05.000Z', message: 'held: the run is paused' };
    // The held units take no slot, so both go to the units it does not hold.
    expect(unitsOf(w)).toEqual([
      { id: 'a/held', ...waiting },
      { id: 'b/held', ...waiting },
      { id: 'c/held', ...waiting },
      { id: 'd/job', state: 'Waiting', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', nextAttemptAt: '2026-01-01T00:00:02.000Z', message: 'job running' },
      { id: 'e/job', state: 'Waiting', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', nextAttemptAt: '2026-01-01T00:00:02.000Z', message: 'job running' },
    ]);
    expect(startsOf(w)).toEqual(['d/job#1', 'e/job#1']);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', message: '0/5 units finished, 2 in progress' });

    // Still held when the Jobs finish and when the hold is over: held again, still without an attempt.
    w.clock.advance(2_000);
    await reconcile(w, workflow, input);
    w.clock.advance(3_000);
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 5_000 });
    expect(unitsOf(w).slice(0, 3)).toEqual(['a/held', 'b/held', 'c/held'].map((id) => ({ id, ...waiting, nextAttemptAt: '2026-01-01T00:00:10.000Z' })));
    expect(startsOf(w)).toEqual(['d/job#1', 'e/job#1']);

    holding.on = false;
    w.clock.advance(5_000);
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(ran.filter((run) => run.includes('/held'))).toEqual(['a/held#1@10', 'b/held#1@10', 'a/held#1@12', 'b/held#1@12', 'c/held#1@12', 'c/held#1@14']);
    expect(unitsOf(w).map(({ id, state, attempts, startedAt }) => [id, state, attempts, startedAt]).sort()).toEqual([
      ['a/held', 'Succeeded', 1, '2026-01-01T00:00:10.000Z'],
      ['b/held', 'Succeeded', 1, '2026-01-01T00:00:10.000Z'],
      ['c/held', 'Succeeded', 1, '2026-01-01T00:00:12.000Z'],
      ['d/job', 'Succeeded', 1, '2026-01-01T00:00:00.000Z'],
      ['e/job', 'Succeeded', 1, '2026-01-01T00:00:00.000Z'],
    ]);
    expect(startsOf(w)).toEqual(['d/job#1', 'e/job#1', 'a/held#1', 'b/held#1', 'c/held#1']);
  });

  it('a unit whose hold runs out while other units run makes the group due at once when a slot is free, not at the next Job poll', async () => {
    const w = world();
    const budgetEndsMs = w.clock.now() + 5_000;
    const call = (unit: Check) => ({ id: `${unit.repo}/call`, repo: unit.repo, check: 'call' });
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 3,
        units: (input) => input.checks,
        // The Sweep's pass budget: calls not started once it is spent wait for the next pass.
        hold: (unit) => (unit.check === 'call' && w.clock.now() >= budgetEndsMs ? { delayMs: 0, reason: 'deferred to the next pass' } : undefined),
        run: async (ctx, unit) => {
          if (unit.check === 'job') {
            const createdAtMs = await ctx.sideEffect('job', async () => ctx.clock.now());
            return ctx.clock.now() - createdAtMs < 30_000 ? wait(30_000, 'job running') : done({ verdict: 'pass' });
          }
          // Calls take time: the clock moves during the pass.
          if (unit.repo === 'b') w.clock.advance(6_000);
          if (unit.repo === 'c') {
            await flush();
            w.clock.advance(1_000);
          }
          return done({ verdict: 'pass' });
        },
      }),
    ]);
    const input = { checks: [job('a'), call(job('b')), call(job('c')), call(job('d'))] };
    const result = await reconcile(w, workflow, input);
    // d was held (the budget spent) while c still ran; c's end left two slots free for it.
    expect(unitsOf(w).find((unit) => unit.id === 'd/call')).toBeUndefined();
    expect(result).toMatchObject({ state: 'running', requeueAfterMs: 0 });
  });

  it('holds only units not started: a unit due for a retry runs its attempt while the units behind it are held', async () => {
    const w = world();
    const ran: string[] = [];
    const holding = { on: false };
    const workflow = holdingWorkflow(ran, holding, new Map([['a/held', 1]]));
    const input = { checks: [held('a'), held('b'), held('c')] };
    // a fails once (its retry is due in 1 s); b starts; then the group starts holding.
    await reconcile(w, workflow, input);
    expect(unitsOf(w).map(({ id, state, attempts }) => [id, state, attempts])).toEqual([
      ['a/held', 'Pending', 1],
      ['b/held', 'Waiting', 1],
    ]);
    holding.on = true;
    w.clock.advance(1_000);
    await reconcile(w, workflow, input);
    expect(ran).toEqual(['a/held#1@0', 'b/held#1@0', 'a/held#2@1']);
    expect(unitsOf(w).map(({ id, state, attempts, message }) => [id, state, attempts, message])).toEqual([
      ['a/held', 'Waiting', 2, 'job running'],
      ['b/held', 'Waiting', 1, 'job running'],
    ]);
    // Slots taken: c is not looked at, so not held yet. Once a slot frees up, it is held, not started.
    w.clock.advance(2_000);
    await reconcile(w, workflow, input);
    expect(unitsOf(w).map(({ id, state, attempts, message }) => [id, state, attempts, message])).toEqual([
      ['a/held', 'Succeeded', 2, undefined],
      ['b/held', 'Succeeded', 1, undefined],
      ['c/held', 'Pending', 0, 'held: the run is paused'],
    ]);
    expect(startsOf(w)).toEqual(['a/held#1', 'b/held#1', 'a/held#2']);
  });

  it('with failFast, a unit held before its first attempt is skipped, never started, once a unit has failed', async () => {
    const w = world();
    const ran: string[] = [];
    const workflow = defineWorkflow<SweepInput>('sweep', [
      fanOut<SweepInput, Check>({
        name: 'checks',
        concurrency: 2,
        failFast: true,
        units: (input) => input.checks,
        hold: (unit) => (unit.check === 'held' ? { delayMs: 5_000, reason: 'held: the run is paused' } : undefined),
        run: async (_ctx, unit) => {
          ran.push(unit.id);
          return fail(new NonRetryableError('lint found 3 errors'), { retryable: false });
        },
      }),
    ]);
    const result = await reconcile(w, workflow, { checks: [held('a'), job('b')] });
    expect(result).toMatchObject({ state: 'failed', failedStep: 'checks', message: '1 of 2 units failed, 1 skipped' });
    expect(ran).toEqual(['b/job']);
    expect(unitsOf(w)[0]).toEqual({ id: 'a/held', state: 'Skipped', attempts: 0, startedAt: undefined, nextAttemptAt: undefined, message: 'not started: fail-fast after a failed unit' });
    expect(startsOf(w)).toEqual(['b/job#1']);
  });
});
