// Exponential backoff with full jitter that forgets past failures after a stretch of health (the watcher's reconnect delays).
import type { Clock } from '../resilience/clock.ts';

export interface BackoffSettings {
  /** Ceiling of the first delay. Default 800 ms (client-go's reflector, kube-rs's watcher). */
  readonly initialDelayMs?: number;
  /** Largest ceiling. Default 30 s. */
  readonly maxDelayMs?: number;
  readonly factor?: number;
  /** A call to `next` this long after the previous one starts over from the first ceiling. Default 2 min. */
  readonly resetAfterMs?: number;
  /** Uniform in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number;
}

/**
 * Delays between attempts: the ceiling starts at `initialDelayMs` and doubles up to `maxDelayMs`; each delay is
 * uniform in [0, ceiling) ("full jitter"), so reconnecting clients spread out instead of arriving together.
 *
 * Guarantees: the sequence restarts after {@link ExponentialBackoff.reset}, or when `next` is called more than
 * `resetAfterMs` after the previous call (the thing being retried stayed healthy in between).
 */
export class ExponentialBackoff {
  readonly #clock: Clock;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;
  readonly #resetAfterMs: number;
  readonly #random: () => number;
  #attempt = 0;
  #lastAt: number | undefined;

  constructor(clock: Clock, settings: BackoffSettings = {}) {
    this.#clock = clock;
    this.#initialMs = settings.initialDelayMs ?? 800;
    this.#maxMs = settings.maxDelayMs ?? 30_000;
    this.#factor = settings.factor ?? 2;
    this.#resetAfterMs = settings.resetAfterMs ?? 120_000;
    this.#random = settings.random ?? Math.random;
  }

  /** The ceiling the next delay is drawn under. */
  get ceilingMs(): number {
    return Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#attempt);
  }

  /** The next delay in milliseconds. */
  next(): number {
    const now = this.#clock.now();
    if (this.#lastAt !== undefined && now - this.#lastAt > this.#resetAfterMs) this.#attempt = 0;
    this.#lastAt = now;
    const delay = Math.floor(this.#random() * this.ceilingMs);
    if (this.ceilingMs < this.#maxMs) this.#attempt += 1;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
    this.#lastAt = undefined;
  }
}
