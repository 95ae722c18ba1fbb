// A watch whose reader stops: the server holds the backlog as queued event lines, not as a copy in the socket
// buffer, delivers all of it in order once the reader goes on, and closes a watcher that stays behind too long.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/resilience/clock.ts';
import { INTERNAL_WRITE, ObjectService } from '../../src/devcluster/object-service.ts';
import { ResourceRegistry } from '../../src/devcluster/resource-registry.ts';
import type { ResourceType } from '../../src/devcluster/resource-type.ts';
import { EVERYTHING } from '../../src/devcluster/selectors.ts';
import { Store } from '../../src/devcluster/store.ts';
import { WatchHub } from '../../src/devcluster/watch.ts';

const NAMESPACE = 'burst';
/** Well beyond what the loopback socket buffers of a reader that stopped take in. */
const BURST_OBJECTS = 8000;
const PAYLOAD = 'x'.repeat(2000);

interface Setup {
  readonly hub: WatchHub;
  readonly clock: ManualClock;
  /** Commits `count` ConfigMaps in one turn of the event loop (one burst). */
  burst(count: number): void;
  /** Opens a watch from now on and does not read it; resolves with both ends of the response. */
  watch(): Promise<{ res: ServerResponse; incoming: IncomingMessage }>;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

async function setup(bounds: { maxBufferedBytes: number; slowWatcherGraceMs: number }): Promise<Setup> {
  const clock = new ManualClock();
  const store = new Store();
  const registry = new ResourceRegistry();
  const objects = new ObjectService(store, registry, () => clock.now());
  const hub = new WatchHub(store, objects, { clock, bookmarkIntervalMs: 60_000, defaultTimeoutMs: 60_000, ...bounds });
  const type = registry.find('', 'v1', 'configmaps') as ResourceType;
  objects.create(registry.find('', 'v1', 'namespaces') as ResourceType, '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, INTERNAL_WRITE);
  let created = 0;
  let serving: ((res: ServerResponse) => void) | undefined;
  const listening = createServer((_req, res) => {
    hub.serve({ type, namespace: NAMESPACE, labelSelector: EVERYTHING, fieldSelector: EVERYTHING, resourceVersion: String(store.resourceVersion), sendInitialEvents: false, allowBookmarks: false, timeoutSeconds: undefined, table: undefined }, res);
    serving?.(res);
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}/`;
  return {
    hub,
    clock,
    burst(count) {
      for (let i = 0; i < count; i++, created++) objects.create(type, NAMESPACE, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${created}` }, data: { index: String(created), payload: PAYLOAD } }, INTERNAL_WRITE);
    },
    watch: () =>
      new Promise((resolve) => {
        let res: ServerResponse | undefined;
        serving = (served) => (res = served);
        request(url, (incoming) => {
          incoming.pause();
          resolve({ res: res as ServerResponse, incoming });
        }).end();
      }),
  };
}

/** Waits until the server stopped handing data to the socket: the reader is not reading, so it stops soon. */
async function settled(res: ServerResponse): Promise<void> {
  let last = -1;
  for (let still = 0; still < 5; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const bytes = res.socket?.bytesWritten ?? 0;
    still = bytes === last ? still + 1 : 0;
    last = bytes;
  }
}

type Event = { type: string; object: { metadata: { name: string; resourceVersion: string }; data: { index: string; payload: string } } };

/** Reads the rest of the response: the lines parsed so far, and all of them once it ends. */
function read(incoming: IncomingMessage): { count(): number; ended: Promise<Event[]> } {
  incoming.setEncoding('utf8');
  let text = '';
  let count = 0;
  incoming.on('data', (chunk: string) => {
    text += chunk;
    for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', at + 1)) count++;
  });
  incoming.resume();
  const ended = new Promise<Event[]>((resolve) =>
    incoming.once('end', () => {
      expect(text.endsWith('\n') || text === '').toBe(true);
      resolve(
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Event),
      );
    }),
  );
  return { count: () => count, ended };
}

describe('watch backpressure', () => {
  it('a reader that stops leaves the burst queued as lines, not copied into its socket buffer, and then gets every event whole and in order', async () => {
    const { hub, burst, watch } = await setup({ maxBufferedBytes: 1024 * 1024 * 1024, slowWatcherGraceMs: 5000 });
    const { res, incoming } = await watch();
    burst(BURST_OBJECTS);
    await settled(res);
    // The socket took what the kernel buffers hold; the response holds at most one joined slice on top.
    expect(res.socket?.bytesWritten).toBeLessThan(BURST_OBJECTS * PAYLOAD.length * 0.8);
    expect(res.writableLength).toBeLessThanOrEqual(128 * 1024);
    const reader = read(incoming);
    // Lines pushed while the response is draining the burst queue up behind it.
    burst(10);
    while (reader.count() < BURST_OBJECTS + 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(hub.closeAll()).toBe(1);
    const events = await reader.ended;
    expect(events).toHaveLength(BURST_OBJECTS + 10);
    expect(events.every((event) => event.type === 'ADDED' && event.object.data.payload === PAYLOAD)).toBe(true);
    expect(events.map((event) => Number(event.object.data.index))).toEqual(Array.from({ length: BURST_OBJECTS + 10 }, (_, i) => i));
    const versions = events.map((event) => Number(event.object.metadata.resourceVersion));
    expect(versions.every((rv, i) => i === 0 || rv === (versions[i - 1] as number) + 1)).toBe(true);
  });

  it('a watcher whose queued lines stay over the bound for the grace period is closed, and what it got is whole lines in order', async () => {
    const { hub, clock, burst, watch } = await setup({ maxBufferedBytes: 1024 * 1024, slowWatcherGraceMs: 1000 });
    const { res, incoming } = await watch();
    burst(BURST_OBJECTS);
    await settled(res);
    expect(hub.size).toBe(1);
    clock.advance(1000);
    expect(hub.size).toBe(0);
    const events = await read(incoming).ended;
    expect(events.length).toBeGreaterThan(0);
    expect(events.length).toBeLessThan(BURST_OBJECTS);
    expect(events.map((event) => Number(event.object.data.index))).toEqual(Array.from({ length: events.length }, (_, i) => i));
  });

  it('a watch ended (timeout, shutdown) while its queued lines are over the bound drops them instead of copying them into its socket', async () => {
    const { hub, burst, watch } = await setup({ maxBufferedBytes: 1024 * 1024, slowWatcherGraceMs: 60_000 });
    const { res, incoming } = await watch();
    burst(BURST_OBJECTS);
    await settled(res);
    const written = res.socket?.bytesWritten ?? 0;
    expect(hub.closeAll()).toBe(1);
    // Nothing more was handed to the socket than before the end: the backlog was dropped, not written out.
    expect(res.socket?.bytesWritten ?? 0).toBeLessThanOrEqual(written + 128 * 1024);
    const events = await read(incoming).ended;
    expect(events.length).toBeLessThan(BURST_OBJECTS);
    expect(events.map((event) => Number(event.object.data.index))).toEqual(Array.from({ length: events.length }, (_, i) => i));
  });
});
