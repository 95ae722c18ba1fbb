// Counters over a sliding time window of ten buckets, shared by the circuit breaker's ratio rule and the retry budget.
import type { Clock } from './clock.ts';

const BUCKETS = 10;

/**
 * Several counters summed over the last `windowMs`. The window slides by a tenth of its length: a
 * count leaves the sum between 0.9 × and 1 × `windowMs` after it was added. O(1) to add, O(10) to sum.
 */
export class SlidingWindow {
  readonly windowMs: number;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  /** The bucket number each slot holds; -Infinity for an empty slot, older than any bucket at any time. */
  readonly #epochs = new Array<number>(BUCKETS).fill(Number.NEGATIVE_INFINITY);
  readonly #counts: number[][];

  constructor(windowMs: number, counters: number, clock: Clock) {
    if (!(windowMs >= BUCKETS)) throw new RangeError(`windowMs must be at least ${BUCKETS}, got ${windowMs}`);
    this.windowMs = windowMs;
    this.#clock = clock;
    this.#bucketMs = windowMs / BUCKETS;
    this.#counts = Array.from({ length: counters }, () => new Array<number>(BUCKETS).fill(0));
  }

  /** Adds `amount` to counter number `counter` in the current bucket. */
  add(counter: number, amount = 1): void {
    const epoch = Math.floor(this.#clock.now() / this.#bucketMs);
    const slot = epoch % BUCKETS;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      for (const counts of this.#counts) counts[slot] = 0;
    }
    this.#counts[counter]![slot]! += amount;
  }

  /** The sum of counter number `counter` over the window. */
  sum(counter: number): number {
    const oldest = Math.floor(this.#clock.now() / this.#bucketMs) - BUCKETS;
    const counts = this.#counts[counter]!;
    let total = 0;
    for (let slot = 0; slot < BUCKETS; slot += 1) if (this.#epochs[slot]! > oldest) total += counts[slot]!;
    return total;
  }

  clear(): void {
    this.#epochs.fill(Number.NEGATIVE_INFINITY);
  }
}
