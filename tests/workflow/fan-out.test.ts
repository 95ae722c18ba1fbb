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

  it('units never started wait for an open breaker without starting: no attempt, no job.started, each keeping a slot', async () => {
    const w = breakerWorld();
    w.breakers.get('checker:a').isolate();
    const ran: string[] = [];
    const workflow = checkerWorkflow(ran, async () => 'pass');
    const input = { checks: checks(3) };
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 10_000 });
    expect(ran).toEqual([]);
    const waiting = { state: 'Pending', attempts: 0, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a is isolated; retry in 10000 ms' };
    expect(unitsOf(w)).toEqual([
      { id: 'repo-0/lint', ...waiting },
      { id: 'repo-1/lint', ...waiting },
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
    // Both calls fail: the second opens the breaker (its unit waits within its attempt), the first is due for a retry in 1 s.
    expect(await reconcile(w, workflow, input)).toMatchObject({ state: 'running', requeueAfterMs: 1_000 });
    expect(unitsOf(w)).toEqual([
      { id: 'repo-0/lint', state: 'Pending', attempts: 1, nextAttemptAt: '2026-01-01T00:00:01.000Z', message: 'attempt 1 failed: checker down' },
      { id: 'repo-1/lint', state: 'Waiting', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'dependency: circuit breaker checker:a opened on this failure: checker down; retry in 10000 ms' },
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
