// Failure classification: which errors are worth retrying, which mean "come back later", and which are final.
//
// Retryable and non-retryable failures are types, not strings: callers throw `RetryableError`,
// `NonRetryableError`, `HttpStatusError` or a `DeferredError` subclass, and Kubernetes API errors are
// recognised by their classes from `kube/errors.ts`.
import { isApiError, isConflict, isTransportError } from '../kube/errors.ts';
import { isTimeoutError } from './timeout.ts';

/**
 * - `transient`: the same call may succeed if tried again (network, timeout, throttling, 5xx).
 * - `permanent`: trying again cannot help (a 4xx, an invalid request, an explicit `NonRetryableError`).
 * - `deferred`: not the call's fault; come back after `retryAfterMs` (open breaker, claim held elsewhere,
 *   idempotency store unavailable). Never retried in-call; a workflow step waits instead.
 * - `cancelled`: the caller aborted.
 * - `unknown`: none of the above (often a bug); in-call retries skip it, workflow steps retry it a bounded
 *   number of times.
 */
export type FailureKind = 'transient' | 'permanent' | 'deferred' | 'cancelled' | 'unknown';

export interface FailureClass {
  readonly kind: FailureKind;
  /** A short machine-readable reason (`network`, `throttled`, `server`, `client`, `circuit-open`, ...). */
  readonly reason: string;
  /** How long the other side asked us to wait: `Retry-After`, an open breaker, a held claim. */
  readonly retryAfterMs?: number;
}

export interface FailureOptions {
  readonly cause?: unknown;
  readonly retryAfterMs?: number;
}

/** A failure the thrower knows to be transient; `retryAfterMs` overrides the backoff when longer. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A failure the thrower knows to be final: never retried, whatever it wraps. */
export class NonRetryableError extends Error {
  override name = 'NonRetryableError';

  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/** An HTTP answer with an error status from a dependency that is not the Kubernetes API (providers, checkers). */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  readonly status: number;
  readonly retryAfterMs: number | undefined;

  constructor(status: number, message: string, options: FailureOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Base of the failures that mean "not now": the caller should come back after `retryAfterMs`. */
export class DeferredError extends Error {
  override name = 'DeferredError';
  readonly retryAfterMs: number;
  /** The reason reported by {@link classifyFailure}. */
  readonly reason: string;

  constructor(reason: string, message: string, retryAfterMs: number, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.retryAfterMs = Math.max(0, retryAfterMs);
  }
}

export const isRetryableError = (error: unknown): error is RetryableError => error instanceof RetryableError;
export const isNonRetryableError = (error: unknown): error is NonRetryableError => error instanceof NonRetryableError;
export const isHttpStatusError = (error: unknown): error is HttpStatusError => error instanceof HttpStatusError;
export const isDeferredError = (error: unknown): error is DeferredError => error instanceof DeferredError;

/** System error codes of a connection that failed or broke, from `node:net`, DNS and undici (fetch). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const MAX_CAUSE_DEPTH = 8;

/** Classifies an HTTP error status: 408, 429 and 5xx are transient, every other status is permanent. */
export function classifyHttpStatus(status: number, retryAfterMs?: number): FailureClass {
  const wait = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 408) return { kind: 'transient', reason: 'request-timeout', ...wait };
  if (status === 429) return { kind: 'transient', reason: 'throttled', ...wait };
  if (status >= 500) return { kind: 'transient', reason: 'server', ...wait };
  return { kind: 'permanent', reason: 'client' };
}

function classifyOne(error: unknown): FailureClass | undefined {
  if (error instanceof DeferredError) return { kind: 'deferred', reason: error.reason, retryAfterMs: error.retryAfterMs };
  if (error instanceof NonRetryableError) return { kind: 'permanent', reason: 'marked' };
  if (error instanceof RetryableError) return { kind: 'transient', reason: 'marked', ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }) };
  if (isTimeoutError(error)) return { kind: 'transient', reason: 'timeout' };
  if (isTransportError(error)) return { kind: 'transient', reason: 'network' };
  // A 409 Conflict is a stale read: the next attempt re-reads and succeeds. AlreadyExists is final.
  if (isConflict(error)) return { kind: 'transient', reason: 'conflict' };
  if (isApiError(error)) return classifyHttpStatus(error.code, error.retryAfterMs);
  if (error instanceof HttpStatusError) return classifyHttpStatus(error.status, error.retryAfterMs);
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code } = error as { name?: unknown; code?: unknown };
  // DOMExceptions (AbortSignal.abort(), AbortSignal.timeout()) can only be told apart by name.
  if (name === 'AbortError') return { kind: 'cancelled', reason: 'aborted' };
  if (name === 'TimeoutError') return { kind: 'transient', reason: 'timeout' };
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { kind: 'transient', reason: 'network' };
  return undefined;
}

/**
 * Classifies a failure (see {@link FailureKind}).
 *
 * The error is examined first, then each `cause` in turn: the outermost error that says something wins,
 * so `new NonRetryableError('bad', { cause: networkError })` is permanent while
 * `new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })` is transient.
 */
export function classifyFailure(error: unknown): FailureClass {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== undefined && current !== null; depth += 1) {
    const found = classifyOne(current);
    if (found !== undefined) return found;
    current = typeof current === 'object' ? (current as { cause?: unknown }).cause : undefined;
  }
  return { kind: 'unknown', reason: 'unknown' };
}
