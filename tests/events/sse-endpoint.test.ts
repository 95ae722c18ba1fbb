import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCloudEvent } from '../../src/events/cloud-event.ts';
import { EventBus, type EventDraft } from '../../src/events/event-bus.ts';
import type { DomainEvent } from '../../src/events/event-sink.ts';
import { SseEndpoint } from '../../src/events/sse-endpoint.ts';
import { AdminServer } from '../../src/observability/admin-server.ts';
import { Checks } from '../../src/observability/checks.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { captureLogger, metricValue, settle } from './event-fixtures.ts';
import { SseReader } from './sse-reader.ts';

const SOURCE = '/apis/operator.blackroad.io/v1alpha1/namespaces/prod/deploys/api';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  readonly bus: EventBus;
  readonly endpoint: SseEndpoint;
  readonly clock: ManualClock;
  readonly registry: ReturnType<typeof createMetricsRegistry>;
  readonly logs: ReturnType<typeof captureLogger>;
  readonly url: string;
  /** Request headers and sockets of every /events request, in order. */
  readonly requests: { lastEventId: string | undefined; socket: Socket }[];
  emit(count: number): DomainEvent[];
}

async function setup(options: { bufferCapacity?: number; maxBufferedBytes?: number; retryMs?: number; dataBytes?: number } = {}): Promise<Setup> {
  const clock = new ManualClock();
  const registry = createMetricsRegistry({ processMetrics: false });
  const logs = captureLogger();
  const { logger } = logs;
  const bus = new EventBus({ clock, registry, logger, ...(options.bufferCapacity === undefined ? {} : { bufferCapacity: options.bufferCapacity }) });
  const endpoint = new SseEndpoint({
    history: bus,
    clock,
    registry,
    logger,
    heartbeatMs: 15_000,
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
    ...(options.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.maxBufferedBytes }),
  });
  bus.addSink(endpoint);
  const admin = new AdminServer({ metricsAddr: null, probeAddr: { host: '127.0.0.1', port: 0 }, registry, health: new Checks(), readiness: new Checks(), logger });
  const requests: Setup['requests'] = [];
  admin.route('/events', (req, res, url) => {
    const header = req.headers['last-event-id'];
    requests.push({ lastEventId: Array.isArray(header) ? header[0] : header, socket: req.socket });
    return endpoint.handler(req, res, url);
  });
  await admin.start();
  cleanups.push(() => admin.stop(), () => bus.close(0));
  let counter = 0;
  const emit = (count: number) =>
    Array.from({ length: count }, () => {
      counter += 1;
      const draft: EventDraft = { type: 'io.blackroad.operator.job.started', source: SOURCE, data: { n: counter, padding: 'x'.repeat(options.dataBytes ?? 0) } };
      return bus.emit(draft);
    });
  return { bus, endpoint, clock, registry, logs, url: `${admin.probes?.url() ?? ''}/events`, requests, emit };
}

async function open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const reader = await SseReader.open(url, headers);
  cleanups.push(() => reader.close());
  return reader;
}

/** Waits (real time, at most 5 s: requests come over real sockets) until the endpoint has `count` open streams. */
async function clientsReach(endpoint: SseEndpoint, count: number): Promise<void> {
  for (let attempt = 0; attempt < 500 && endpoint.clients !== count; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(endpoint.clients).toBe(count);
}

const ns = (messages: { data: string }[]) => messages.map((m) => (parseCloudEvent(JSON.parse(m.data)).data as { n: number }).n);

describe('SSE endpoint over real HTTP', () => {
  it('streams events emitted after a client connects, one message per CloudEvent with its id', async () => {
    const { url, emit, endpoint } = await setup();
    emit(2);
    const reader = await open(url);
    expect(reader.status).toBe(200);
    expect(reader.headers.get('content-type')).toBe('text/event-stream');
    expect(reader.headers.get('cache-control')).toBe('no-cache, no-transform');
    await clientsReach(endpoint, 1);
    const live = emit(3);
    const messages = await reader.waitFor(3);
    expect(ns(messages)).toEqual([3, 4, 5]);
    expect(messages.map((m) => m.lastEventId)).toEqual(live.map((e) => e.cloudEvent.id));
    expect(messages.every((m) => m.event === 'message')).toBe(true);
    expect(parseCloudEvent(JSON.parse(messages[0]?.data ?? ''))).toEqual(live[0]?.cloudEvent);
    expect(reader.retryMs).toBe(2000);
  });

  it('resumes after Last-Event-ID from the buffer, then continues live, without repeating or skipping an event', async () => {
    const { url, emit, endpoint } = await setup();
    const before = emit(10);
    const reader = await open(url, { 'Last-Event-ID': before[3]?.cloudEvent.id ?? '' });
    const replayed = await reader.waitFor(6);
    expect(ns(replayed)).toEqual([5, 6, 7, 8, 9, 10]);
    await clientsReach(endpoint, 1);
    emit(2);
    expect(ns(await reader.waitFor(8))).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('accepts the id as ?lastEventId= too, and replays the whole buffer from 0', async () => {
    const { url, emit } = await setup();
    const before = emit(5);
    const fromQuery = await open(`${url}?lastEventId=${before[2]?.cloudEvent.id ?? ''}`);
    expect(ns(await fromQuery.waitFor(2))).toEqual([4, 5]);
    const fromZero = await open(url, { 'Last-Event-ID': '0' });
    expect(ns(await fromZero.waitFor(5))).toEqual([1, 2, 3, 4, 5]);
  });

  it('tells a client resuming from beyond the buffer that it missed events, then replays what is left', async () => {
    const { url, emit } = await setup({ bufferCapacity: 10 });
    const before = emit(30);
    const reader = await open(url, { 'Last-Event-ID': before[4]?.cloudEvent.id ?? '' });
    expect(ns(await reader.waitFor(10))).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(reader.comments).toEqual([`events after ${before[4]?.cloudEvent.id} up to ${before[19]?.cloudEvent.id} are no longer buffered`]);
  });

  it('sends a heartbeat comment when the clock passes the heartbeat interval', async () => {
    const { url, endpoint, clock } = await setup();
    const reader = await open(url);
    await clientsReach(endpoint, 1);
    clock.advance(14_999);
    clock.advance(1);
    clock.advance(15_000);
    for (let attempt = 0; attempt < 500 && reader.comments.length < 2; attempt += 1) await settle(1);
    expect(reader.comments).toEqual(['heartbeat', 'heartbeat']);
  });

  it('forgets a client that disconnects', async () => {
    const { url, endpoint, registry } = await setup();
    const reader = await open(url);
    await clientsReach(endpoint, 1);
    expect(await metricValue(registry, 'blackroad_domain_event_stream_clients')).toBe(1);
    reader.close();
    await clientsReach(endpoint, 0);
    expect(await metricValue(registry, 'blackroad_domain_event_stream_clients')).toBe(0);
  });

  it('disconnects a client that stops reading instead of buffering for it without bound', async () => {
    const { url, endpoint, emit, logs } = await setup({ maxBufferedBytes: 64 * 1024, dataBytes: 16 * 1024 });
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write('GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();
    await clientsReach(endpoint, 1);
    // Enough to fill both sides' socket buffers: the rest piles up in the response.
    for (let round = 0; round < 40 && endpoint.clients > 0; round += 1) {
      emit(25);
      await settle(2);
    }
    expect(endpoint.clients).toBe(0);
    expect(logs.records().filter((r) => r['msg'] === 'event stream client too slow, disconnecting')).toEqual([expect.objectContaining({ bufferedBytes: expect.any(Number) as unknown })]);
  });

  it('ends every stream cleanly on close, and then answers with an empty stream so clients reconnect elsewhere', async () => {
    const { url, endpoint, bus } = await setup();
    const first = await open(url);
    const second = await open(url);
    await clientsReach(endpoint, 2);
    await bus.close(0);
    await expect(first.ended).resolves.toBeUndefined();
    await expect(second.ended).resolves.toBeUndefined();
    expect(endpoint.clients).toBe(0);
    const late = await open(url);
    expect(late.status).toBe(200);
    await late.ended;
    expect(late.retryMs).toBe(2000);
    expect(late.messages).toEqual([]);
  });

  it('answers HEAD with the stream headers and no body', async () => {
    const { url, endpoint } = await setup();
    const response = await fetch(url, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('');
    expect(endpoint.clients).toBe(0);
  });

  it("lets Node's own EventSource resume with Last-Event-ID after its connection drops, losing and repeating nothing", async () => {
    const { url, endpoint, emit, requests } = await setup({ retryMs: 50 });
    const child = spawn(process.execPath, ['--experimental-eventsource', '--no-warnings', new URL('./event-source-client.ts', import.meta.url).pathname, url, '6'], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => void child.kill());
    const lines: Record<string, unknown>[] = [];
    const waiters: { count: number; resolve: () => void }[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const waiter of waiters.filter((w) => w.count <= lines.filter((l) => 'data' in l).length)) waiter.resolve();
    });
    const messagesReach = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`EventSource got ${JSON.stringify(lines)}`)), 10_000);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
        if (lines.filter((l) => 'data' in l).length >= count) resolve();
      });
    await clientsReach(endpoint, 1);
    const first = emit(3);
    await messagesReach(3);
    // The network drops: the server never ends the stream, the socket just dies.
    requests[0]?.socket.destroy();
    await clientsReach(endpoint, 0);
    emit(3);
    await messagesReach(6);
    await new Promise((resolve) => child.once('exit', resolve));
    const received = lines.filter((l) => 'data' in l) as { lastEventId: string; data: string }[];
    expect(ns(received)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(requests.map((r) => r.lastEventId)).toEqual([undefined, first[2]?.cloudEvent.id]);
  });
});
