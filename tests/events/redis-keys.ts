// A unique Redis key prefix per test run, and its clean-up (only the run's own keys; never FLUSHALL).
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export function uniquePrefix(suite: string): string {
  return `blackroad-test:${suite}:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
