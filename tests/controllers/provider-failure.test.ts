import { describe, expect, it } from 'vitest';
import { asWorkflowFailure, blockingReason, classified, findCause } from '../../src/controllers/provider-failure.ts';
import { isInvalidSpec, ProviderRejectedError, ProviderUnavailableError, SecretNotFoundError } from '../../src/providers/provider-error.ts';
import { BrokenCircuitError, CircuitBreaker } from '../../src/resilience/circuit-breaker.ts';
import { classifyFailure } from '../../src/resilience/classify-failure.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyHeldError, IdempotencyUnavailableError } from '../../src/resilience/idempotency-store.ts';

describe('provider failures as the engine sees them', () => {
  it('classes an unavailable provider as transient with its Retry-After, and a rejection as permanent', () => {
    expect(classifyFailure(asWorkflowFailure(new ProviderUnavailableError('railway', 'HTTP 503', { retryAfterMs: 7000, httpStatus: 503 })))).toMatchObject({ kind: 'transient', retryAfterMs: 7000 });
    expect(classifyFailure(asWorkflowFailure(new ProviderRejectedError('railway', 'HTTP 400')))).toMatchObject({ kind: 'permanent' });
    expect(classifyFailure(asWorkflowFailure(new SecretNotFoundError('secrets', 'Secret prod/railway not found')))).toMatchObject({ kind: 'permanent' });
  });

  it('lets a breaker count 5xx answers and not 4xx ones', async () => {
    const breaker = new CircuitBreaker('provider:railway', { consecutiveFailures: 2 }, { clock: new ManualClock(0) });
    for (let i = 0; i < 3; i += 1) await expect(breaker.execute(() => classified(() => Promise.reject(new ProviderRejectedError('railway', 'HTTP 422'))))).rejects.toThrow();
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 2; i += 1) await expect(breaker.execute(() => classified(() => Promise.reject(new ProviderUnavailableError('railway', 'HTTP 503'))))).rejects.toThrow();
    expect(breaker.state).toBe('open');
  });

  it('keeps the provider error as the cause, so a missing Secret is still found under the wrapper', () => {
    const wrapped = asWorkflowFailure(new SecretNotFoundError('secrets', 'Secret prod/railway not found'));
    expect(findCause(wrapped, isInvalidSpec)?.message).toBe('Secret prod/railway not found');
    expect(findCause(new Error('other'), isInvalidSpec)).toBeUndefined();
  });

  it('passes errors that are not provider errors through unchanged', () => {
    const error = new TypeError('boom');
    expect(asWorkflowFailure(error)).toBe(error);
  });
});

describe('blockingReason', () => {
  it('says DependencyUnavailable for an open breaker or an unreachable store, and nothing for a claim held by another run', () => {
    expect(blockingReason(new BrokenCircuitError('provider:railway', 'open', 30_000))).toBe('DependencyUnavailable');
    expect(blockingReason(new IdempotencyUnavailableError('redis down', 2000))).toBe('DependencyUnavailable');
    expect(blockingReason(new IdempotencyHeldError('k', 'other', 1000))).toBeUndefined();
    expect(blockingReason(new ProviderUnavailableError('railway', 'HTTP 503'))).toBeUndefined();
  });
});
