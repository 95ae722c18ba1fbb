// Model-based test of the work queue: random sequences of adds (plain, delayed, rate-limited, at either priority),
// gets (immediate and waiting), dones, forgets, clock moves and shutdown, checked step by step against a small
// model of client-go's semantics and the two-lane fairness rule of ADR 004.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { ItemExponentialRateLimiter } from '../../src/runtime/rate-limiter.ts';
import { WorkQueue, type Priority } from '../../src/runtime/work-queue.ts';
import { propertyRuns, propertyTimeoutMs } from './property-runs.ts';

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const BASE_DELAY_MS = 5;
const MAX_DELAY_MS = 1_000;

/** What the queue should hold, and what it should hand out next. */
class Model {
  /** Pending keys: their lane and when they were (last) put in it, for FIFO order within a lane. */
  readonly pending = new Map<string, { priority: Priority; enqueuedAt: number }>();
  readonly processing = new Set<string>();
  /** Delayed adds: when, at which priority, and in which order they were asked for. */
  readonly delayed = new Map<string, { readyAt: number; priority: Priority; seq: number }>();
  readonly failures = new Map<string, number>();
  /** What each waiting `get` must resolve with, in the order they were made; `null` until a key is handed out. */
  readonly waiters: { expected: string | undefined | null; resolved: string | undefined | null }[] = [];
  shutDown = false;
  nowMs = 0;
  #seq = 0;
  #highStreak = 0;

  readonly highBurst: number;

  constructor(highBurst: number) {
    this.highBurst = highBurst;
  }

  /** Keys that can be handed out: pending and not being processed. */
  ready(priority?: Priority): string[] {
    return [...this.pending].filter(([key, entry]) => !this.processing.has(key) && (priority === undefined || entry.priority === priority)).map(([key]) => key);
  }

  add(key: string, priority: Priority): void {
    if (this.shutDown) return;
    const existing = this.pending.get(key);
    if (existing !== undefined) {
      // Re-adding only raises the priority (and then the key joins the end of the high lane).
      if (existing.priority === 'low' && priority === 'high') {
        this.pending.set(key, { priority, enqueuedAt: this.#seq++ });
        if (!this.processing.has(key)) this.#handToWaiter();
      }
      return;
    }
    this.pending.set(key, { priority, enqueuedAt: this.#seq++ });
    if (!this.processing.has(key)) this.#handToWaiter();
  }

  addAfter(key: string, delayMs: number, priority: Priority): void {
    if (this.shutDown) return;
    if (delayMs <= 0) return this.add(key, priority);
    if (this.pending.has(key)) return;
    const readyAt = this.nowMs + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing.readyAt <= readyAt) return;
    this.delayed.set(key, { readyAt, priority, seq: this.#seq++ });
  }

  addRateLimited(key: string, priority: Priority): void {
    if (this.shutDown) return;
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    this.addAfter(key, Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** failures), priority);
  }

  advance(ms: number): void {
    this.nowMs += ms;
    if (this.shutDown) return;
    const due = [...this.delayed].filter(([, entry]) => entry.readyAt <= this.nowMs).sort(([, x], [, y]) => x.readyAt - y.readyAt || x.seq - y.seq);
    for (const [key, entry] of due) {
      this.delayed.delete(key);
      this.add(key, entry.priority);
    }
  }

  /** The key `tryGet` must return: the lane by the fairness rule, then the oldest entry of that lane. */
  take(): string | undefined {
    if (this.shutDown) return undefined;
    const high = this.ready('high');
    const low = this.ready('low');
    if (high.length === 0 && low.length === 0) return undefined;
    let lane: string[];
    if (high.length > 0 && (low.length === 0 || this.#highStreak < this.highBurst)) {
      lane = high;
      this.#highStreak += 1;
    } else {
      lane = low;
      this.#highStreak = 0;
    }
    const key = lane.sort((x, y) => (this.pending.get(x)?.enqueuedAt ?? 0) - (this.pending.get(y)?.enqueuedAt ?? 0))[0] as string;
    this.pending.delete(key);
    this.processing.add(key);
    return key;
  }

  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const entry = this.pending.get(key);
    if (entry !== undefined && !this.shutDown) {
      this.pending.set(key, { priority: entry.priority, enqueuedAt: this.#seq++ });
      this.#handToWaiter();
    }
  }

  stop(): void {
    this.shutDown = true;
    this.delayed.clear();
    for (const waiter of this.waiters) if (waiter.expected === null) waiter.expected = undefined;
  }

  /** A key that becomes ready goes straight to the oldest waiting `get`, as the queue's enqueue does. */
  #handToWaiter(): void {
    const waiter = this.waiters.find((candidate) => candidate.expected === null);
    if (waiter !== undefined) waiter.expected = this.take();
  }
}

interface Real {
  readonly queue: WorkQueue;
  readonly clock: ManualClock;
}

type Command = fc.AsyncCommand<Model, Real>;

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
};

/** After every command: the queue agrees with the model on everything it exposes. */
function expectAgreement(model: Model, real: Real): void {
  const { queue } = real;
  expect(queue.length).toBe(model.shutDown ? queue.length : model.ready().length);
  expect(queue.processing).toBe(model.processing.size);
  expect(queue.shuttingDown).toBe(model.shutDown);
  for (const key of KEYS) {
    if (!model.shutDown) expect(queue.has(key), `has(${key})`).toBe(model.pending.has(key) || model.processing.has(key));
    expect(queue.numRequeues(key), `numRequeues(${key})`).toBe(model.failures.get(key) ?? 0);
  }
  if (!model.shutDown) {
    const stats = queue.stats();
    expect([stats.depthHigh, stats.depthLow]).toEqual([model.ready('high').length, model.ready('low').length]);
  }
  for (const waiter of model.waiters) expect(waiter.resolved, 'a waiting get resolved with another key').toBe(waiter.expected);
}

const key = fc.constantFrom(...KEYS);
const priority = fc.constantFrom<Priority>('high', 'low');

function command(name: string, check: (model: Readonly<Model>) => boolean, run: (model: Model, real: Real) => void): Command {
  return {
    check,
    async run(model, real) {
      run(model, real);
      await flush();
      expectAgreement(model, real);
    },
    toString: () => name,
  };
}

const always = (): boolean => true;

const add = fc.tuple(key, priority).map(([k, p]) => command(`add(${k}, ${p})`, always, (model, real) => (model.add(k, p), real.queue.add(k, p))));
const tryGet = fc.constant(
  command('tryGet()', always, (model, real) => {
    const got = real.queue.tryGet();
    expect(got, 'tryGet handed out another key than the lanes and the fairness rule allow').toBe(model.take());
  }),
);
const done = fc.nat(4).map((index) =>
  command(
    `done(processing[${index}])`,
    (model) => model.processing.size > 0,
    (model, real) => {
      const processing = [...model.processing];
      const chosen = processing[index % processing.length] as string;
      model.done(chosen);
      real.queue.done(chosen);
    },
  ),
);

// Adds, gets and dones are listed twice: the interesting interleavings (a burst of high keys while a low one
// waits, a key re-added while it is processed) need many of them between clock moves.
const commands = [
  add,
  add,
  tryGet,
  tryGet,
  done,
  done,
  fc.tuple(key, fc.constantFrom(0, 1, 5, 10, 100), priority).map(([k, delayMs, p]) => command(`addAfter(${k}, ${delayMs}, ${p})`, always, (model, real) => (model.addAfter(k, delayMs, p), real.queue.addAfter(k, delayMs, p)))),
  fc.tuple(key, priority).map(([k, p]) => command(`addRateLimited(${k}, ${p})`, always, (model, real) => (model.addRateLimited(k, p), real.queue.addRateLimited(k, 0, p)))),
  key.map((k) => command(`forget(${k})`, always, (model, real) => (model.failures.delete(k), real.queue.forget(k)))),
  fc.constant(
    command('get() (may wait)', always, (model, real) => {
      const waiter: Model['waiters'][number] = { expected: null, resolved: null };
      // A get with nothing ready waits; with keys ready it takes one now (waiters only exist while nothing is ready).
      waiter.expected = model.ready().length > 0 || model.shutDown ? model.take() : null;
      model.waiters.push(waiter);
      void real.queue.get().then((got) => (waiter.resolved = got));
    }),
  ),
  fc.constantFrom(0, 1, 4, 5, 10, 50, 1_000).map((ms) => command(`advance(${ms} ms)`, always, (model, real) => (model.advance(ms), real.clock.advance(ms)))),
  fc.constant(command('shutDown()', (model) => !model.shutDown, (model, real) => (model.stop(), real.queue.shutDown()))),
];

describe('the work queue against its model', () => {
  it(
    'hands out exactly the keys, in exactly the order, that client-go semantics and the fairness rule allow, under any sequence of operations',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(1, 1, 2, 4), fc.commands(commands, { maxCommands: 100, size: 'max' }), async (highBurst, sequence) => {
          const clock = new ManualClock(0);
          const real: Real = { clock, queue: new WorkQueue({ name: 'model', clock, highBurst, rateLimiter: new ItemExponentialRateLimiter(BASE_DELAY_MS, MAX_DELAY_MS) }) };
          const model = new Model(highBurst);
          await fc.asyncModelRun(() => ({ model, real }), sequence);
          // Whatever happened, once the workers finish what they hold and time passes, every key still owed is
          // handed out (in the order the model says), and the queue ends empty.
          if (!model.shutDown) {
            for (let round = 0; round < 10 && (model.processing.size > 0 || model.pending.size > 0 || model.delayed.size > 0); round += 1) {
              for (const processing of [...model.processing]) {
                model.done(processing);
                real.queue.done(processing);
              }
              model.advance(MAX_DELAY_MS * 10);
              clock.advance(MAX_DELAY_MS * 10);
              await flush();
              for (let key = real.queue.tryGet(); ; key = real.queue.tryGet()) {
                expect(key).toBe(model.take());
                if (key === undefined) break;
              }
            }
            expectAgreement(model, real);
            expect([model.pending.size, model.processing.size, model.delayed.size]).toEqual([0, 0, 0]);
            for (const key of KEYS) expect(real.queue.has(key), `${key} still held`).toBe(false);
          }
        }),
        propertyRuns(200, 3_000),
      );
    },
    propertyTimeoutMs(30_000, 600_000),
  );
});
