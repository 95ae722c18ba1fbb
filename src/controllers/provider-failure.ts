// Provider failures as the workflow engine and the breakers classify them, and the causes controllers look for in them.
import { isProviderError } from '../providers/provider-error.ts';
import { classifyFailure, NonRetryableError, RetryableError } from '../resilience/classify-failure.ts';
import { DEPENDENCY_UNAVAILABLE } from './resource-state.ts';

/**
 * The engine's view of a provider failure: a `ProviderError` becomes a `RetryableError` (with its
 * `retryAfterMs`) or a `NonRetryableError` as its class says, with the original as `cause`; anything else
 * (Kubernetes API errors are classed already) is returned as it is.
 */
export function asWorkflowFailure(error: unknown): unknown {
  if (!isProviderError(error)) return error;
  if (error.retryable) return new RetryableError(error.message, { cause: error, ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) });
  return new NonRetryableError(error.message, { cause: error });
}

/**
 * Runs a call to a provider, runner or health probe with its failures classified (see {@link asWorkflowFailure}).
 * Use it inside the function handed to a breaker or a side effect, so the breaker counts a 5xx and not a 4xx.
 */
export async function classified<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw asWorkflowFailure(error);
  }
}

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
