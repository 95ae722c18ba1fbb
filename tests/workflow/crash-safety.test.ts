// Kills the operator at every point between claim, side effect, completion and status write, restarts it from
// the persisted status, and proves each side effect ran once per key (counted at a fake provider).
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../../src/resilience/idempotency-redis-store.ts';
import type { IdempotencyStore } from '../../src/resilience/idempotency-store.ts';
import { done, fanOut, step, wait, type FanOutUnit } from '../../src/workflow/step.ts';
import { WorkflowEngine, type RunResult } from '../../src/workflow/workflow-engine.ts';
import type { WorkflowStatusStore } from '../../src/workflow/workflow-status-store.ts';
import { defineWorkflow } from '../../src/workflow/workflow.ts';
import { probeRedis } from '../support/redis.ts';
import { exactRetry, FakeStatusStore, resource } from '../support/workflow-fakes.ts';

/** The operator process died at this point: it does nothing more, ever. */
class ProcessKilled extends Error {
  override name = 'ProcessKilled';
}

/**
 * A deploy target that takes idempotency keys (as Stripe's or Railway's APIs do): the first call with a
 * key takes effect, a later call with the same key returns the first result. It records every call and
 * checks that the caller held a live claim on the key at that moment.
 */
class FakeProvider {
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
class Outside {
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

const EXPECTED_KEYS = ['deploy/apply', 'configure/dns', 'configure/cert', 'checks/api%3Ajob', 'checks/web%3Ajob', 'checks/worker%3Ajob', 'finalize/audit'].map((suffix) => `${resource().uid}/1/${suffix}`);

/** One operator process: its own engine and memory; every call it makes to the outside passes a crash point. */
class OperatorProcess {
  readonly owner: string;
  alive = true;
  #points = 0;
  readonly #crashAt: number | undefined;
  readonly #outside: Outside;
  readonly #engine: WorkflowEngine;
  readonly #claims: IdempotencyStore;
  readonly #status: WorkflowStatusStore;

  constructor(outside: Outside, owner: string, crashAt: number | undefined) {
    this.owner = owner;
    this.#outside = outside;
    this.#crashAt = crashAt;
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
    const provider = { call: (key: string) => this.#guarded(`call ${key}`, () => this.#outside.provider.call(key, this.owner)) };
    return this.#engine.run(workflow, { resource: resource(), input: { provider, outside: this.#outside, claimTtlMs: this.#outside.claimTtlMs }, persisted: this.#outside.status.latest, store: this.#status, retry: exactRetry(this.#outside.clock, 5) });
  }

  async #guarded<T>(operation: string, call: () => Promise<T>): Promise<T> {
    this.#point(`${operation}:before`);
    const result = await call();
    // Past its `before` point an operation lands even if the process dies meanwhile: the request was sent.
    this.#outside.trace.push(`${this.owner} ${operation}:done`);
    this.#point(`${operation}:after`);
    return result;
  }

  #point(name: string): void {
    if (!this.alive) throw new ProcessKilled(`${this.owner} is dead`);
    this.#points += 1;
    this.#outside.trace.push(`${this.owner} ${name}`);
    if (this.#points === this.#crashAt) {
      this.alive = false;
      this.#outside.trace.push(`${this.owner} KILLED`);
      throw new ProcessKilled(`${this.owner} killed at ${name}`);
    }
  }
}

/**
 * Runs the workflow to its end, as the work queue would, starting a fresh process whenever one dies.
 * `crashPlan[n]` is the point (counted within process n) at which process n is killed.
 */
async function operate(crashPlan: readonly number[], outside = new Outside()): Promise<{ outside: Outside; result: RunResult; processes: number }> {
  let processes = 1;
  let process = new OperatorProcess(outside, 'process-1', crashPlan[0]);
  for (let reconciles = 0; reconciles < 1_000; reconciles += 1) {
    let result: RunResult;
    try {
      result = await process.reconcile();
    } catch (error) {
      if (process.alive) throw error;
      processes += 1;
      process = new OperatorProcess(outside, `process-${processes}`, crashPlan[processes - 1]);
      continue;
    }
    if (result.state !== 'running') return { outside, result, processes };
    await outside.elapse(result.requeueAfterMs);
  }
  throw new Error('the run did not end');
}

/**
 * How many killed processes called each key without recording its completion: the one window the protocol
 * cannot close alone, where the next process calls again with the same key.
 */
function callsLostToKills(trace: readonly string[]): Map<string, number> {
  const landed = (owner: string, operation: string) => new Set(trace.filter((entry) => entry.startsWith(`${owner} ${operation} `) && entry.endsWith(':done')).map((entry) => entry.split(' ')[2]?.slice(0, -':done'.length) ?? ''));
  const lost = new Map<string, number>();
  for (const owner of trace.filter((entry) => entry.endsWith(' KILLED')).map((entry) => entry.split(' ')[0] ?? '')) {
    const completed = landed(owner, 'complete');
    for (const key of landed(owner, 'call')) if (!completed.has(key)) lost.set(key, (lost.get(key) ?? 0) + 1);
  }
  return lost;
}

function expectExactlyOnce(outside: Outside, result: RunResult): void {
  expect(result.state).toBe('succeeded');
  expect(outside.provider.violations).toEqual([]);
  expect(outside.reruns).toEqual([]);
  expect([...outside.provider.effects.keys()].sort()).toEqual([...EXPECTED_KEYS].sort());
  const lost = callsLostToKills(outside.trace);
  for (const key of EXPECTED_KEYS) {
    // A key is called again only after a process was killed in the one window the protocol cannot close
    // alone (after the call, before its completion was recorded), and then with the same key, which the
    // provider de-duplicates: its effect still happened once.
    expect(outside.provider.calls.get(key), key).toBe(1 + (lost.get(key) ?? 0));
  }
  const steps = result.snapshot.workflow.steps;
  expect(steps.map((entry) => [entry.name, entry.state])).toEqual(['prepare', 'deploy', 'configure', 'checks', 'finalize'].map((name) => [name, 'Succeeded']));
}

/**
 * Kills the first process at each point of a clean run in turn and checks the invariants after each
 * restart. Scenarios are independent (each has its own outside world); `parallel` run at once.
 */
async function killAtEveryPoint(makeOutside: () => Outside, parallel = 1): Promise<void> {
  const clean = await operate([], makeOutside());
  const points = clean.outside.trace.filter((entry) => !entry.startsWith('poll') && !entry.endsWith(':done')).length;
  expect(points).toBeGreaterThan(60);
  const killedAt = new Set<string>();
  const scenario = async (crashAt: number): Promise<void> => {
    const { outside, result, processes } = await operate([crashAt], makeOutside());
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

describe('crash safety of the workflow engine', () => {
  it('without a crash, every side effect runs once', async () => {
    const { outside, result } = await operate([]);
    expectExactlyOnce(outside, result);
    expect([...outside.provider.calls.values()].every((count) => count === 1)).toBe(true);
  });

  it('killed at any single point between claim, side effect, completion and status write, a restarted operator still runs each side effect once per key', async () => {
    await killAtEveryPoint(() => new Outside());
  });

  it('killed again and again, in any order of points, each side effect still takes effect once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 45 }), { minLength: 1, maxLength: 4 }), async (crashPlan) => {
        const { outside, result } = await operate(crashPlan);
        expectExactlyOnce(outside, result);
      }),
      { numRuns: 150 },
    );
  });
});

const probe = await probeRedis('crash safety against Redis');
const redisClients: Redis[] = [];
const prefix = `test:${randomUUID()}:`;
afterAll(async () => {
  const cleaner = redisClients[0];
  if (cleaner !== undefined) {
    const keys = await cleaner.keys(`${prefix}*`);
    if (keys.length > 0) await cleaner.del(...keys);
  }
  for (const client of redisClients.splice(0)) client.disconnect();
});

describe.skipIf(!probe.available)('crash safety of the workflow engine with claims in the real Redis', () => {
  it('killed at any single point, a restarted operator still runs each side effect once per key', async () => {
    const client = new Redis(probe.url, REDIS_CLIENT_OPTIONS);
    client.on('error', () => undefined);
    redisClients.push(client);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    let scenario = 0;
    // Each scenario has its own keys; claims last 500 ms of real time (long enough that a busy machine never lets one lapse between claim and call), which a restart really waits out,
    // so scenarios run forty at a time.
    await killAtEveryPoint(() => new Outside({ store: new IdempotencyRedisStore({ client, keyPrefix: `${prefix}${(scenario += 1)}:` }), claimTtlMs: 500 }), 40);
  });
});
