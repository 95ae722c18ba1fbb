// The Redis idempotency store (ioredis): SET NX PX claims, owner-checked completion and release in Lua, results kept as JSON.
import type { Redis, RedisOptions } from 'ioredis';
import { isBrokenCircuit, type CircuitBreaker } from './circuit-breaker.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  DEFAULT_RESULT_TTL_MS,
  IdempotencyUnavailableError,
  type ClaimResult,
  type CompleteResult,
  type IdempotencyRecord,
  type IdempotencyStore,
} from './idempotency-store.ts';
import type { ResilienceMetrics } from './resilience-metrics.ts';
import { TimeoutPolicy } from './timeout.ts';

/**
 * ioredis options this store expects of its client: with the offline queue off and no per-request
 * retries, a command fails at once while Redis is down instead of waiting for a reconnection, so the
 * `redis` breaker sees the outage and steps wait instead of hanging. With the offline queue off, the
 * client must be `ready` before the first call (await its `ready` event after connecting).
 */
export const REDIS_CLIENT_OPTIONS = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2_000,
  commandTimeout: 2_000,
} as const satisfies RedisOptions;

export interface IdempotencyRedisStoreOptions {
  readonly client: Redis;
  /** Prefix of every key; `blackroad:` by default (`--redis-key-prefix`). */
  readonly keyPrefix?: string;
  /** The `redis` breaker: when open, calls fail fast with {@link IdempotencyUnavailableError}. */
  readonly breaker?: CircuitBreaker;
  /** Bound on each Redis round trip; 2 s by default. */
  readonly operationTimeoutMs?: number;
  /** How long callers wait after a failure that is not an open breaker; 2 s by default. */
  readonly unavailableRetryMs?: number;
  readonly clock?: Clock;
  readonly metrics?: ResilienceMetrics;
}

/** A claim or completion as stored: `s` state, `o` owner, `t` time in ms, `r` the result. */
interface StoredValue {
  readonly s: 'claimed' | 'completed';
  readonly o: string;
  readonly t: number;
  readonly r?: unknown;
}

// KEYS[1] key; ARGV owner, completed value, ttl ms. Accepted for the live claim's owner or an expired claim.
const COMPLETE_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local record = cjson.decode(current)
  if record.s == 'completed' then return {2, current, 0} end
  if record.o ~= ARGV[1] then return {0, current, redis.call('PTTL', KEYS[1])} end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
`;

// KEYS[1] key; ARGV owner. Deletes only a live claim of that owner, never a completed record.
const RELEASE_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local record = cjson.decode(current)
if record.s == 'claimed' and record.o == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

// KEYS[1] key. The value and its remaining TTL, read atomically.
const INSPECT_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return false end
return {current, redis.call('PTTL', KEYS[1])}
`;

interface ScriptedRedis {
  blackroadIdempotencyComplete(key: string, owner: string, value: string, ttlMs: number): Promise<[number, string?, number?]>;
  blackroadIdempotencyRelease(key: string, owner: string): Promise<number>;
  blackroadIdempotencyInspect(key: string): Promise<[string, number] | null>;
}

/** How many times a claim retries when the key vanished between the refused SET NX and the read. */
const CLAIM_RACE_RETRIES = 3;

/**
 * An {@link IdempotencyStore} on Redis.
 *
 * Guarantees: a claim is one `SET key value NX PX ttl`, atomic across every client; completion and
 * release are Lua scripts that check the owner in the same atomic step as the write; results are JSON
 * kept 24 h by default. Every round trip goes through the `redis` breaker and a timeout, and any
 * failure becomes {@link IdempotencyUnavailableError} (the step waits; nothing runs unclaimed).
 *
 * Assumptions: claims survive a Redis restart only when Redis persists its data (AOF).
 */
export class IdempotencyRedisStore implements IdempotencyStore {
  readonly kind = 'redis';
  readonly #client: Redis;
  readonly #scripts: ScriptedRedis;
  readonly #prefix: string;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #timeout: TimeoutPolicy;
  readonly #unavailableRetryMs: number;
  readonly #clock: Clock;
  readonly #metrics: ResilienceMetrics | undefined;

  constructor(options: IdempotencyRedisStoreOptions) {
    this.#client = options.client;
    this.#prefix = `${options.keyPrefix ?? 'blackroad:'}idempotency:`;
    this.#breaker = options.breaker;
    this.#clock = options.clock ?? systemClock;
    this.#timeout = new TimeoutPolicy({ timeoutMs: options.operationTimeoutMs ?? 2_000, clock: this.#clock });
    this.#unavailableRetryMs = options.unavailableRetryMs ?? 2_000;
    this.#metrics = options.metrics;
    // defineCommand sends EVALSHA and falls back to EVAL once per connection when the script is unknown.
    this.#client.defineCommand('blackroadIdempotencyComplete', { numberOfKeys: 1, lua: COMPLETE_LUA });
    this.#client.defineCommand('blackroadIdempotencyRelease', { numberOfKeys: 1, lua: RELEASE_LUA });
    this.#client.defineCommand('blackroadIdempotencyInspect', { numberOfKeys: 1, lua: INSPECT_LUA, readOnly: true });
    this.#scripts = this.#client as unknown as ScriptedRedis;
  }

  async claim(key: string, owner: string, ttlMs: number): Promise<ClaimResult> {
    const redisKey = this.#prefix + key;
    const value = JSON.stringify({ s: 'claimed', o: owner, t: this.#clock.now() } satisfies StoredValue);
    for (let round = 0; round <= CLAIM_RACE_RETRIES; round += 1) {
      const set = await this.#guard('claim', () => this.#client.set(redisKey, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX'));
      if (set === 'OK') {
        this.#metrics?.idempotencyClaim(this.kind, 'miss');
        return { status: 'claimed' };
      }
      const found = await this.#guard('claim', () => this.#scripts.blackroadIdempotencyInspect(redisKey));
      if (found === null) continue; // expired between the SET NX and the read: claim again
      const [raw, pttl] = found;
      const stored = JSON.parse(raw) as StoredValue;
      if (stored.s === 'completed') {
        this.#metrics?.idempotencyClaim(this.kind, 'hit');
        return { status: 'completed', owner: stored.o, result: stored.r ?? null, completedAt: stored.t };
      }
      this.#metrics?.idempotencyClaim(this.kind, 'contended');
      return { status: 'held', owner: stored.o, expiresInMs: Math.max(0, pttl) };
    }
    throw new IdempotencyUnavailableError(`idempotency key ${key} kept expiring while being claimed`, this.#unavailableRetryMs);
  }

  async complete(key: string, owner: string, result: unknown, ttlMs = DEFAULT_RESULT_TTL_MS): Promise<CompleteResult> {
    const value = JSON.stringify({ s: 'completed', o: owner, t: this.#clock.now(), r: result ?? null } satisfies StoredValue);
    const [status, raw, pttl] = await this.#guard('complete', () => this.#scripts.blackroadIdempotencyComplete(this.#prefix + key, owner, value, Math.max(1, Math.round(ttlMs))));
    if (status === 1) return { status: 'completed' };
    const stored = JSON.parse(raw ?? 'null') as StoredValue;
    if (status === 2) return { status: 'already-completed', owner: stored.o, result: stored.r ?? null };
    return { status: 'not-owner', owner: stored.o, expiresInMs: Math.max(0, pttl ?? 0) };
  }

  async get(key: string): Promise<IdempotencyRecord | undefined> {
    const found = await this.#guard('get', () => this.#scripts.blackroadIdempotencyInspect(this.#prefix + key));
    if (found === null) return undefined;
    const [raw, pttl] = found;
    const stored = JSON.parse(raw) as StoredValue;
    const expiresInMs = Math.max(0, pttl);
    return stored.s === 'claimed'
      ? { state: 'claimed', owner: stored.o, claimedAt: stored.t, expiresInMs }
      : { state: 'completed', owner: stored.o, completedAt: stored.t, result: stored.r ?? null, expiresInMs };
  }

  async release(key: string, owner: string): Promise<boolean> {
    return (await this.#guard('release', () => this.#scripts.blackroadIdempotencyRelease(this.#prefix + key, owner))) === 1;
  }

  /** Runs one round trip through the breaker and the timeout; any failure becomes IdempotencyUnavailableError. */
  async #guard<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      const bounded = () => this.#timeout.execute(call);
      return await (this.#breaker === undefined ? bounded() : this.#breaker.execute(bounded));
    } catch (error) {
      const retryAfterMs = isBrokenCircuit(error) ? error.retryAfterMs : this.#unavailableRetryMs;
      throw new IdempotencyUnavailableError(`idempotency store unavailable during ${operation}`, retryAfterMs, { cause: error });
    }
  }
}
