// The side-effect protocol: breaker check → claim the key → call with the key through the breaker → record the result.
import type { CircuitBreaker } from './circuit-breaker.ts';
import { encodeResult, IdempotencyHeldError, type IdempotencyStore } from './idempotency-store.ts';
import { ROOT_CONTEXT, type PolicyContext } from './policy.ts';
import type { TimeoutPolicy } from './timeout.ts';

export interface IdempotentCallOptions {
  readonly store: IdempotencyStore;
  readonly key: string;
  /** Unique per process (and per run within it), so a restarted process never mistakes a dead one's claim for its own. */
  readonly owner: string;
  /** How long the claim protects the call; must outlast the call (its timeout included). */
  readonly claimTtlMs: number;
  /** How long the result is kept; 24 h by default. */
  readonly resultTtlMs?: number;
  /** The breaker of the dependency called. */
  readonly breaker?: CircuitBreaker;
  /** Bounds the call. */
  readonly timeout?: TimeoutPolicy;
  readonly signal?: AbortSignal;
}

export interface IdempotentCallResult<T> {
  /** The result, as JSON would give it back (the same shape whether fresh or replayed). */
  readonly result: T;
  /** True when the side effect had already run for this key and its recorded result was returned. */
  readonly replayed: boolean;
}

/** The side effect: it receives the idempotency key, to send to the dependency where its API takes one. */
export type SideEffectCall<T> = (key: string, signal: AbortSignal | undefined) => Promise<T>;

/**
 * Runs a side effect at most once per key, as far as this process can see it.
 *
 * Expected flow: the breaker is consulted (open → `BrokenCircuitError`, nothing claimed); the key is
 * claimed (`completed` → the recorded result is returned without calling; held by anyone, the caller
 * included → `IdempotencyHeldError`; store down → `IdempotencyUnavailableError`); the call runs through
 * the breaker and the timeout with the key; the result is recorded.
 *
 * Guarantees:
 * - The call never runs without a live claim of `owner` on `key`.
 * - A call that settled with an error releases the claim, so the next attempt (same key) need not wait;
 *   a call still running when it was given up on (timeout, abort) keeps it until its TTL.
 * - When another run recorded a result first, that result is returned (`replayed`).
 *
 * Errors: everything above, the call's own error, and `IdempotencyHeldError` when the claim expired
 * during the call and another run claimed the key before the result could be recorded.
 */
export async function idempotentCall<T>(options: IdempotentCallOptions, call: SideEffectCall<T>): Promise<IdempotentCallResult<T>> {
  const { store, key, owner, breaker, timeout, signal } = options;
  breaker?.check();
  const claim = await store.claim(key, owner, options.claimTtlMs);
  if (claim.status === 'completed') return { result: claim.result as T, replayed: true };
  if (claim.status === 'held') throw new IdempotencyHeldError(key, claim.owner, claim.expiresInMs);

  let started = false;
  let settled = false;
  const invoke = async (context: PolicyContext): Promise<T> => {
    started = true;
    try {
      return await call(key, context.signal);
    } finally {
      settled = true;
    }
  };
  const context: PolicyContext = { ...ROOT_CONTEXT, signal };
  let result: T;
  try {
    const bounded = (inner: PolicyContext) => (timeout === undefined ? invoke(inner) : timeout.execute(invoke, inner));
    result = await (breaker === undefined ? bounded(context) : breaker.execute(bounded, context));
  } catch (error) {
    if (!started || settled) await store.release(key, owner).catch(() => false);
    throw error;
  }

  const outcome = await store.complete(key, owner, result, options.resultTtlMs);
  if (outcome.status === 'already-completed') return { result: outcome.result as T, replayed: true };
  if (outcome.status === 'not-owner') throw new IdempotencyHeldError(key, outcome.owner, outcome.expiresInMs);
  return { result: JSON.parse(encodeResult(result)) as T, replayed: false };
}
