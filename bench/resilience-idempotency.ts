// Benchmark: idempotency claim + complete pairs per second against local Redis, one at a time and pipelined, against raw SET pairs.
// Run: node bench/resilience-idempotency.ts   (REDIS_URL, default redis://127.0.0.1:6379; its keys are removed afterwards)
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CircuitBreaker } from '../src/resilience/circuit-breaker.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../src/resilience/idempotency-memory-store.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../src/resilience/idempotency-redis-store.ts';
import type { IdempotencyStore } from '../src/resilience/idempotency-store.ts';
import { publish, size, type Figure } from './report.ts';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SEQUENTIAL_PAIRS = size(4_000, 1_000);
const PIPELINED_PAIRS = size(40_000, 8_000);
const IN_FLIGHT = 64;
const prefix = `bench:${randomUUID()}:`;
const result = { deploymentId: 'd-123', previousImage: 'ghcr.io/acme/api:1.41.0' };

async function connect(extra: { enableAutoPipelining?: boolean } = {}): Promise<Redis> {
  const client = new Redis(url, { ...REDIS_CLIENT_OPTIONS, ...extra, lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs `pair(i)` for i < count with at most `inFlight` at once; returns pairs per second. */
async function pairsPerSecond(count: number, inFlight: number, pair: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await pair(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

function claimThenComplete(store: IdempotencyStore, run: string): (i: number) => Promise<void> {
  return async (i) => {
    const key = `${run}/${i}`;
    const claim = await store.claim(key, 'bench', 60_000);
    if (claim.status !== 'claimed') throw new Error(`claim of ${key} answered ${claim.status}`);
    const completion = await store.complete(key, 'bench', result, 60_000);
    if (completion.status !== 'completed') throw new Error(`completion of ${key} answered ${completion.status}`);
  };
}

const memory = new IdempotencyMemoryStore({ clock: systemClock });
const figures: Figure[] = [{ name: 'claim + complete pairs/s, memory store, one at a time', value: await pairsPerSecond(size(100_000, 20_000), 1, claimThenComplete(memory, 'memory')), unit: '/s' }];
const sequentialName = 'claim + complete pairs/s, Redis store, one at a time';
const concurrentName = `claim + complete pairs/s, Redis store, ${IN_FLIGHT} in flight on one connection`;
const pipelinedName = `claim + complete pairs/s, Redis store, ${IN_FLIGHT} in flight, auto-pipelined`;

let redis: Redis | undefined;
try {
  redis = await connect();
} catch (error) {
  const skipped = `Redis at ${url} does not answer (${error instanceof Error ? error.message : String(error)})`;
  for (const name of [sequentialName, concurrentName, pipelinedName]) figures.push({ name, value: Number.NaN, unit: '/s', skipped });
}

if (redis !== undefined) {
  const client = redis;
  const autoPipelined = await connect({ enableAutoPipelining: true });
  const breaker = new CircuitBreaker('redis', {}, { clock: systemClock });
  const store = new IdempotencyRedisStore({ client, keyPrefix: prefix, breaker });
  const pipelinedStore = new IdempotencyRedisStore({ client: autoPipelined, keyPrefix: prefix, breaker });
  const raw = (c: Redis, run: string) => async (i: number) => {
    const key = `${prefix}raw:${run}:${i}`;
    await c.set(key, 'claimed', 'PX', 60_000, 'NX');
    await c.set(key, JSON.stringify(result), 'PX', 60_000);
  };
  // Warm-up: connections, script loading (EVALSHA after the first EVAL).
  await pairsPerSecond(500, 8, claimThenComplete(store, 'warmup'));
  await pairsPerSecond(500, 8, claimThenComplete(pipelinedStore, 'warmup-pipelined'));

  const rawSequential = await pairsPerSecond(SEQUENTIAL_PAIRS, 1, raw(client, 'sequential'));
  const sequential = await pairsPerSecond(SEQUENTIAL_PAIRS, 1, claimThenComplete(store, 'sequential'));
  const rawPipelined = await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, raw(autoPipelined, 'pipelined'));
  const concurrent = await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, claimThenComplete(store, 'concurrent'));
  const pipelined = await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, claimThenComplete(pipelinedStore, 'pipelined'));
  const rawLabel = (how: string): string => `raw SET NX + SET pairs on the same Redis, ${how}, same run`;
  figures.push(
    { name: sequentialName, value: sequential, unit: '/s', baseline: rawSequential, baselineLabel: rawLabel('one at a time'), note: `${url}; claims are SET NX PX, completions an owner-checked Lua script` },
    { name: concurrentName, value: concurrent, unit: '/s', baseline: rawPipelined, baselineLabel: rawLabel(`${IN_FLIGHT} in flight, auto-pipelined`) },
    { name: pipelinedName, value: pipelined, unit: '/s', baseline: rawPipelined },
  );

  let cursor = '0';
  do {
    const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = nextCursor;
  } while (cursor !== '0');
  client.disconnect();
  autoPipelined.disconnect();
}

publish('resilience-idempotency', figures);
