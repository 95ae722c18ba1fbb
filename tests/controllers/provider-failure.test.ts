import { describe, expect, it } from 'vitest';
import { blockingReason, findCause } from '../../src/controllers/provider-failure.ts';
import { isInvalidSpec, ProviderUnavailableError, SecretNotFoundError } from '../../src/providers/provider-error.ts';
import { BrokenCircuitError } from '../../src/resilience/circuit-breaker.ts';
import { NonRetryableError } from '../../src/resilience/classify-failure.ts';
import { IdempotencyHeldError, IdempotencyUnavailableError } from '../../src/resilience/idempotency-store.ts';

describe('findCause', () => {
  it('finds a missing Secret under whatever wraps it, and nothing in an unrelated error', () => {
    const wrapped = new NonRetryableError('validate failed', { cause: new SecretNotFoundError('secrets', 'Secret prod/railway not found') });
    expect(findCause(wrapped, isInvalidSpec)?.message).toBe('Secret prod/railway not found');
    expect(findCause(new Error('other', { cause: new Error('deeper') }), isInvalidSpec)).toBeUndefined();
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
