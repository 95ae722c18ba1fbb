import { describe, expect, it } from 'vitest';
import { ServerError } from '../../src/kube/errors.ts';
import { BrokenCircuitError, CircuitBreaker } from '../../src/resilience/circuit-breaker.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../../src/resilience/idempotency-memory-store.ts';
import { IdempotencyHeldError, IdempotencyUnavailableError, type IdempotencyStore } from '../../src/resilience/idempotency-store.ts';
import { idempotentCall, type IdempotentCallOptions } from '../../src/resilience/idempotent-call.ts';
import { TimeoutError, TimeoutPolicy } from '../../src/resilience/timeout.ts';

function setup() {
  const clock = new ManualClock(0);
  const store = new IdempotencyMemoryStore({ clock });
  const calls: string[] = [];
  const options = (owner: string, extra: Partial<IdempotentCallOptions> = {}): IdempotentCallOptions => ({ store, key: 'uid/1/deploy/main', owner, claimTtlMs: 60_000, ...extra });
  const effect = async (key: string) => {
    calls.push(key);
    return { deploymentId: `d-${calls.length}`, at: new Date(0) };
  };
  return { clock, store, calls, options, effect };
}

describe('idempotentCall', () => {
  it('claims, calls with the key, records the result; a second run replays the result without calling', async () => {
    const { calls, options, effect, store } = setup();
    const first = await idempotentCall(options('process-1'), effect);
    expect(first).toEqual({ result: { deploymentId: 'd-1', at: '1970-01-01T00:00:00.000Z' }, replayed: false });
    const second = await idempotentCall(options('process-2'), effect);
    expect(second).toEqual({ result: first.result, replayed: true });
    expect(calls).toEqual(['uid/1/deploy/main']);
    expect(await store.get('uid/1/deploy/main')).toMatchObject({ state: 'completed', owner: 'process-1' });
  });

  it('never calls while another run holds the claim, and says for how long it is held', async () => {
    const { calls, options, effect, store, clock } = setup();
    await store.claim('uid/1/deploy/main', 'dead-process', 60_000);
    clock.advance(15_000);
    const error = await idempotentCall(options('process-2'), effect).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyHeldError);
    expect((error as IdempotencyHeldError).retryAfterMs).toBe(45_000);
    expect(calls).toEqual([]);
  });

  it('releases the claim when the call returns an error, so the retry reuses the key at once', async () => {
    const { calls, options, store } = setup();
    const failing = async (key: string) => {
      calls.push(key);
      throw new ServerError(502, 'BadGateway', 'upstream');
    };
    await expect(idempotentCall(options('p'), failing)).rejects.toBeInstanceOf(ServerError);
    expect(await store.get('uid/1/deploy/main')).toBeUndefined();
    await expect(idempotentCall(options('p'), async (key) => key)).resolves.toMatchObject({ replayed: false });
  });

  it('keeps the claim of a call that timed out while still running, so nobody runs it concurrently', async () => {
    const { options, store, clock } = setup();
    const timeout = new TimeoutPolicy({ timeoutMs: 1_000, clock });
    const pending = idempotentCall(options('p', { timeout }), () => new Promise(() => undefined));
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1_000);
    await expect(pending).rejects.toBeInstanceOf(TimeoutError);
    expect(await store.get('uid/1/deploy/main')).toMatchObject({ state: 'claimed', owner: 'p' });
  });

  it('does not claim anything while the dependency breaker is open', async () => {
    const { calls, options, effect, store, clock } = setup();
    const breaker = new CircuitBreaker('provider:test', { consecutiveFailures: 1, halfOpenAfterMs: 10_000 }, { clock });
    await breaker.execute(() => Promise.reject(new ServerError(500, 'InternalError', 'x'))).catch(() => undefined);
    await expect(idempotentCall(options('p', { breaker }), effect)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(await store.get('uid/1/deploy/main')).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('never calls when the store cannot be reached', async () => {
    const { calls, options, effect } = setup();
    const down: IdempotencyStore = {
      kind: 'down',
      claim: () => Promise.reject(new IdempotencyUnavailableError('connection refused', 2_000)),
      complete: () => Promise.reject(new IdempotencyUnavailableError('connection refused', 2_000)),
      get: () => Promise.reject(new IdempotencyUnavailableError('connection refused', 2_000)),
      release: () => Promise.reject(new IdempotencyUnavailableError('connection refused', 2_000)),
    };
    await expect(idempotentCall({ ...options('p'), store: down }, effect)).rejects.toBeInstanceOf(IdempotencyUnavailableError);
    expect(calls).toEqual([]);
  });

  it('when its claim expired mid-call and another run completed first, returns that run\'s result', async () => {
    const { options, store, clock } = setup();
    const result = await idempotentCall(options('slow', { claimTtlMs: 1_000 }), async () => {
      clock.advance(1_500);
      await store.claim('uid/1/deploy/main', 'fast', 60_000);
      await store.complete('uid/1/deploy/main', 'fast', 'fast result');
      return 'slow result';
    });
    expect(result).toEqual({ result: 'fast result', replayed: true });
  });
});
