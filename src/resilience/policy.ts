// The one shape every resilience policy shares, so policies compose: retry around breaker around timeout.

/** What a policy hands to the call it wraps. */
export interface PolicyContext {
  /** Aborted when the caller gives up or an enclosing timeout fires; pass it on to I/O. */
  readonly signal: AbortSignal | undefined;
  /** 1 for the first attempt; set by a retry policy, passed through by the others. */
  readonly attempt: number;
}

export type PolicyCall<T> = (context: PolicyContext) => PromiseLike<T> | T;

/** A policy runs a call under some rule (retry, circuit breaking, a deadline). */
export interface Policy {
  execute<T>(fn: PolicyCall<T>, context?: PolicyContext): Promise<T>;
}

/** The context of a call made outside any policy. */
export const ROOT_CONTEXT: PolicyContext = { signal: undefined, attempt: 1 };

/** Runs a call with no policy at all (the identity of {@link wrap}). */
export const noPolicy: Policy = {
  async execute(fn, context = ROOT_CONTEXT) {
    return fn(context);
  },
};

/**
 * Composes policies, outermost first: `wrap(retry, breaker, timeout)` retries calls that go through the
 * breaker, each bounded by the timeout. Each policy passes its context to the next.
 */
export function wrap(...policies: readonly Policy[]): Policy {
  if (policies.length === 0) return noPolicy;
  return policies.reduceRight<Policy>((inner, outer) => ({
    execute: (fn, context) => outer.execute((outerContext) => inner.execute(fn, outerContext), context),
  }), noPolicy);
}
