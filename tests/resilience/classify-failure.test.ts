import { describe, expect, it } from 'vitest';
import { AlreadyExistsError, apiErrorFromResponse, ConflictError, ForbiddenError, InvalidError, TransportError } from '../../src/kube/errors.ts';
import { BrokenCircuitError } from '../../src/resilience/circuit-breaker.ts';
import { classifyFailure, HttpStatusError, NonRetryableError, RetryableError } from '../../src/resilience/classify-failure.ts';
import { IdempotencyHeldError, IdempotencyUnavailableError } from '../../src/resilience/idempotency-store.ts';
import { TimeoutError } from '../../src/resilience/timeout.ts';

describe('classifyFailure', () => {
  it('retries the Kubernetes API errors that a later attempt can get past', () => {
    const throttled = apiErrorFromResponse(429, JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }), '3');
    expect(classifyFailure(throttled)).toEqual({ kind: 'transient', reason: 'throttled', retryAfterMs: 3_000 });
    expect(classifyFailure(apiErrorFromResponse(503, 'upstream connect error'))).toMatchObject({ kind: 'transient', reason: 'server' });
    expect(classifyFailure(apiErrorFromResponse(408, '{}'))).toMatchObject({ kind: 'transient', reason: 'request-timeout' });
    expect(classifyFailure(new ConflictError(409, 'Conflict', 'stale resourceVersion'))).toMatchObject({ kind: 'transient', reason: 'conflict' });
    expect(classifyFailure(new TransportError('socket hang up'))).toMatchObject({ kind: 'transient', reason: 'network' });
  });

  it('does not retry the other 4xx', () => {
    for (const error of [new ForbiddenError(403, 'Forbidden', 'rbac'), new InvalidError(422, 'Invalid', 'bad'), new AlreadyExistsError(409, 'AlreadyExists', 'exists'), new HttpStatusError(404, 'no such service')]) {
      expect(classifyFailure(error)).toEqual({ kind: 'permanent', reason: 'client' });
    }
  });

  it('honours Retry-After of a provider 429 or 503', () => {
    expect(classifyFailure(new HttpStatusError(429, 'rate limited', { retryAfterMs: 7_000 }))).toEqual({ kind: 'transient', reason: 'throttled', retryAfterMs: 7_000 });
    expect(classifyFailure(new HttpStatusError(503, 'maintenance', { retryAfterMs: 60_000 }))).toEqual({ kind: 'transient', reason: 'server', retryAfterMs: 60_000 });
  });

  it('finds a network error code anywhere in the cause chain (fetch wraps it in a TypeError)', () => {
    const fetchFailure = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(classifyFailure(fetchFailure)).toMatchObject({ kind: 'transient', reason: 'network' });
  });

  it('lets the outermost explicit marker win over what it wraps', () => {
    expect(classifyFailure(new NonRetryableError('bad spec', { cause: new TransportError('reset') }))).toMatchObject({ kind: 'permanent' });
    expect(classifyFailure(new RetryableError('try later', { cause: new InvalidError(422, 'Invalid', 'x'), retryAfterMs: 5 }))).toEqual({ kind: 'transient', reason: 'marked', retryAfterMs: 5 });
  });

  it('tells deferrals, timeouts, cancellations and unknowns apart', () => {
    expect(classifyFailure(new BrokenCircuitError('redis', 'open', 1_500))).toEqual({ kind: 'deferred', reason: 'circuit-open', retryAfterMs: 1_500 });
    expect(classifyFailure(new IdempotencyHeldError('k', 'other', 900))).toEqual({ kind: 'deferred', reason: 'claim-held', retryAfterMs: 900 });
    expect(classifyFailure(new IdempotencyUnavailableError('down', 2_000))).toEqual({ kind: 'deferred', reason: 'store-unavailable', retryAfterMs: 2_000 });
    expect(classifyFailure(new TimeoutError(100))).toMatchObject({ kind: 'transient', reason: 'timeout' });
    expect(classifyFailure(AbortSignal.abort().reason)).toMatchObject({ kind: 'cancelled' });
    expect(classifyFailure(new Error('undefined is not a function'))).toEqual({ kind: 'unknown', reason: 'unknown' });
    expect(classifyFailure('a string')).toEqual({ kind: 'unknown', reason: 'unknown' });
  });
});
