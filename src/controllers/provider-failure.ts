// The causes controllers look for in a step's failure: a spec the operator cannot act on, a dependency that is out.
import { classifyFailure } from '../resilience/classify-failure.ts';
import { DEPENDENCY_UNAVAILABLE } from './resource-state.ts';

/** The first error of `error`'s cause chain that `guard` accepts. */
export function findCause<E>(error: unknown, guard: (candidate: unknown) => candidate is E): E | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 16 && current !== undefined && current !== null; depth += 1) {
    if (guard(current)) return current;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}

/**
 * `DependencyUnavailable` when `error` defers the step because a dependency is out (an open breaker, an
 * unreachable idempotency store); undefined for anything else, a claim held by another run included.
 */
export function blockingReason(error: unknown): string | undefined {
  const failure = classifyFailure(error);
  return failure.kind === 'deferred' && (failure.reason === 'circuit-open' || failure.reason === 'store-unavailable') ? DEPENDENCY_UNAVAILABLE : undefined;
}
