// Benchmark: idempotency claim + complete pairs per second against local Redis, one at a time and pipelined, against raw SET pairs.
// Run: node bench/resilience-idempotency.ts   (REDIS_URL, default redis://127.0.0.1:6379; its keys are removed afterwards)
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CircuitBreaker } from '../src/resilience/circuit-breaker.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { IdempotencyMemoryStore } from '../src/resilience/idempotency-memory-store.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../src/resilience/idempotency-redis-store.ts';
import type { IdempotencyStore } from '../src/resilience/idempotency-store.ts';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SEQUENTIAL_PAIRS = 4_000;
const PIPELINED_PAIRS = 40_000;
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

const rows: [string, number][] = [];
const memory = new IdempotencyMemoryStore({ clock: systemClock });
rows.push(['memory store, one at a time', await pairsPerSecond(100_000, 1, claimThenComplete(memory, 'memory'))]);

let redis: Redis | undefined;
try {
  redis = await connect();
} catch (error) {
  console.log(`resilience-idempotency: Redis at ${url} does not answer (${error instanceof Error ? error.message : String(error)}); only the memory store was measured`);
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

  rows.push(['raw SET NX + SET, one at a time (baseline)', await pairsPerSecond(SEQUENTIAL_PAIRS, 1, raw(client, 'sequential'))]);
  rows.push(['redis store, one at a time', await pairsPerSecond(SEQUENTIAL_PAIRS, 1, claimThenComplete(store, 'sequential'))]);
  rows.push([`raw SET NX + SET, ${IN_FLIGHT} in flight, auto-pipelined (baseline)`, await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, raw(autoPipelined, 'pipelined'))]);
  rows.push([`redis store, ${IN_FLIGHT} in flight, one connection`, await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, claimThenComplete(store, 'concurrent'))]);
  rows.push([`redis store, ${IN_FLIGHT} in flight, auto-pipelined`, await pairsPerSecond(PIPELINED_PAIRS, IN_FLIGHT, claimThenComplete(pipelinedStore, 'pipelined'))]);

  let cursor = '0';
  do {
    const [nextCursor, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = nextCursor;
  } while (cursor !== '0');
  client.disconnect();
  autoPipelined.disconnect();
}

console.log(`resilience-idempotency: claim + complete pairs per second (${url}, node ${process.version})`);
const byName = new Map(rows);
for (const [name, perSecond] of rows) {
  const baselineName = name.includes('one at a time') ? 'raw SET NX + SET, one at a time (baseline)' : `raw SET NX + SET, ${IN_FLIGHT} in flight, auto-pipelined (baseline)`;
  const baseline = name.startsWith('redis') ? byName.get(baselineName) : undefined;
  console.log(`  ${name.padEnd(58)} ${perSecond.toFixed(0).padStart(8)} /s${baseline === undefined ? '' : `   ${(perSecond / baseline).toFixed(2)}× baseline`}`);
}
