// A harness that runs a deploy-like workflow through operator processes that die or see failures at chosen points
// between claim, side effect, completion and status write, restarts them, and checks that each side effect took
// effect once per idempotency key (counted at a fake provider). Used by tests/workflow/crash-safety.test.ts (every
// single point, Redis) and tests/property/workflow-faults.test.ts (random fault schedules).
import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { RetryableError } from '../../src/resilience/classify-failure.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { IdempotencyUnavailableError, type IdempotencyStore } from '../../src/resilience/idempotency-store.ts';
import { done, fanOut, step, wait, type FanOutUnit } from '../../src/workflow/step.ts';
import { WorkflowEngine, type RunResult } from '../../src/workflow/workflow-engine.ts';
import type { WorkflowStatusStore } from '../../src/workflow/workflow-status-store.ts';
import { defineWorkflow } from '../../src/workflow/workflow.ts';
import { exactRetry, FakeStatusStore, resource } from './workflow-fakes.ts';

/** The operator process died at this point: it does nothing more, ever. */
export class ProcessKilled extends Error {
  override name = 'ProcessKilled';
}

/**
 * What happens at a point: `kill` ends the process there; `fail` makes the operation fail there, the process
 * living on. At an operation's `:before` point a failure means it never reached the outside (Redis or the API
 * server unreachable, the provider refusing the connection); at its `:after` point it landed and the answer was
 * lost (a connection reset or a timeout after the request was sent).
 */
export type Fault = 'kill' | 'fail';

/** The faults one process meets, by the number of the point (counted within that process, from 1). */
export interface ProcessPlan {
  readonly faults: ReadonlyMap<number, Fault>;
}

/** A process killed at point `point` and nothing else. */
export function killAt(point: number): ProcessPlan {
  return { faults: new Map([[point, 'kill']]) };
}

/**
 * A deploy target that takes idempotency keys (as Stripe's or Railway's APIs do): the first call with a
 * key takes effect, a later call with the same key returns the first result. It records every call and
 * checks that the caller held a live claim on the key at that moment.
 */
export class FakeProvider {
  readonly calls = new Map<string, number>();
  readonly effects = new Map<string, string>();
  readonly violations: string[] = [];
  readonly #claims: IdempotencyStore;

  constructor(claims: IdempotencyStore) {
    this.#claims = claims;
  }

  async call(key: string, owner: string): Promise<string> {
    const record = await this.#claims.get(key);
    if (record?.state !== 'claimed' || record.owner !== owner) this.violations.push(`${key} called by ${owner} without a live claim`);
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (!this.effects.has(key)) this.effects.set(key, `effect-${this.effects.size + 1}`);
    return this.effects.get(key) as string;
  }
}

/** What outlives an operator process: the API server (status), Redis (claims), the provider, time. */
export class Outside {
  readonly clock = new ManualClock(Date.UTC(2026, 0, 1));
  /** Claims live in Redis, or in a memory store on the manual clock that outlives every process. */
  readonly claims: IdempotencyStore;
  /** With Redis, claims last this long in real time (and the harness really waits them out). */
  readonly claimTtlMs: number | undefined;
  readonly status = new FakeStatusStore();
  readonly provider: FakeProvider;
  /** Every point passed, in order, by every process. */
  readonly trace: string[] = [];
  /** Steps (or units) that ran although the saved status already said they had succeeded. */
  readonly reruns: string[] = [];

  constructor(redis?: { readonly store: IdempotencyStore; readonly claimTtlMs: number }) {
    this.claims = redis?.store ?? new IdempotencyMemoryStore({ clock: this.clock });
    this.claimTtlMs = redis?.claimTtlMs;
    this.provider = new FakeProvider(this.claims);
  }

  /** Lets a requeue delay pass: on the manual clock, and in real time when it is a Redis claim's TTL. */
  async elapse(ms: number): Promise<void> {
    this.clock.advance(ms);
    if (this.claimTtlMs !== undefined && ms <= this.claimTtlMs) await delay(ms + 5);
  }
}

interface Input {
  readonly provider: { call(key: string): Promise<string> };
  readonly claimTtlMs: number | undefined;
  readonly outside: Outside;
}

interface Unit extends FanOutUnit {
  readonly polls: number;
}

/** Records a run of a step (or unit) that any saved status had already recorded as succeeded. */
function guardRerun(outside: Outside, stepName: string, unit?: string): void {
  const succeeded = outside.status.saved.some((saved) =>
    (unit === undefined ? saved.workflow.steps.find((entry) => entry.name === stepName)?.state : saved.units[stepName]?.find((entry) => entry.id === unit)?.state) === 'Succeeded',
  );
  if (succeeded) outside.reruns.push(unit === undefined ? stepName : `${stepName}/${unit}`);
}

const ttl = (input: Input) => (input.claimTtlMs === undefined ? {} : { claimTtlMs: input.claimTtlMs });

const workflow = defineWorkflow<Input>('deploy', [
  step({ name: 'prepare', run: async (ctx) => (guardRerun(ctx.input.outside, 'prepare'), done()) }),
  step({
    name: 'deploy',
    run: async (ctx) => {
      guardRerun(ctx.input.outside, 'deploy');
      return done(await ctx.sideEffect('apply', (key) => ctx.input.provider.call(key), { breaker: 'provider:fake', ...ttl(ctx.input) }));
    },
  }),
  step({
    name: 'configure',
    run: async (ctx) => {
      guardRerun(ctx.input.outside, 'configure');
      const dns = await ctx.sideEffect('dns', (key) => ctx.input.provider.call(key), ttl(ctx.input));
      const cert = await ctx.sideEffect('cert', (key) => ctx.input.provider.call(key), ttl(ctx.input));
      return done({ dns, cert });
    },
  }),
  fanOut<Input, Unit>({
    name: 'checks',
    concurrency: 2,
    units: () => [
      { id: 'api', polls: 1 },
      { id: 'web', polls: 0 },
      { id: 'worker', polls: 2 },
    ],
    run: async (ctx, unit) => {
      guardRerun(ctx.input.outside, 'checks', unit.id);
      const job = await ctx.sideEffect('job', (key) => ctx.input.provider.call(key), ttl(ctx.input));
      const pollsDone = ctx.input.outside.trace.filter((point) => point.endsWith(`poll ${unit.id}`)).length;
      if (pollsDone < unit.polls) {
        ctx.input.outside.trace.push(`poll ${unit.id}`);
        return wait(1_000, `${job} running`);
      }
      return done({ job });
    },
  }),
  step({
    name: 'finalize',
    run: async (ctx) => {
      guardRerun(ctx.input.outside, 'finalize');
      return done(await ctx.sideEffect('audit', (key) => ctx.input.provider.call(key), ttl(ctx.input)));
    },
  }),
]);

/** The idempotency keys of the workflow's side effects: each must take effect exactly once. */
export const EXPECTED_KEYS = ['deploy/apply', 'configure/dns', 'configure/cert', 'checks/api%3Ajob', 'checks/web%3Ajob', 'checks/worker%3Ajob', 'finalize/audit'].map((suffix) => `${resource().uid}/1/${suffix}`);

/** The error an operation fails with when a `fail` fault hits it. */
function injectedFailure(operation: string): Error {
  if (/^(claim|complete|get|release) /.test(operation)) return new IdempotencyUnavailableError(`injected: the idempotency store did not answer (${operation})`, 1_000);
  return new RetryableError(`injected: the connection broke (${operation})`);
}

/** One operator process: its own engine and memory; every call it makes to the outside passes a fault point. */
export class OperatorProcess {
  readonly owner: string;
  alive = true;
  /** Faults injected during the current reconcile (a failed reconcile is requeued, as the controller does). */
  faultsThisReconcile = 0;
  #points = 0;
  readonly #plan: ProcessPlan | undefined;
  readonly #outside: Outside;
  readonly #engine: WorkflowEngine;
  readonly #claims: IdempotencyStore;
  readonly #status: WorkflowStatusStore;
  readonly #maxAttempts: number;

  constructor(outside: Outside, owner: string, plan: ProcessPlan | undefined, maxAttempts = 5) {
    this.owner = owner;
    this.#outside = outside;
    this.#plan = plan;
    this.#maxAttempts = maxAttempts;
    const claims = outside.claims;
    this.#claims = {
      kind: 'shared',
      claim: (key, who, ttlMs) => this.#guarded(`claim ${key}`, () => claims.claim(key, who, ttlMs)),
      complete: (key, who, result, ttlMs) => this.#guarded(`complete ${key}`, () => claims.complete(key, who, result, ttlMs)),
      get: (key) => this.#guarded(`get ${key}`, () => claims.get(key)),
      release: (key, who) => this.#guarded(`release ${key}`, () => claims.release(key, who)),
    };
    this.#status = { save: (snapshot) => this.#guarded('save', () => outside.status.save(snapshot)) };
    // Each process has its own breakers: they live in memory.
    this.#engine = new WorkflowEngine({ owner, clock: outside.clock, idempotency: this.#claims, breakers: new CircuitBreakerRegistry({ clock: outside.clock }) });
  }

  reconcile(): Promise<RunResult> {
    this.faultsThisReconcile = 0;
    const provider = { call: (key: string) => this.#guarded(`call ${key}`, () => this.#outside.provider.call(key, this.owner)) };
    return this.#engine.run(workflow, {
      resource: resource(),
      input: { provider, outside: this.#outside, claimTtlMs: this.#outside.claimTtlMs },
      persisted: this.#outside.status.latest,
      store: this.#status,
      retry: exactRetry(this.#outside.clock, this.#maxAttempts),
    });
  }

  async #guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    this.#point(operation, 'before');
    const result = await call();
    // Past its `before` point an operation lands even if the process dies meanwhile: the request was sent.
    this.#outside.trace.push(`${this.owner} ${operation}:done`);
    this.#point(operation, 'after');
    return result;
  }

  #point(operation: string, phase: 'before' | 'after'): void {
    if (!this.alive) throw new ProcessKilled(`${this.owner} is dead`);
    this.#points += 1;
    this.#outside.trace.push(`${this.owner} ${operation}:${phase}`);
    const fault = this.#plan?.faults.get(this.#points);
    if (fault === 'kill') {
      this.alive = false;
      this.#outside.trace.push(`${this.owner} KILLED`);
      throw new ProcessKilled(`${this.owner} killed at ${operation}:${phase}`);
    }
    if (fault === 'fail') {
      this.faultsThisReconcile += 1;
      this.#outside.trace.push(`${this.owner} FAULT ${operation}:${phase}`);
      throw injectedFailure(operation);
    }
  }
}

/** A failed reconcile comes back after this long (the rate limiter's first delay is 5 ms). */
const FAILED_RECONCILE_REQUEUE_MS = 5;

/**
 * Runs the workflow to its end, as the work queue would: a `running` result is a requeue after its delay, a
 * reconcile that failed on an injected fault is requeued, and a fresh process starts whenever one dies.
 * `plans[n]` holds the faults process n meets.
 */
export async function operate(plans: readonly ProcessPlan[], outside = new Outside(), options: { maxAttempts?: number } = {}): Promise<{ outside: Outside; result: RunResult; processes: number }> {
  let processes = 1;
  let process = new OperatorProcess(outside, 'process-1', plans[0], options.maxAttempts);
  for (let reconciles = 0; reconciles < 1_000; reconciles += 1) {
    let result: RunResult;
    try {
      result = await process.reconcile();
    } catch (error) {
      if (process.alive && process.faultsThisReconcile === 0) throw error;
      if (process.alive) {
        await outside.elapse(FAILED_RECONCILE_REQUEUE_MS);
        continue;
      }
      processes += 1;
      process = new OperatorProcess(outside, `process-${processes}`, plans[processes - 1], options.maxAttempts);
      continue;
    }
    if (result.state !== 'running') return { outside, result, processes };
    await outside.elapse(result.requeueAfterMs);
  }
  throw new Error('the run did not end');
}

/**
 * Checks the one window the protocol cannot close alone: a key is called again only after an earlier call of it
 * landed and its completion was never recorded, because its process was killed after the call, or the call's
 * answer was lost, or the completion did not reach the store. Then the provider, which de-duplicates by key,
 * still applies the effect once.
 */
function expectCallsOnlyInTheWindow(trace: readonly string[], key: string): void {
  const owner = (entry: string): string => entry.slice(0, entry.indexOf(' '));
  const calls = trace.flatMap((entry, index) => (entry.endsWith(` call ${key}:done`) ? [index] : []));
  const completions = trace.flatMap((entry, index) => (entry.endsWith(` complete ${key}:done`) ? [index] : []));
  expect(completions, `${key} completed ${completions.length} times`).toHaveLength(1);
  const completedAt = completions[0] as number;
  expect(calls.filter((index) => index > completedAt), `${key} called after its completion was recorded`).toEqual([]);
  const completedCall = calls.at(-1) as number;
  expect(owner(trace[completedCall] as string), `${key} completed by another process than the one whose call it records`).toBe(owner(trace[completedAt] as string));
  for (const [position, index] of calls.slice(0, -1).entries()) {
    const caller = owner(trace[index] as string);
    const before = calls[position + 1] as number;
    // A kill may come before the call lands (another unit's point killed the process while this call was in flight).
    const killed = trace.slice(0, before).includes(`${caller} KILLED`);
    const lost = trace.slice(index + 1, before).some((entry) => entry === `${caller} FAULT call ${key}:after` || entry === `${caller} FAULT complete ${key}:before`);
    const interrupted = killed || lost;
    expect(interrupted, `${key} called again at trace[${before}] although the call at trace[${index}] by ${caller} was neither cut off nor lost`).toBe(true);
  }
}

/** The run succeeded, every side effect took effect once, always under a live claim, and no succeeded step ran again. */
export function expectExactlyOnce(outside: Outside, result: RunResult): void {
  expect(result.state).toBe('succeeded');
  expect(outside.provider.violations).toEqual([]);
  expect(outside.reruns).toEqual([]);
  expect([...outside.provider.effects.keys()].sort()).toEqual([...EXPECTED_KEYS].sort());
  for (const key of EXPECTED_KEYS) expectCallsOnlyInTheWindow(outside.trace, key);
  const steps = result.snapshot.workflow.steps;
  expect(steps.map((entry) => [entry.name, entry.state])).toEqual(['prepare', 'deploy', 'configure', 'checks', 'finalize'].map((name) => [name, 'Succeeded']));
}

/**
 * Kills the first process at each point of a clean run in turn and checks the invariants after each
 * restart. Scenarios are independent (each has its own outside world); `parallel` run at once.
 */
export async function killAtEveryPoint(makeOutside: () => Outside, parallel = 1): Promise<void> {
  const clean = await operate([], makeOutside());
  const points = clean.outside.trace.filter((entry) => !entry.startsWith('poll') && !entry.endsWith(':done')).length;
  expect(points).toBeGreaterThan(60);
  const killedAt = new Set<string>();
  const scenario = async (crashAt: number): Promise<void> => {
    const { outside, result, processes } = await operate([killAt(crashAt)], makeOutside());
    expect(processes, `crash at point ${crashAt}`).toBe(2);
    const killed = outside.trace[outside.trace.indexOf('process-1 KILLED') - 1] ?? '';
    // `process-1 claim <key>:after` or `process-1 save:before` → `claim:after`, `save:before`.
    const [, operation = '', detail = ''] = killed.split(' ');
    killedAt.add(detail === '' ? operation : `${operation}${detail.slice(detail.lastIndexOf(':'))}`);
    try {
      expectExactlyOnce(outside, result);
    } catch (error) {
      throw new Error(`killed at point ${crashAt} (${killed})`, { cause: error });
    }
  };
  let next = 1;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next <= points) await scenario(next++);
    }),
  );
  // Every kind of point was hit: before and after each claim, call, completion and status save.
  for (const operation of ['claim', 'call', 'complete', 'save']) {
    expect(killedAt).toContain(`${operation}:before`);
    expect(killedAt).toContain(`${operation}:after`);
  }
}
