// Benchmark: watch events per second the devcluster delivers to 1 and to 10 watchers. The events are produced inside
// the server by one deletecollection (N DELETED events in one burst), so the HTTP writes are not what is measured.
// Baseline: the same client reading the same number of lines from a trivial server that streams them as fast as it can.
// Target: at least 50,000 events/s to one watcher.
// Run: node bench/devcluster-watch-fanout.ts
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { client, createMany, figure, startDevcluster } from './devcluster-child.ts';
import { publish, size, type Figure } from './report.ts';

const EVENTS = size(50_000, 10_000);

/** Opens a watch and resolves with the arrival time of the `count`-th event line. */
function watchUntil(url: string, count: number): Promise<{ ready: Promise<void>; done: Promise<number> }> {
  return new Promise((resolveOuter) => {
    let seen = 0;
    let resolveDone: (at: number) => void = () => undefined;
    const done = new Promise<number>((resolve) => (resolveDone = resolve));
    let resolveReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (resolveReady = resolve));
    const req = request(url, { headers: { accept: 'application/json' } }, (res) => {
      resolveReady();
      // Counting newlines is all a reader needs to do here; parsing is the client's cost, not the server's.
      res.on('data', (chunk: Buffer) => {
        for (let index = chunk.indexOf(10); index >= 0; index = chunk.indexOf(10, index + 1)) {
          seen++;
          if (seen === count) {
            resolveDone(performance.now());
            req.destroy();
            return;
          }
        }
      });
    });
    req.on('error', () => undefined);
    req.on('close', () => {
      if (seen < count) resolveDone(Number.NaN);
    });
    req.end();
    resolveOuter({ ready, done });
  });
}

async function baselineRate(lineBytes: number, watchers: number): Promise<number> {
  const line = `${JSON.stringify({ type: 'DELETED', object: { blob: 'x'.repeat(Math.max(0, lineBytes - 40)) } })}\n`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let sent = 0;
    const pump = (): void => {
      while (sent < EVENTS) {
        sent++;
        if (!res.write(line)) return void res.once('drain', pump);
      }
      res.end();
    };
    setTimeout(pump, 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const started = performance.now();
  const streams = await Promise.all(Array.from({ length: watchers }, () => watchUntil(url, EVENTS)));
  const ends = await Promise.all(streams.map((s) => s.done));
  server.close();
  server.closeAllConnections();
  return (EVENTS * watchers) / ((Math.max(...ends) - started - 50) / 1000);
}

const server = await startDevcluster();
const api = client(server.url, 32);
const figures: Figure[] = [];
// The first round only warms the server up (JIT of the create, delete and watch paths); it is not reported.
for (const watchers of [0, 1, 10]) {
  const namespace = `fanout-${watchers}`;
  const count = watchers === 0 ? size(5_000, 2_000) : EVENTS;
  await api.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }));
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const bytes = await createMany(api.send, path, count, (i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}`, labels: { app: 'bench' } }, data: { payload: 'x'.repeat(400), index: String(i) } }));
  const rv = JSON.parse((await api.send('GET', `${path}?limit=1`)).body).metadata.resourceVersion as string;
  const streams = await Promise.all(Array.from({ length: Math.max(1, watchers) }, () => watchUntil(`${server.url}${path}?watch=1&resourceVersion=${rv}&timeoutSeconds=120`, count)));
  await Promise.all(streams.map((s) => s.ready));
  const started = performance.now();
  const deleted = await api.send('DELETE', path);
  if (deleted.status !== 200) throw new Error(`deletecollection: ${deleted.status}`);
  const ends = await Promise.all(streams.map((s) => s.done));
  if (ends.some(Number.isNaN)) throw new Error('a watch ended before it saw every event');
  if (watchers === 0) continue;
  const rate = (EVENTS * watchers) / ((Math.max(...ends) - started) / 1000);
  const base = await baselineRate(Math.round(bytes / EVENTS) + 30, watchers);
  figures.push({
    name: `watch events/s delivered to ${watchers} watcher${watchers === 1 ? '' : 's'} (all watchers together)`,
    value: rate,
    unit: '/s',
    ...(watchers === 1 ? { target: 50_000, comparator: '>=' as const } : {}),
    baseline: base,
    baselineLabel: 'the same client reading as many lines of the same size from a trivial server streaming them as fast as it can',
    note: `${figure(EVENTS)} DELETED events from one deletecollection, server in its own process; ${figure(rate / watchers)}/s per watcher`,
  });
}
publish('devcluster-watch-fanout', figures);
api.close();
await server.stop();
