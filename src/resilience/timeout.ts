// The timeout policy: a deadline per call on the injected clock, announced to the call through its AbortSignal.
import type { Clock } from './clock.ts';
import { ROOT_CONTEXT, type Policy, type PolicyCall, type PolicyContext } from './policy.ts';

/** A call outlived its deadline. Transient: a later attempt may be faster. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options: { readonly cause?: unknown } = {}) {
    super(`call timed out after ${timeoutMs} ms`, options.cause === undefined ? undefined : { cause: options.cause });
    this.timeoutMs = timeoutMs;
  }
}

export const isTimeoutError = (error: unknown): error is TimeoutError => error instanceof TimeoutError;

export interface TimeoutPolicyOptions {
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/**
 * Bounds a call to `timeoutMs`.
 *
 * Guarantees: the returned promise settles at the latest when the deadline passes (rejecting with
 * {@link TimeoutError}) or when the caller's signal aborts (rejecting with its reason); the call's own
 * signal is aborted at that moment; the timer and the listener are always removed.
 *
 * Assumptions: cancellation is cooperative. A call that ignores its signal keeps running in the
 * background and its late result is dropped, so a side effect may still happen after the timeout.
 */
export class TimeoutPolicy implements Policy {
  readonly timeoutMs: number;
  readonly #clock: Clock;

  constructor(options: TimeoutPolicyOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${options.timeoutMs}`);
    this.timeoutMs = options.timeoutMs;
    this.#clock = options.clock;
  }

  execute<T>(fn: PolicyCall<T>, context: PolicyContext = ROOT_CONTEXT): Promise<T> {
    const parent = context.signal;
    if (parent?.aborted === true) return Promise.reject(parent.reason as Error);
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        this.#clock.clearTimeout(timer);
        parent?.removeEventListener('abort', onAbort);
        return true;
      };
      const onAbort = (): void => {
        if (!settle()) return;
        controller.abort(parent?.reason);
        reject(parent?.reason as Error);
      };
      const timer = this.#clock.setTimeout(() => {
        if (!settle()) return;
        const error = new TimeoutError(this.timeoutMs);
        controller.abort(error);
        reject(error);
      }, this.timeoutMs);
      parent?.addEventListener('abort', onAbort, { once: true });
      let pending: PromiseLike<T> | T;
      try {
        pending = fn({ signal: controller.signal, attempt: context.attempt });
      } catch (error) {
        if (settle()) reject(error as Error);
        return;
      }
      Promise.resolve(pending).then(
        (value) => {
          if (settle()) resolve(value);
        },
        (error: unknown) => {
          if (settle()) reject(error as Error);
        },
      );
    });
  }
}
