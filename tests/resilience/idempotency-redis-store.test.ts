import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { CircuitBreaker, isBrokenCircuit } from '../../src/resilience/circuit-breaker.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../../src/resilience/idempotency-redis-store.ts';
import { isIdempotencyUnavailable, type IdempotencyUnavailableError } from '../../src/resilience/idempotency-store.ts';
import { ResilienceMetrics } from '../../src/resilience/resilience-metrics.ts';
import { idempotencyStoreContract } from '../support/idempotency-store-contract.ts';
import { PrivateRedis, redisServerAvailable } from '../support/private-redis.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { probeRedis } from '../support/redis.ts';

const probe = await probeRedis('idempotency Redis store');
const prefix = `test:${randomUUID()}:`;
const clients: Redis[] = [];

function connect(url = probe.url, extra: { readonly retryStrategy?: () => number } = {}): Redis {
  const client = new Redis(url, { ...REDIS_CLIENT_OPTIONS, ...extra });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

async function ready(client: Redis): Promise<void> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
}

afterAll(async () => {
  if (probe.available) {
    const cleaner = connect();
    await ready(cleaner);
    const keys = await cleaner.keys(`${prefix}*`);
    if (keys.length > 0) await cleaner.del(...keys);
  }
  for (const client of clients.splice(0)) client.disconnect();
});

describe.skipIf(!probe.available)('IdempotencyRedisStore against the real Redis', () => {
  idempotencyStoreContract(async () => {
    const client = connect();
    await ready(client);
    return { store: new IdempotencyRedisStore({ client, keyPrefix: prefix }), shortTtlMs: 100, elapse: (ms) => delay(ms) };
  });

  it('of many clients claiming the same keys at once, exactly one wins each key', async () => {
    const stores = await Promise.all(
      Array.from({ length: 16 }, async () => {
        const client = connect();
        await ready(client);
        return new IdempotencyRedisStore({ client, keyPrefix: prefix });
      }),
    );
    const keys = Array.from({ length: 40 }, (_, i) => `race-${randomUUID()}-${i}`);
    const claims = await Promise.all(keys.flatMap((key) => stores.map(async (store, owner) => ({ key, owner, result: await store.claim(key, `owner-${owner}`, 30_000) }))));
    for (const key of keys) {
      const forKey = claims.filter((claim) => claim.key === key);
      const winners = forKey.filter((claim) => claim.result.status === 'claimed');
      expect(winners).toHaveLength(1);
      const winner = `owner-${winners[0]?.owner ?? -1}`;
      expect(forKey.filter((claim) => claim.result.status === 'held').every((claim) => claim.result.status === 'held' && claim.result.owner === winner)).toBe(true);
    }
  });

  it('keeps every key under its configured prefix', async () => {
    const client = connect();
    await ready(client);
    const store = new IdempotencyRedisStore({ client, keyPrefix: prefix });
    const key = `prefixed-${randomUUID()}`;
    await store.claim(key, 'owner', 30_000);
    expect(await client.exists(`${prefix}idempotency:${key}`)).toBe(1);
    expect(await client.exists(key)).toBe(0);
  });

  it('counts hits and misses', async () => {
    const client = connect();
    await ready(client);
    const registry = createMetricsRegistry({ processMetrics: false });
    const store = new IdempotencyRedisStore({ client, keyPrefix: prefix, metrics: new ResilienceMetrics(registry) });
    const key = `metrics-${randomUUID()}`;
    await store.claim(key, 'a', 30_000);
    await store.complete(key, 'a', 'r');
    await store.claim(key, 'b', 30_000);
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_idempotency_misses_total', { store: 'redis' })).toBe(1);
    expect(sampleValue(families, 'blackroad_idempotency_hits_total', { store: 'redis' })).toBe(1);
  });
});

const canSpawnRedis = probe.available && (await redisServerAvailable());
if (probe.available && !canSpawnRedis) {
  if (process.env['REQUIRE_REDIS'] === '1') throw new Error('REQUIRE_REDIS=1 but no redis-server binary to run the restart test');
  console.warn('SKIPPED Redis restart test: no redis-server binary on PATH');
}

describe.skipIf(!canSpawnRedis)('IdempotencyRedisStore across a Redis outage and restart (private redis-server)', () => {
  it('fails fast through the redis breaker while Redis is down, keeps claims and results across the restart, and recovers', async () => {
    const server = await PrivateRedis.start();
    try {
      const client = connect(server.url, { retryStrategy: () => 50 });
      await ready(client);
      const breaker = new CircuitBreaker('redis', { consecutiveFailures: 2, halfOpenAfterMs: 200 }, { clock: systemClock });
      const store = new IdempotencyRedisStore({ client, keyPrefix: prefix, breaker, operationTimeoutMs: 10_000, unavailableRetryMs: 500 });
      await store.claim('held-across-restart', 'owner-a', 60_000);
      await store.claim('completed-before-restart', 'owner-a', 60_000);
      await store.complete('completed-before-restart', 'owner-a', { deploymentId: 'd-1' });

      await server.kill();
      // Down: each call fails at once (no offline queue), long before the 10 s operation timeout.
      const failures: unknown[] = [];
      for (let i = 0; i < 3; i += 1) {
        const startedAt = Date.now();
        failures.push(await store.claim(`during-outage-${i}`, 'owner-b', 60_000).catch((error: unknown) => error));
        expect(Date.now() - startedAt).toBeLessThan(2_000);
      }
      expect(failures.every(isIdempotencyUnavailable)).toBe(true);
      expect(breaker.state).toBe('open');
      // The third call never reached the client: the breaker refused it.
      expect(isBrokenCircuit((failures[2] as IdempotencyUnavailableError).cause)).toBe(true);
      expect((failures[2] as IdempotencyUnavailableError).retryAfterMs).toBeGreaterThan(0);

      await server.restart();
      await ready(client);
      let recovered: Awaited<ReturnType<typeof store.claim>> | undefined;
      for (const until = Date.now() + 5_000; recovered === undefined && Date.now() < until; ) {
        recovered = await store.claim('after-restart', 'owner-b', 60_000).catch(async (error: unknown) => {
          if (!isIdempotencyUnavailable(error)) throw error;
          await delay(50);
          return undefined;
        });
      }
      expect(recovered).toEqual({ status: 'claimed' });
      expect(breaker.state).toBe('closed');
      expect(await store.claim('held-across-restart', 'owner-b', 60_000)).toMatchObject({ status: 'held', owner: 'owner-a' });
      expect(await store.claim('completed-before-restart', 'owner-b', 60_000)).toMatchObject({ status: 'completed', result: { deploymentId: 'd-1' } });
    } finally {
      await server.stop();
    }
  });
});
