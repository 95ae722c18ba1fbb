import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../src/resilience/classify-failure.ts';
import {
  InvalidResponseError,
  isProviderError,
  NoRollbackTargetError,
  OwnershipConflictError,
  ProviderRejectedError,
  ProviderUnavailableError,
  SecretKeyNotFoundError,
  SecretNotFoundError,
  TargetNotFoundError,
} from '../../src/providers/provider-error.ts';

describe('provider errors', () => {
  it("are classed by the workflow's retry classification: unavailable is transient with its Retry-After", () => {
    const error = new ProviderUnavailableError('railway', 'railway answered with HTTP 503', { httpStatus: 503, retryAfterMs: 7000 });

    expect(classifyFailure(error)).toEqual({ kind: 'transient', reason: 'marked', retryAfterMs: 7000 });
    expect(error).toMatchObject({ name: 'ProviderUnavailableError', code: 'Unavailable', dependency: 'railway', retryable: true, httpStatus: 503 });
  });

  it.each([
    new ProviderRejectedError('webhook', 'HTTP 401', { httpStatus: 401 }),
    new InvalidResponseError('checker', 'not JSON'),
    new SecretNotFoundError('secrets', 'Secret prod/x not found'),
    new SecretKeyNotFoundError('secrets', 'no key'),
    new TargetNotFoundError('kubernetes', 'Deployment prod/api not found'),
    new NoRollbackTargetError('railway', 'nothing recorded'),
    new OwnershipConflictError('job', 'not ours'),
  ])('%s is permanent, whatever it wraps', (error) => {
    const wrapped = Object.assign(error, { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });

    expect(classifyFailure(wrapped).kind).toBe('permanent');
    expect(wrapped.retryable).toBe(false);
    expect(isProviderError(wrapped)).toBe(true);
  });

  it('keep the cause they were given', () => {
    const cause = new Error('connect ECONNREFUSED');

    expect(new ProviderUnavailableError('health endpoint', 'could not reach', { cause }).cause).toBe(cause);
    expect(new TargetNotFoundError('kubernetes', 'gone', { cause }).cause).toBe(cause);
    expect(isProviderError(cause)).toBe(false);
  });
});
