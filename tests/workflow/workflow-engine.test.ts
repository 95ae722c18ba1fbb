import { describe, expect, it } from 'vitest';
import { InvalidError, ServerError } from '../../src/kube/errors.ts';
import { EVENT_KINDS } from '../../src/events/domain-events.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { isBrokenCircuit } from '../../src/resilience/circuit-breaker.ts';
import { NonRetryableError } from '../../src/resilience/classify-failure.ts';
import { IdempotencyHeldError, IdempotencyUnavailableError, type IdempotencyStore } from '../../src/resilience/idempotency-store.ts';
import { done, fail, step, wait, type StepContext, type StepOutcome } from '../../src/workflow/step.ts';
import type { WorkflowEvent } from '../../src/workflow/workflow-events.ts';
import { WorkflowMetrics } from '../../src/workflow/workflow-metrics.ts';
import { defineWorkflow } from '../../src/workflow/workflow.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { drive, engineFor, exactRetry, resource, world } from '../support/workflow-fakes.ts';

type Input = { readonly version: string };
const input: Input = { version: '1.42.0' };

/** Counts runs of each step. */
function counter() {
  const runs = new Map<string, number>();
  return {
    runs,
    count(name: string): number {
      const next = (runs.get(name) ?? 0) + 1;
      runs.set(name, next);
      return next;
    },
  };
}

describe('WorkflowEngine: steps', () => {
  it('runs the steps in order, saving Running before and the outcome after each, then ends the run', async () => {
    const w = world();
    const order: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'validate', run: async () => (order.push('validate'), done()) }),
      step({ name: 'deploy', run: async (ctx) => (order.push(`deploy ${ctx.input.version}`), done({ id: 'd-1' }, 'deployed')) }),
    ]);
    const [result] = await drive(engineFor(w), workflow, w, input);
    expect(result?.state).toBe('succeeded');
    expect(order).toEqual(['validate', 'deploy 1.42.0']);
    expect(w.status.history('deploy')).toEqual(['Pending', 'Running', 'Succeeded']);
    const final = w.status.latest?.workflow;
    expect(final).toMatchObject({ id: '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z' });
    expect(final?.steps).toEqual([
      { name: 'validate', state: 'Succeeded', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z' },
      { name: 'deploy', state: 'Succeeded', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:00.000Z', message: 'deployed' },
    ]);
    expect(w.events.summary()).toEqual(['workflow.started', 'job.started validate', 'job.completed validate', 'job.started deploy', 'job.completed deploy', 'workflow.completed']);
    expect(new Set(w.events.events.map((event) => event.correlationId))).toEqual(new Set(['6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1']));
    expect(w.events.events[0]).toMatchObject({ type: 'workflow.started', workflow: 'deploy', generation: 1, steps: ['validate', 'deploy'] });
    expect(w.events.events[4]).toMatchObject({ type: 'job.completed', step: 'deploy', attempt: 1, durationMs: 0 });
  });

  it('never runs a step again once it succeeded for the generation, even in a restarted process', async () => {
    const w = world();
    const runs = counter();
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'deploy', run: async () => (runs.count('deploy'), done()) }),
      step({ name: 'verify', run: async () => (runs.count('verify') < 3 ? wait(10_000, 'not healthy yet') : done()) }),
    ]);
    const first = await engineFor(w, 'process-1').run(workflow, { resource: resource(), input, persisted: undefined, store: w.status, retry: exactRetry(w.clock) });
    expect(first).toMatchObject({ state: 'running', requeueAfterMs: 10_000 });
    // A new process (new owner, no memory) continues from the saved status only.
    w.clock.advance(10_000);
    const rest = await drive(engineFor(w, 'process-2'), workflow, w, input);
    expect(rest.at(-1)?.state).toBe('succeeded');
    expect(Object.fromEntries(runs.runs)).toEqual({ deploy: 1, verify: 3 });
    // Reconciling a finished run changes nothing.
    const again = await engineFor(w, 'process-3').run(workflow, { resource: resource(), input, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
    expect(again.state).toBe('succeeded');
    expect(Object.fromEntries(runs.runs)).toEqual({ deploy: 1, verify: 3 });
  });

  it('a wait becomes a requeue; the step never runs before nextAttemptAt; polls do not use attempts', async () => {
    const w = world();
    const runs = counter();
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'verify', run: async () => (runs.count('verify') < 3 ? wait(10_000, 'rollout 1/3 ready') : done()) })]);
    const engine = engineFor(w);
    const run = () => engine.run(workflow, { resource: resource(), input, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
    expect(await run()).toMatchObject({ state: 'running', requeueAfterMs: 10_000 });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', attempts: 1, nextAttemptAt: '2026-01-01T00:00:10.000Z', message: 'rollout 1/3 ready' });
    // An early reconcile (a watch event) does not run the step.
    w.clock.advance(4_000);
    expect(await run()).toMatchObject({ state: 'running', requeueAfterMs: 6_000 });
    expect(runs.runs.get('verify')).toBe(1);
    w.clock.advance(6_000);
    await run();
    w.clock.advance(10_000);
    expect((await run()).state).toBe('succeeded');
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Succeeded', attempts: 1 });
  });

  it('retries a retryable failure at the policy backoff, counting attempts, and fails for good when they run out', async () => {
    const w = world();
    const runs = counter();
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'deploy', run: async () => fail(new ServerError(503, 'ServiceUnavailable', `provider down #${runs.count('deploy')}`), { retryable: true }) })]);
    const results = await drive(engineFor(w), workflow, w, input, { retry: exactRetry(w.clock, 3) });
    expect(results.map((r) => (r.state === 'running' ? r.requeueAfterMs : r.state))).toEqual([1_000, 2_000, 'failed']);
    expect(w.status.history('deploy')).toEqual(['Pending', 'Running', 'Pending', 'Running', 'Pending', 'Running', 'Failed']);
    const retrying = w.status.saved.find((s) => s.workflow.steps[0]?.state === 'Pending' && s.workflow.steps[0].attempts === 2);
    expect(retrying?.workflow.steps[0]).toMatchObject({ nextAttemptAt: '2026-01-01T00:00:03.000Z', message: 'attempt 2 failed: provider down #2' });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Failed', attempts: 3, message: 'failed after 3 attempts: provider down #3' });
    expect(results.at(-1)).toMatchObject({ state: 'failed', failedStep: 'deploy' });
    const failures = w.events.events.filter((event) => event.type === 'job.failed');
    expect(failures.map((event) => [event.attempt, event.retryable, event.nextAttemptAt])).toEqual([
      [1, true, '2026-01-01T00:00:01.000Z'],
      [2, true, '2026-01-01T00:00:03.000Z'],
      [3, false, undefined],
    ]);
    expect(failures[2]).toMatchObject({ durationMs: 3_000, message: 'failed after 3 attempts: provider down #3' });
  });

  it('classifies what a step throws: a 422 fails at once, an unknown error is retried, a Retry-After is honoured', async () => {
    const w = world();
    const invalid = defineWorkflow<Input>('a', [step({ name: 'apply', run: () => Promise.reject(new InvalidError(422, 'Invalid', 'spec.image: invalid')) })]);
    expect((await drive(engineFor(w), invalid, w, input)).map((r) => r.state)).toEqual(['failed']);

    const w2 = world();
    const runs = counter();
    const flaky = defineWorkflow<Input>('b', [
      step({
        name: 'apply',
        run: async () => {
          const n = runs.count('apply');
          if (n === 1) throw new TypeError('cannot read properties of undefined');
          if (n === 2) throw new ServerError(429, 'TooManyRequests', 'slow down', { retryAfterMs: 30_000 });
          return done();
        },
      }),
    ]);
    const results = await drive(engineFor(w2), flaky, w2, input);
    expect(results.map((r) => (r.state === 'running' ? r.requeueAfterMs : r.state))).toEqual([1_000, 30_000, 'succeeded']);
  });

  it('runs the compensations of the steps that succeeded, latest first, when a later step fails for good', async () => {
    const w = world();
    const order: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'validate', run: async () => done() }),
      step({ name: 'snapshot', run: async () => (order.push('snapshot'), done()), compensation: step({ name: 'discard-snapshot', run: async () => (order.push('discard-snapshot'), done()) }) }),
      step({
        name: 'deploy',
        run: async (ctx) => (order.push('deploy'), done(await ctx.sideEffect('apply', async () => ({ previous: '1.41.0' })))),
        compensation: step({
          name: 'rollback',
          run: async (ctx) => {
            const applied = await ctx.recordedResult<{ previous: string }>('deploy', 'apply');
            order.push(`rollback to ${applied?.previous ?? '?'}`);
            return done();
          },
        }),
      }),
      step({ name: 'verify', run: async () => fail(new NonRetryableError('health check failed 3 times'), { retryable: false }) }),
      step({ name: 'finalize', run: async () => (order.push('finalize'), done()) }),
    ]);
    const [result] = await drive(engineFor(w), workflow, w, input);
    expect(order).toEqual(['snapshot', 'deploy', 'rollback to 1.41.0', 'discard-snapshot']);
    expect(result).toMatchObject({ state: 'failed', failedStep: 'verify', message: 'health check failed 3 times' });
    expect(w.status.latest?.workflow.steps.map((s) => [s.name, s.state])).toEqual([
      ['validate', 'Succeeded'],
      ['snapshot', 'Succeeded'],
      ['deploy', 'Succeeded'],
      ['verify', 'Failed'],
      ['finalize', 'Pending'],
      ['rollback', 'Succeeded'],
      ['discard-snapshot', 'Succeeded'],
    ]);
    expect(w.events.summary().at(-1)).toBe('workflow.failed');
    expect(w.events.events.at(-1)).toMatchObject({ step: 'verify', generation: 1, message: 'verify failed: health check failed 3 times; rollback done; discard-snapshot done' });
    expect(w.events.events.find((event) => event.type === 'job.failed')).toMatchObject({ step: 'verify', attempt: 1, retryable: false, message: 'health check failed 3 times' });
  });

  it('a step that times out is retried, and the timed-out attempt may not start new side effects', async () => {
    const w = world();
    const applied: string[] = [];
    let release: () => void = () => undefined;
    let lateError: unknown;
    const workflow = defineWorkflow<Input>('deploy', [
      step({
        name: 'deploy',
        timeoutMs: 5_000,
        run: async (ctx) => {
          if (ctx.attempt === 1) {
            await new Promise<void>((resolve) => (release = resolve));
            await ctx.sideEffect('late', async () => applied.push('late')).catch((error: unknown) => (lateError = error));
            return done();
          }
          return done(await ctx.sideEffect('apply', async () => applied.push('apply')));
        },
      }),
    ]);
    const engine = engineFor(w);
    const first = engine.run(workflow, { resource: resource(), input, persisted: undefined, store: w.status, retry: exactRetry(w.clock) });
    await new Promise((resolve) => setImmediate(resolve));
    w.clock.advance(5_000);
    expect(await first).toMatchObject({ state: 'running', requeueAfterMs: 1_000 });
    expect(w.status.latest?.workflow.steps[0]?.message).toBe('attempt 1 failed: call timed out after 5000 ms');
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lateError).toMatchObject({ name: 'AttemptEndedError' });
    w.clock.advance(1_000);
    await drive(engine, workflow, w, input);
    expect(applied).toEqual(['apply']);
  });

  it('a cancelled reconcile stops without recording a failure; the next process runs the interrupted attempt again', async () => {
    const w = world();
    const controller = new AbortController();
    const workflow = defineWorkflow<Input>('deploy', [
      step({
        name: 'deploy',
        run: async (ctx: StepContext<Input>): Promise<StepOutcome> => {
          if (ctx.attempt === 1) {
            controller.abort(new Error('shutting down'));
            // This step ignores its signal: the reconcile must still return.
            await new Promise(() => undefined);
          }
          return done();
        },
      }),
    ]);
    await expect(engineFor(w).run(workflow, { resource: resource(), input, persisted: undefined, store: w.status, retry: exactRetry(w.clock), signal: controller.signal })).rejects.toThrow('shutting down');
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Running', attempts: 1 });
    await drive(engineFor(w, 'process-2'), workflow, w, input);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Succeeded', attempts: 2 });
  });
});

describe('WorkflowEngine: side effects', () => {
  it('when the status write after a side effect fails, the reconcile fails and the next one replays the recorded result', async () => {
    const w = world();
    const calls: string[] = [];
    let failWrites = false;
    const status = w.status;
    const flaky = { save: (snapshot: Parameters<typeof status.save>[0]) => (failWrites ? Promise.reject(new ServerError(500, 'InternalError', 'etcd timeout')) : status.save(snapshot)) };
    const workflow = defineWorkflow<Input>('deploy', [
      step({
        name: 'deploy',
        run: async (ctx) => {
          const id = await ctx.sideEffect('apply', async (key) => (calls.push(key), 'd-1'));
          failWrites = calls.length === 1;
          return done(id);
        },
      }),
    ]);
    const engine = engineFor(w);
    await expect(engine.run(workflow, { resource: resource(), input, persisted: undefined, store: flaky, retry: exactRetry(w.clock) })).rejects.toThrow('etcd timeout');
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Running', attempts: 1 });
    failWrites = false;
    const results = await drive(engine, workflow, w, input);
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(calls).toHaveLength(1);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Succeeded', attempts: 2 });
  });

  it('an open breaker makes the step wait for the breaker, without using an attempt or claiming the key', async () => {
    const w = world();
    const breaker = w.breakers.get('provider:railway');
    breaker.isolate();
    const calls: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'deploy', run: async (ctx) => done(await ctx.sideEffect('apply', async (key) => calls.push(key), { breaker: 'provider:railway' })) })]);
    const engine = engineFor(w);
    const run = () => engine.run(workflow, { resource: resource(), input, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
    expect(await run()).toMatchObject({ state: 'running', requeueAfterMs: 30_000 });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', attempts: 1, message: 'circuit breaker provider:railway is isolated; retry in 30000 ms' });
    w.clock.advance(30_000);
    await run();
    breaker.reset();
    w.clock.advance(30_000);
    expect((await run()).state).toBe('succeeded');
    expect(calls).toEqual(['6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/deploy/apply']);
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ attempts: 1 });
  });

  it("a step's deferredMessage gives the message of the waits it is deferred into; undefined keeps the error's", async () => {
    const w = world();
    w.breakers.get('provider:railway').isolate();
    let held = false;
    const workflow = defineWorkflow<Input>('deploy', [
      step({
        name: 'deploy',
        deferredMessage: (error) => (isBrokenCircuit(error) ? `provider out: ${error.message}` : undefined),
        run: async (ctx) => {
          if (held) throw new IdempotencyHeldError('k', 'process-2', 4_000);
          return done(await ctx.sideEffect('apply', async () => 'applied', { breaker: 'provider:railway' }));
        },
      }),
    ]);
    const run = () => engineFor(w).run(workflow, { resource: resource(), input, persisted: w.status.latest, store: w.status, retry: exactRetry(w.clock) });
    expect(await run()).toMatchObject({ state: 'running', requeueAfterMs: 30_000 });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', attempts: 1, message: 'provider out: circuit breaker provider:railway is isolated; retry in 30000 ms' });
    held = true;
    w.clock.advance(30_000);
    expect(await run()).toMatchObject({ state: 'running', requeueAfterMs: 4_000 });
    expect(w.status.latest?.workflow.steps[0]).toMatchObject({ state: 'Waiting', attempts: 1, message: 'idempotency key k is held by another run for 4000 ms' });
  });

  it('when the idempotency store is down the side effect never runs and the step waits', async () => {
    const w = world();
    let up = false;
    const memory = w.idempotency;
    const flaky: IdempotencyStore = {
      kind: 'flaky',
      claim: (...args) => (up ? memory.claim(...args) : Promise.reject(new IdempotencyUnavailableError('redis down', 2_000))),
      complete: (...args) => memory.complete(...args),
      get: (...args) => memory.get(...args),
      release: (...args) => memory.release(...args),
    };
    const w2 = world({ clock: w.clock, idempotency: flaky });
    const calls: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'deploy', run: async (ctx) => done(await ctx.sideEffect('apply', async (key) => calls.push(key))) })]);
    const engine = engineFor(w2);
    const first = await engine.run(workflow, { resource: resource(), input, persisted: undefined, store: w2.status, retry: exactRetry(w.clock) });
    expect(first).toMatchObject({ state: 'running', requeueAfterMs: 2_000 });
    expect(calls).toEqual([]);
    up = true;
    w.clock.advance(2_000);
    await drive(engine, workflow, w2, input);
    expect(calls).toHaveLength(1);
  });

  it('a claim held by a dead process makes the step wait out its TTL, then the side effect runs once with the same key', async () => {
    const w = world();
    const key = '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/deploy/apply';
    await w.idempotency.claim(key, 'dead-process', 90_000);
    const calls: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'deploy', run: async (ctx) => done(await ctx.sideEffect('apply', async (k) => calls.push(k))) })]);
    const results = await drive(engineFor(w), workflow, w, input);
    expect(results.map((r) => (r.state === 'running' ? r.requeueAfterMs : r.state))).toEqual([90_000, 'succeeded']);
    expect(calls).toEqual([key]);
  });

  it('a side effect with a timeout is claimed for that timeout plus 30 s: a process killed during the call holds the next one up no longer', async () => {
    const w = world();
    const key = '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/rollback/apply';
    let claimWhileCalling: unknown;
    const workflow = defineWorkflow<Input>('deploy', [
      step({
        name: 'rollback',
        timeoutMs: 20_000,
        run: async (ctx) =>
          done(
            await ctx.sideEffect('apply', async () => {
              claimWhileCalling = await w.idempotency.get(key);
              return 'restored';
            }),
          ),
      }),
    ]);
    await drive(engineFor(w), workflow, w, input);
    expect(claimWhileCalling).toMatchObject({ state: 'claimed', owner: 'process-1', expiresInMs: 50_000 });
  });

  it('a side effect without a timeout is claimed for the engine claim TTL', async () => {
    const w = world();
    const key = '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/rollback/apply';
    let claimWhileCalling: unknown;
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'rollback', run: async (ctx) => done(await ctx.sideEffect('apply', async () => (claimWhileCalling = await w.idempotency.get(key)))) }),
    ]);
    await drive(engineFor(w, 'process-1', { claimTtlMs: 240_000 }), workflow, w, input);
    expect(claimWhileCalling).toMatchObject({ state: 'claimed', expiresInMs: 240_000 });
  });
});

describe('WorkflowEngine: generations', () => {
  it('a new generation abandons the old run and starts over with its own keys, never repeating the old side effects', async () => {
    const w = world();
    const registry = createMetricsRegistry({ processMetrics: false });
    const calls: string[] = [];
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'deploy', run: async (ctx) => done(await ctx.sideEffect('apply', async (key) => (calls.push(key), ctx.input.version))) }),
      step({ name: 'verify', run: async (ctx) => (ctx.resource.generation === 1 ? wait(60_000, 'waiting for rollout') : done()) }),
    ]);
    const engine = engineFor(w, 'process-1', { metrics: new WorkflowMetrics(registry) });
    await engine.run(workflow, { resource: resource(1), input, persisted: undefined, store: w.status, retry: exactRetry(w.clock) });
    // The spec changes while generation 1 waits in verify.
    const results = await drive(engine, workflow, w, { version: '1.43.0' }, { generation: 2 });
    expect(results.at(-1)?.state).toBe('succeeded');
    expect(calls).toEqual(['6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/deploy/apply', '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/2/deploy/apply']);
    expect(w.status.latest?.workflow).toMatchObject({ id: '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/2' });
    expect(w.status.latest?.workflow.steps.map((s) => [s.name, s.state, s.attempts])).toEqual([
      ['deploy', 'Succeeded', 1],
      ['verify', 'Succeeded', 1],
    ]);
    const superseded = w.events.events.find((event) => event.type === 'workflow.failed');
    expect(superseded).toMatchObject({ correlationId: '6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1', generation: 1, message: 'superseded by generation 2' });
    expect(superseded !== undefined && 'step' in superseded).toBe(false);
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_workflow_runs_total', { workflow: 'deploy', result: 'abandoned' })).toBe(1);
    expect(sampleValue(families, 'blackroad_workflow_runs_total', { workflow: 'deploy', result: 'succeeded' })).toBe(1);
    // Reconciling generation 1 again (a stale cache) cannot bring the old run back to repeat anything.
    expect(await w.idempotency.get('6f1c0b7e-1d2a-4c55-9a43-0e8b7f3c2d10/1/deploy/apply')).toMatchObject({ state: 'completed', result: '1.42.0' });
  });

  it('a finished run of an older generation is replaced without being counted as abandoned', async () => {
    const w = world();
    const registry = createMetricsRegistry({ processMetrics: false });
    const workflow = defineWorkflow<Input>('deploy', [step({ name: 'deploy', run: async () => done() })]);
    const engine = engineFor(w, 'process-1', { metrics: new WorkflowMetrics(registry) });
    await drive(engine, workflow, w, input, { generation: 1 });
    await drive(engine, workflow, w, input, { generation: 2 });
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_workflow_runs_total', { workflow: 'deploy', result: 'succeeded' })).toBe(2);
    expect(families.get('blackroad_workflow_runs_total')?.samples.some((s) => s.labels['result'] === 'abandoned')).toBe(false);
  });
});

/** The data of the domain event catalog's kind for a workflow event: what the wiring's adapter passes on. */
function catalogData(event: WorkflowEvent): Record<string, unknown> {
  const { type: _type, resource: _resource, correlationId: _correlationId, time: _time, ...fields } = event;
  if (event.type.startsWith('job.')) {
    const { generation: _generation, ...jobFields } = fields as Record<string, unknown>;
    return jobFields;
  }
  return fields;
}

describe('WorkflowEngine: events', () => {
  it('emits job.* and workflow.* events whose fields the domain event catalog accepts as they are', async () => {
    const w = world();
    const runs = counter();
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'deploy', run: async () => (runs.count('deploy') === 1 ? fail(new ServerError(503, 'ServiceUnavailable', 'down'), { retryable: true }) : done()) }),
      step({
        name: 'verify',
        run: async (ctx) => (ctx.resource.generation === 2 ? fail(new NonRetryableError('unhealthy'), { retryable: false }) : done()),
        compensation: step({ name: 'rollback', run: async () => done() }),
      }),
    ]);
    const engine = engineFor(w);
    // Generation 1 is abandoned while retrying, 2 fails and rolls back, 3 completes.
    await engine.run(workflow, { resource: resource(1), input, persisted: undefined, store: w.status, retry: exactRetry(w.clock) });
    await drive(engine, workflow, w, input, { generation: 2 });
    await drive(engine, workflow, w, input, { generation: 3 });
    expect(new Set(w.events.events.map((event) => event.type))).toEqual(new Set(['workflow.started', 'workflow.completed', 'workflow.failed', 'job.started', 'job.completed', 'job.failed']));
    for (const event of w.events.events) {
      const parsed = EVENT_KINDS[event.type].data.safeParse(catalogData(event));
      expect(parsed.success, `${event.type} ${JSON.stringify(catalogData(event))}`).toBe(true);
    }
  });
});

describe('WorkflowEngine: metrics and declarations', () => {
  it('records each step run by result and each run by outcome', async () => {
    const w = world();
    const registry = createMetricsRegistry({ processMetrics: false });
    const runs = counter();
    const workflow = defineWorkflow<Input>('deploy', [
      step({ name: 'deploy', run: async () => (runs.count('deploy') === 1 ? fail(new ServerError(500, 'InternalError', 'x'), { retryable: true }) : done()) }),
      step({ name: 'verify', run: async () => (runs.count('verify') === 1 ? wait(1_000, 'polling') : done()) }),
    ]);
    await drive(engineFor(w, 'p', { metrics: new WorkflowMetrics(registry) }), workflow, w, input);
    const families = parsePrometheusText(await registry.metrics());
    const count = (stepName: string, result: string) => sampleValue(families, 'blackroad_workflow_step_duration_seconds_count', { workflow: 'deploy', step: stepName, result });
    expect([count('deploy', 'retrying'), count('deploy', 'succeeded'), count('verify', 'waiting'), count('verify', 'succeeded')]).toEqual([1, 1, 1, 1]);
    expect(sampleValue(families, 'blackroad_workflow_runs_total', { workflow: 'deploy', result: 'succeeded' })).toBe(1);
  });

  it('refuses a workflow whose step names collide or cannot fit in status', () => {
    const noop = step<Input>({ name: 'a', run: async () => done() });
    expect(() => defineWorkflow('w', [noop, step({ name: 'a', run: async () => done() })])).toThrow(/used twice/);
    expect(() => defineWorkflow('w', [step({ name: 'b', run: async () => done(), compensation: noop }), noop])).toThrow(/used twice/);
    expect(() => defineWorkflow('w', [step({ name: 'x'.repeat(64), run: async () => done() })])).toThrow(/1 to 63/);
    expect(() => defineWorkflow('w', Array.from({ length: 65 }, (_, i) => step<Input>({ name: `s${i}`, run: async () => done() })))).toThrow(/at most 64/);
  });
});
