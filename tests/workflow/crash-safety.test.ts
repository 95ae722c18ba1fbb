// Kills the operator at every point between claim, side effect, completion and status write, restarts it from
// the persisted status, and proves each side effect ran once per key (counted at a fake provider).
// Random schedules of kills and failed operations: tests/property/workflow-faults.test.ts.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { IdempotencyRedisStore, REDIS_CLIENT_OPTIONS } from '../../src/resilience/idempotency-redis-store.ts';
import { expectExactlyOnce, killAtEveryPoint, operate, Outside } from '../support/crash-harness.ts';
import { probeRedis } from '../support/redis.ts';

describe('crash safety of the workflow engine', () => {
  it('without a crash, every side effect runs once', async () => {
    const { outside, result } = await operate([]);
    expectExactlyOnce(outside, result);
    expect([...outside.provider.calls.values()].every((count) => count === 1)).toBe(true);
  });

  it('killed at any single point between claim, side effect, completion and status write, a restarted operator still runs each side effect once per key', async () => {
    await killAtEveryPoint(() => new Outside());
  });

});

const probe = await probeRedis('crash safety against Redis');
const redisClients: Redis[] = [];
const prefix = `test:${randomUUID()}:`;
afterAll(async () => {
  const cleaner = redisClients[0];
  if (cleaner !== undefined) {
    const keys = await cleaner.keys(`${prefix}*`);
    if (keys.length > 0) await cleaner.del(...keys);
  }
  for (const client of redisClients.splice(0)) client.disconnect();
});

describe.skipIf(!probe.available)('crash safety of the workflow engine with claims in the real Redis', () => {
  it('killed at any single point, a restarted operator still runs each side effect once per key', async () => {
    const client = new Redis(probe.url, REDIS_CLIENT_OPTIONS);
    client.on('error', () => undefined);
    redisClients.push(client);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    let scenario = 0;
    // Each scenario has its own keys; claims last 500 ms of real time (long enough that a busy machine never lets one lapse between claim and call), which a restart really waits out,
    // so scenarios run forty at a time.
    await killAtEveryPoint(() => new Outside({ store: new IdempotencyRedisStore({ client, keyPrefix: `${prefix}${(scenario += 1)}:` }), claimTtlMs: 500 }), 40);
  });
});
