// Finds the real Redis the tests use; a missing Redis skips the suite with a visible reason, or fails it under REQUIRE_REDIS=1.
import { Redis } from 'ioredis';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env['REQUIRE_REDIS'] === '1';

export interface RedisProbe {
  readonly url: string;
  readonly available: boolean;
  readonly reason: string;
}

/**
 * Pings Redis once. When it does not answer: with `REQUIRE_REDIS=1` this throws (the suite fails),
 * otherwise it prints why the Redis tests are skipped.
 */
export async function probeRedis(suite: string): Promise<RedisProbe> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return { url: REDIS_URL, available: true, reason: '' };
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} does not answer (${error instanceof Error ? error.message : String(error)})`;
    if (REQUIRED) throw new Error(`${suite}: ${reason}, and REQUIRE_REDIS=1 forbids skipping`, { cause: error });
    console.warn(`SKIPPED ${suite}: ${reason}; set REDIS_URL or start redis-server`);
    return { url: REDIS_URL, available: false, reason };
  } finally {
    client.disconnect();
  }
}
