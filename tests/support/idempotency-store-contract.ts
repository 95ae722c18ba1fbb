// The behaviour every IdempotencyStore must have, run against the memory store and the real Redis one.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import type { IdempotencyStore } from '../../src/resilience/idempotency-store.ts';

export interface StoreUnderTest {
  readonly store: IdempotencyStore;
  /** A claim TTL short enough to wait out. */
  readonly shortTtlMs: number;
  /** Lets `ms` pass for the store's TTLs (a manual clock, or real time for Redis). */
  elapse(ms: number): Promise<void>;
}

/** Registers the contract's tests; `make` gives a fresh store (keys never collide between tests). */
export function idempotencyStoreContract(make: () => Promise<StoreUnderTest>): void {
  const key = () => `uid-${randomUUID()}/1/deploy/main`;

  it('the first claim wins; every later claim, the owner included, sees it held with the time left', async () => {
    const { store } = await make();
    const k = key();
    expect(await store.claim(k, 'owner-a', 60_000)).toEqual({ status: 'claimed' });
    const other = await store.claim(k, 'owner-b', 60_000);
    expect(other).toMatchObject({ status: 'held', owner: 'owner-a' });
    expect(other.status === 'held' && other.expiresInMs > 50_000 && other.expiresInMs <= 60_000).toBe(true);
    expect(await store.claim(k, 'owner-a', 60_000)).toMatchObject({ status: 'held', owner: 'owner-a' });
  });

  it('a completed key answers every later claim with the recorded result, as JSON', async () => {
    const { store } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    const result = { deploymentId: 'd-42', replicas: [1, 2], nested: { ok: true }, missing: undefined };
    expect(await store.complete(k, 'owner-a', result)).toEqual({ status: 'completed' });
    const claim = await store.claim(k, 'owner-b', 60_000);
    expect(claim).toMatchObject({ status: 'completed', owner: 'owner-a', result: { deploymentId: 'd-42', replicas: [1, 2], nested: { ok: true } } });
    expect(claim.status === 'completed' && 'missing' in (claim.result as object)).toBe(false);
    expect(await store.get(k)).toMatchObject({ state: 'completed', owner: 'owner-a', result: { deploymentId: 'd-42' } });
  });

  it('an undefined result is recorded as null', async () => {
    const { store } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    await store.complete(k, 'owner-a', undefined);
    expect(await store.claim(k, 'owner-b', 60_000)).toMatchObject({ status: 'completed', result: null });
  });

  it('only the owner of a live claim can complete it', async () => {
    const { store } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    expect(await store.complete(k, 'intruder', 'forged')).toMatchObject({ status: 'not-owner', owner: 'owner-a' });
    expect(await store.get(k)).toMatchObject({ state: 'claimed', owner: 'owner-a' });
    expect(await store.complete(k, 'owner-a', 'real')).toEqual({ status: 'completed' });
    expect(await store.get(k)).toMatchObject({ state: 'completed', result: 'real' });
  });

  it('never overwrites a completed record: a second completion gets the first result back', async () => {
    const { store } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    await store.complete(k, 'owner-a', 'first');
    expect(await store.complete(k, 'owner-b', 'second')).toEqual({ status: 'already-completed', owner: 'owner-a', result: 'first' });
    expect(await store.complete(k, 'owner-a', 'again')).toEqual({ status: 'already-completed', owner: 'owner-a', result: 'first' });
  });

  it('only the owner can release a claim, and a completed record cannot be released', async () => {
    const { store } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    expect(await store.release(k, 'intruder')).toBe(false);
    expect(await store.claim(k, 'owner-b', 60_000)).toMatchObject({ status: 'held' });
    expect(await store.release(k, 'owner-a')).toBe(true);
    expect(await store.claim(k, 'owner-b', 60_000)).toEqual({ status: 'claimed' });
    await store.complete(k, 'owner-b', 'done');
    expect(await store.release(k, 'owner-b')).toBe(false);
    expect(await store.get(k)).toMatchObject({ state: 'completed', result: 'done' });
  });

  it('a claim ends with its TTL, and then another owner can claim the key', async () => {
    const { store, shortTtlMs, elapse } = await make();
    const k = key();
    await store.claim(k, 'owner-a', shortTtlMs);
    expect(await store.claim(k, 'owner-b', 60_000)).toMatchObject({ status: 'held' });
    await elapse(shortTtlMs + 20);
    expect(await store.get(k)).toBeUndefined();
    expect(await store.claim(k, 'owner-b', 60_000)).toEqual({ status: 'claimed' });
    // The first owner lost the key: it can no longer complete or release it.
    expect(await store.complete(k, 'owner-a', 'late')).toMatchObject({ status: 'not-owner', owner: 'owner-b' });
    expect(await store.release(k, 'owner-a')).toBe(false);
  });

  it('a result can still be recorded after the claim expired if no one claimed the key since', async () => {
    const { store, shortTtlMs, elapse } = await make();
    const k = key();
    await store.claim(k, 'owner-a', shortTtlMs);
    await elapse(shortTtlMs + 20);
    expect(await store.complete(k, 'owner-a', 'slow but done')).toEqual({ status: 'completed' });
    expect(await store.claim(k, 'owner-b', 60_000)).toMatchObject({ status: 'completed', result: 'slow but done' });
  });

  it('a completed record is forgotten after the result TTL', async () => {
    const { store, shortTtlMs, elapse } = await make();
    const k = key();
    await store.claim(k, 'owner-a', 60_000);
    await store.complete(k, 'owner-a', 'done', shortTtlMs);
    expect(await store.get(k)).toMatchObject({ state: 'completed' });
    await elapse(shortTtlMs + 20);
    expect(await store.get(k)).toBeUndefined();
  });
}
