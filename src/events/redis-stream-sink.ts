// The sink that appends every domain event to a capped Redis Stream, for consumers outside the operator.
import type { Redis } from 'ioredis';
import type { DomainEvent, EventSink } from './event-sink.ts';

export const DEFAULT_STREAM_MAX_LENGTH = 10_000;

export interface RedisStreamSinkSettings {
  /** The operator's client; the sink never closes it. */
  readonly redis: Redis;
  /** The configured `REDIS_KEY_PREFIX`; the stream is `<prefix>events`. */
  readonly keyPrefix: string;
  /** Approximate cap (`MAXLEN ~`): Redis trims whole nodes, so the stream holds at least this many. */
  readonly maxLength?: number;
}

/**
 * `XADD <prefix>events MAXLEN ~ <cap> * id <id> type <type> event <CloudEvent JSON>` per event. The
 * fields `id` and `type` let consumers filter without parsing; `event` is the full CloudEvent.
 */
export class RedisStreamSink implements EventSink {
  readonly name = 'redis';
  readonly key: string;
  readonly #redis: Redis;
  readonly #maxLength: string;

  constructor(settings: RedisStreamSinkSettings) {
    this.#redis = settings.redis;
    this.key = `${settings.keyPrefix}events`;
    this.#maxLength = String(settings.maxLength ?? DEFAULT_STREAM_MAX_LENGTH);
  }

  async deliver(event: DomainEvent): Promise<void> {
    const { cloudEvent } = event;
    await this.#redis.xadd(this.key, 'MAXLEN', '~', this.#maxLength, '*', 'id', cloudEvent.id, 'type', cloudEvent.type, 'event', JSON.stringify(cloudEvent));
  }
}
