// The admin server's /events route: domain events as a live Server-Sent Events stream, resumable with Last-Event-ID.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteHandler } from '../observability/http-endpoint.ts';
import type { Logger } from '../observability/logger.ts';
import type { Registry } from '../observability/metrics.ts';
import type { Clock, TimerHandle } from '../resilience/clock.ts';
import type { EventHistory } from './event-bus.ts';
import { eventMetrics, type EventMetrics } from './event-metrics.ts';
import type { DomainEvent, EventSink } from './event-sink.ts';

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_RETRY_MS = 2_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SseEndpointSettings {
  /** The bus's buffer: what clients replay from and catch up from. */
  readonly history: EventHistory;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: Registry;
  /** A comment is sent this often so proxies keep idle streams open; 15 s by default. */
  readonly heartbeatMs?: number;
  /** The reconnection delay suggested to clients (`retry:`); 2 s by default. */
  readonly retryMs?: number;
  /** A client whose socket holds more unsent bytes than this is disconnected; 1 MiB by default. */
  readonly maxBufferedBytes?: number;
}

interface Client {
  readonly res: ServerResponse;
  /** The sequence of the last event written to this client. */
  lastSequence: number;
}

const DECIMAL = /^\d{1,16}$/;

/**
 * Serves `GET /events` as `text/event-stream`, one `id:`/`data:` message per CloudEvent (no `event:`
 * field, so `EventSource.onmessage` sees them all), and is the bus's `sse` sink.
 *
 * Expected flow: mount {@link SseEndpoint.handler} with `AdminServer.route('/events', …)` and add the
 * endpoint to the bus with `bus.addSink(endpoint)`. On shutdown, close the bus (which closes this
 * endpoint and ends every stream) before stopping the admin server.
 *
 * Guarantees:
 * - A new client receives events emitted after it connected. With `Last-Event-ID` (or
 *   `?lastEventId=`) it first receives every buffered event after that id, then live ones; `0` replays
 *   the whole buffer. When events after its id are no longer buffered it is told so in a comment.
 * - No client misses or repeats a buffered event: each one catches up from the buffer after the last
 *   id it was sent, on every delivery and every heartbeat.
 * - A client that does not read (more than `maxBufferedBytes` unsent) is disconnected rather than
 *   buffered without bound; it resumes with `Last-Event-ID`.
 * - After {@link SseEndpoint.close}, streams are ended and new requests get an empty stream, so an
 *   `EventSource` reconnects (to another replica) instead of failing for good as it would on a 503.
 */
export class SseEndpoint implements EventSink {
  readonly name = 'sse';
  /** The route handler to mount on the admin server. */
  readonly handler: RouteHandler;
  readonly #history: EventHistory;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: EventMetrics;
  readonly #heartbeatMs: number;
  readonly #retryMs: number;
  readonly #maxBufferedBytes: number;
  readonly #clients = new Set<Client>();
  readonly #frames = new WeakMap<DomainEvent, string>();
  #heartbeat: TimerHandle | undefined;
  #closed = false;

  constructor(settings: SseEndpointSettings) {
    this.#history = settings.history;
    this.#clock = settings.clock;
    this.#logger = settings.logger.child({ component: 'event-stream' });
    this.#metrics = eventMetrics(settings.registry);
    this.#heartbeatMs = settings.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#retryMs = settings.retryMs ?? DEFAULT_RETRY_MS;
    this.#maxBufferedBytes = settings.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.handler = (req, res, url) => this.#open(req, res, url);
  }

  /** Open streams. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Wakes every client to catch up from the buffer; the event itself is already there. */
  deliver(): Promise<void> {
    for (const client of this.#clients) this.#catchUp(client);
    return Promise.resolve();
  }

  /** Ends every stream; later requests get an empty stream. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#heartbeat !== undefined) this.#clock.clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
    for (const client of [...this.#clients]) this.#remove(client, 'closing');
    return Promise.resolve();
  }

  #open(req: IncomingMessage, res: ServerResponse, url: URL): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    req.socket.setNoDelay(true);
    res.write(`retry: ${this.#retryMs}\n\n`);
    if (this.#closed) {
      res.end();
      return;
    }
    const header = req.headers['last-event-id'];
    const requested = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('lastEventId') ?? '';
    const resumeFrom = DECIMAL.test(requested.trim()) ? Number(requested.trim()) : undefined;
    const client: Client = { res, lastSequence: resumeFrom ?? this.#history.newest()?.sequence ?? 0 };
    this.#clients.add(client);
    this.#metrics.streamClients.set(this.#clients.size);
    req.on('close', () => this.#remove(client, 'disconnected'));
    res.on('error', () => this.#remove(client, 'disconnected'));
    this.#logger.debug({ lastEventId: resumeFrom, clients: this.#clients.size }, 'event stream opened');
    if (resumeFrom !== undefined) this.#catchUp(client);
    this.#armHeartbeat();
  }

  #catchUp(client: Client): void {
    const { res } = client;
    if (res.writableEnded || res.destroyed) return;
    const evicted = this.#history.evictedThrough();
    if (evicted > client.lastSequence) {
      res.write(`: events after ${client.lastSequence} up to ${evicted} are no longer buffered\n\n`);
    }
    for (const event of this.#history.since(client.lastSequence)) {
      res.write(this.#frame(event));
      client.lastSequence = event.sequence;
    }
    if (res.writableLength > this.#maxBufferedBytes) {
      this.#logger.info({ bufferedBytes: res.writableLength, lastEventId: client.lastSequence }, 'event stream client too slow, disconnecting');
      this.#remove(client, 'slow');
    }
  }

  #frame(event: DomainEvent): string {
    let frame = this.#frames.get(event);
    if (frame === undefined) {
      frame = `id: ${event.cloudEvent.id}\ndata: ${JSON.stringify(event.cloudEvent)}\n\n`;
      this.#frames.set(event, frame);
    }
    return frame;
  }

  #remove(client: Client, why: 'closing' | 'disconnected' | 'slow'): void {
    if (!this.#clients.delete(client)) return;
    this.#metrics.streamClients.set(this.#clients.size);
    if (why === 'slow') client.res.destroy();
    else if (!client.res.writableEnded) client.res.end();
    if (this.#clients.size === 0 && this.#heartbeat !== undefined) {
      this.#clock.clearTimeout(this.#heartbeat);
      this.#heartbeat = undefined;
    }
  }

  #armHeartbeat(): void {
    if (this.#heartbeat !== undefined || this.#closed) return;
    this.#heartbeat = this.#clock.setTimeout(() => {
      this.#heartbeat = undefined;
      for (const client of [...this.#clients]) {
        this.#catchUp(client);
        if (this.#clients.has(client)) client.res.write(': heartbeat\n\n');
      }
      if (this.#clients.size > 0) this.#armHeartbeat();
    }, this.#heartbeatMs);
  }
}
