// The controller's work queue: client-go's semantics (de-duplication, one worker per key, delayed and rate-limited adds) with two fair priorities.
import type { Clock, TimerHandle } from '../resilience/clock.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';
import type { QueueInstruments, QueueStats, RuntimeMetrics } from './runtime-metrics.ts';

/** `high` for fresh watch events and retries; `low` for the initial list, relists and resyncs. */
export type Priority = 'high' | 'low';

const HIGH = 0;
const LOW = 1;
type LaneIndex = typeof HIGH | typeof LOW;

export interface WorkQueueOptions<K> {
  /** The queue's `name` label (controller-runtime uses the controller's name). */
  readonly name: string;
  readonly clock: Clock;
  readonly rateLimiter?: RateLimiter<K>;
  /** At most this many high-priority keys are handed out in a row while a low-priority key waits. Default 4. */
  readonly highBurst?: number;
  readonly metrics?: RuntimeMetrics;
  /** The `controller` label; defaults to `name`. */
  readonly controller?: string;
}

/**
 * A FIFO over an array with a moving head, compacted now and then; `shift` is O(1) amortized. Entries are
 * numbered in push order, so an entry can be told from a later one of the same key.
 */
class Lane<K> {
  items: (K | undefined)[] = [];
  head = 0;
  /** Entries pushed so far: the number of the next one. */
  pushed = 0;
  /** Entries shifted so far: the last one shifted was number `shifted - 1`. */
  shifted = 0;

  /** Appends `key`; returns the entry's number. */
  push(key: K): number {
    this.items.push(key);
    return this.pushed++;
  }

  shift(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    this.shifted += 1;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}

interface Delayed<K> {
  readonly key: K;
  readonly readyAt: number;
  readonly priority: Priority;
  readonly seq: number;
}

/** A binary min-heap of delayed keys by (readyAt, seq). */
class DelayHeap<K> {
  readonly #items: Delayed<K>[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Delayed<K> | undefined {
    return this.#items[0];
  }

  push(item: Delayed<K>): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!DelayHeap.#before(item, items[parent] as Delayed<K>)) break;
      items[index] = items[parent] as Delayed<K>;
      index = parent;
    }
    items[index] = item;
  }

  pop(): Delayed<K> | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && DelayHeap.#before(items[right] as Delayed<K>, items[left] as Delayed<K>) ? right : left;
      if (!DelayHeap.#before(items[child] as Delayed<K>, last)) break;
      items[index] = items[child] as Delayed<K>;
      index = child;
    }
    items[index] = last;
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }

  static #before<K>(a: Delayed<K>, b: Delayed<K>): boolean {
    return a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq);
  }
}

/**
 * A rate-limited, delaying work queue of keys.
 *
 * Guarantees (client-go's `workqueue`):
 * - a key is handed out to at most one worker at a time: between `get` and `done` it is *processing*;
 * - a pending key is held once however often it is added (the earlier, higher-priority add wins);
 * - a key added while processing is handed out again after `done`, exactly once;
 * - `addAfter` holds a key on a timer heap until its time (the earliest request wins);
 * - `addRateLimited` waits as the rate limiter says (per-key exponential by default) until `forget`.
 *
 * Starvation: high-priority keys go first, but while a low-priority key waits at most `highBurst` high keys
 * are handed out in a row, so a steady stream of fresh events cannot starve the initial list and a large
 * initial list cannot delay a fresh event by more than the high keys ahead of it plus one low key per burst.
 *
 * After `shutDown` adds are ignored and `get` resolves `undefined`; keys being processed finish and
 * {@link WorkQueue.drained} resolves once the last one is `done`.
 */
export class WorkQueue<K = string> {
  readonly name: string;
  readonly #clock: Clock;
  readonly #rateLimiter: RateLimiter<K>;
  readonly #highBurst: number;
  readonly #lanes: [Lane<K>, Lane<K>] = [new Lane<K>(), new Lane<K>()];
  /** Depth per lane: keys pending in that lane and not processing. */
  readonly #depth: [number, number] = [0, 0];
  /** Pending keys and their lane. */
  readonly #dirty = new Map<K, LaneIndex>();
  /**
   * The number of each queued key's live entry in its lane. Entries left behind by a priority upgrade or a key
   * processed meanwhile are stale, and stay stale when the key is queued in that lane again later.
   */
  readonly #entryOf = new Map<K, number>();
  readonly #addedAt = new Map<K, number>();
  /** Keys being processed and when their processing started. */
  readonly #processing = new Map<K, number>();
  readonly #waiters: ((key: K | undefined) => void)[] = [];
  readonly #drainWaiters: (() => void)[] = [];
  readonly #delayed = new DelayHeap<K>();
  readonly #delayedByKey = new Map<K, Delayed<K>>();
  readonly #instruments: QueueInstruments | undefined;
  readonly #removeMetrics: (() => void) | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #seq = 0;
  #highStreak = 0;
  #adds = 0;
  #retries = 0;
  #shuttingDown = false;

  constructor(options: WorkQueueOptions<K>) {
    this.name = options.name;
    this.#clock = options.clock;
    this.#rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>(options.clock);
    this.#highBurst = Math.max(1, options.highBurst ?? 4);
    if (options.metrics !== undefined) {
      const { instruments, remove } = options.metrics.queue(options.name, options.controller ?? options.name, () => this.stats());
      this.#instruments = instruments;
      this.#removeMetrics = remove;
    }
  }

  /** Keys waiting to be handed out (not counting processing or delayed ones). */
  get length(): number {
    return this.#depth[HIGH] + this.#depth[LOW];
  }

  get processing(): number {
    return this.#processing.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Whether `key` is pending or being processed. */
  has(key: K): boolean {
    return this.#dirty.has(key) || this.#processing.has(key);
  }

  /** Marks `key` as needing processing. Re-adding a pending key only raises its priority. */
  add(key: K, priority: Priority = 'high'): void {
    if (this.#shuttingDown) return;
    const lane: LaneIndex = priority === 'low' ? LOW : HIGH;
    const existing = this.#dirty.get(key);
    if (existing !== undefined) {
      if (lane < existing) {
        this.#dirty.set(key, lane);
        if (!this.#processing.has(key)) {
          this.#depth[existing] -= 1;
          this.#enqueue(key, lane);
        }
      }
      return;
    }
    this.#adds += 1;
    this.#dirty.set(key, lane);
    this.#addedAt.set(key, this.#clock.now());
    if (!this.#processing.has(key)) this.#enqueue(key, lane);
  }

  /**
   * Adds `key` after `delayMs`. A key already pending is left alone (it will be processed soon anyway); a key
   * already delayed keeps the earlier of its two times.
   */
  addAfter(key: K, delayMs: number, priority: Priority = 'high'): void {
    if (this.#shuttingDown) return;
    this.#retries += 1;
    if (delayMs <= 0) {
      this.add(key, priority);
      return;
    }
    if (this.#dirty.has(key)) return;
    const readyAt = this.#clock.now() + delayMs;
    const existing = this.#delayedByKey.get(key);
    if (existing !== undefined && existing.readyAt <= readyAt) return;
    const entry: Delayed<K> = { key, readyAt, priority, seq: this.#seq++ };
    this.#delayedByKey.set(key, entry);
    this.#delayed.push(entry);
    if (readyAt < this.#timerAt) this.#arm(readyAt);
  }

  /** Adds `key` after the rate limiter's delay for it (never sooner than `minDelayMs`, e.g. a server's Retry-After). */
  addRateLimited(key: K, minDelayMs = 0, priority: Priority = 'high'): void {
    if (this.#shuttingDown) return;
    this.addAfter(key, Math.max(this.#rateLimiter.when(key), minDelayMs), priority);
  }

  /** Stops rate-limiting `key` (after a success, or when giving up on it). */
  forget(key: K): void {
    this.#rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /** The next key without waiting, or `undefined` when none is ready (or the queue is shutting down). */
  tryGet(): K | undefined {
    if (this.#shuttingDown || this.length === 0) return undefined;
    return this.#take();
  }

  /** The next key, waiting for one; `undefined` once the queue shuts down. The caller must call `done(key)`. */
  get(): Promise<K | undefined> {
    const key = this.tryGet();
    if (key !== undefined || this.#shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends the processing of `key`; if it was added meanwhile it is queued again. */
  done(key: K): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    this.#instruments?.workDuration.observe((this.#clock.now() - startedAt) / 1000);
    const lane = this.#dirty.get(key);
    if (lane !== undefined && !this.#shuttingDown) this.#enqueue(key, lane);
    if (this.#processing.size === 0) this.#drainWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** Stops handing out keys and ignores new adds; keys being processed may finish (see {@link WorkQueue.drained}). */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#delayed.clear();
    this.#delayedByKey.clear();
    this.#waiters.splice(0).forEach((resolve) => resolve(undefined));
    this.#removeMetrics?.();
  }

  /** Resolves once no key is being processed. */
  drained(): Promise<void> {
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** The numbers behind the workqueue metrics. */
  stats(): QueueStats {
    const now = this.#clock.now();
    let unfinishedMs = 0;
    let longestMs = 0;
    for (const startedAt of this.#processing.values()) {
      unfinishedMs += now - startedAt;
      longestMs = Math.max(longestMs, now - startedAt);
    }
    return {
      depthHigh: this.#depth[HIGH],
      depthLow: this.#depth[LOW],
      adds: this.#adds,
      retries: this.#retries,
      unfinishedSeconds: unfinishedMs / 1000,
      longestRunningSeconds: longestMs / 1000,
    };
  }

  #enqueue(key: K, lane: LaneIndex): void {
    this.#depth[lane] += 1;
    this.#entryOf.set(key, this.#lanes[lane].push(key));
    if (this.#waiters.length > 0) {
      const waiter = this.#waiters.shift() as (key: K | undefined) => void;
      waiter(this.#take());
    }
  }

  /** Hands out the next key. Assumes `length > 0`. */
  #take(): K {
    const highWaiting = this.#depth[HIGH] > 0;
    const lowWaiting = this.#depth[LOW] > 0;
    let lane: LaneIndex;
    if (highWaiting && (!lowWaiting || this.#highStreak < this.#highBurst)) {
      lane = HIGH;
      this.#highStreak += 1;
    } else {
      lane = LOW;
      this.#highStreak = 0;
    }
    const queue = this.#lanes[lane];
    // Entries left behind by a priority upgrade or a key processed meanwhile are stale: skip them.
    for (;;) {
      const key = queue.shift();
      if (key === undefined) throw new Error(`work queue ${this.name}: lane ${lane} is empty but its depth is ${this.#depth[lane]}`);
      if (this.#dirty.get(key) !== lane || this.#processing.has(key) || this.#entryOf.get(key) !== queue.shifted - 1) continue;
      const now = this.#clock.now();
      this.#depth[lane] -= 1;
      this.#dirty.delete(key);
      this.#entryOf.delete(key);
      this.#processing.set(key, now);
      const addedAt = this.#addedAt.get(key);
      if (addedAt !== undefined) {
        this.#addedAt.delete(key);
        this.#instruments?.queueDuration.observe((now - addedAt) / 1000);
      }
      return key;
    }
  }

  #arm(readyAt: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = readyAt;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), readyAt - this.#clock.now());
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    for (let next = this.#delayed.peek(); next !== undefined && next.readyAt <= now; next = this.#delayed.peek()) {
      this.#delayed.pop();
      if (this.#delayedByKey.get(next.key) !== next) continue;
      this.#delayedByKey.delete(next.key);
      this.add(next.key, next.priority);
    }
    const head = this.#delayed.peek();
    if (head !== undefined) this.#arm(head.readyAt);
  }
}
