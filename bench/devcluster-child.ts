// Shared by the devcluster benchmarks: runs a devcluster (or a trivial baseline server) in a child process, so the
// load generator never shares its core, and drives it over keep-alive HTTP.
// Not a benchmark itself; `node bench/devcluster-child.ts serve|baseline` is how the benchmarks start it.
// Knobs for investigations: BENCH_NODE_FLAGS (extra node flags of the server process, e.g. --max-semi-space-size=4)
// and BENCH_CPU_PROFILE (a folder where the server process writes a .cpuprofile).
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

interface ChildMessage {
  readonly url?: string;
  readonly adminUrl?: string;
  readonly rss?: number;
  readonly heapUsed?: number;
}

/** A server running in a child process. */
export interface ServerProcess {
  readonly url: string;
  /** The devcluster's fault-injection listener (empty for the baseline server). */
  readonly adminUrl: string;
  /** Resident set size of the child after a full garbage collection, in bytes. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  stop(): Promise<void>;
}

function ask(child: ChildProcess, message: string): Promise<ChildMessage> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as ChildMessage));
    child.send(message);
  });
}

async function startChild(mode: 'serve' | 'baseline'): Promise<ServerProcess> {
  const child = fork(new URL(import.meta.url).pathname, [mode], { execArgv: ['--expose-gc', ...(process.env['BENCH_NODE_FLAGS'] === undefined ? [] : process.env['BENCH_NODE_FLAGS'].split(' ')), ...(process.env['BENCH_CPU_PROFILE'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROFILE']}`])], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<ChildMessage>((resolve) => child.once('message', (message) => resolve(message as ChildMessage)));
  return {
    url: ready.url ?? '',
    adminUrl: ready.adminUrl ?? '',
    async memory() {
      const reply = await ask(child, 'memory');
      return { rss: reply.rss ?? 0, heapUsed: reply.heapUsed ?? 0 };
    },
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
  };
}

/** A devcluster (plain http) in a child process. */
export function startDevcluster(): Promise<ServerProcess> {
  return startChild('serve');
}

/** The baseline: a node:http server that reads the body and answers a fixed 1 KB JSON object. */
export function startBaseline(): Promise<ServerProcess> {
  return startChild('baseline');
}

export interface Response {
  readonly status: number;
  readonly body: string;
}

/** An HTTP client over one keep-alive agent. */
export function client(base: string, maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const send = (method: string, path: string, body?: string, contentType = 'application/json'): Promise<Response> =>
    new Promise((resolve, reject) => {
      const req = request(new URL(path, base), { method, agent, headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

/**
 * A lean HTTP/1.1 client: one keep-alive socket per worker, requests written as one string, answers read by
 * Content-Length. It costs the load generator far less than node:http's client, so a benchmark measures the
 * server and not its own client.
 */
export function leanClient(base: string, workers: number) {
  const url = new URL(base);
  const sockets: Socket[] = Array.from({ length: workers }, () => connect(Number(url.port), url.hostname));
  const send = (worker: number, method: string, path: string, body = '', contentType = 'application/json'): Promise<Response> =>
    new Promise((resolve, reject) => {
      const socket = sockets[worker % workers] as Socket;
      let buffer: Buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        buffer = buffer.length === 0 ? chunk : (Buffer.concat([buffer, chunk]) as Buffer);
        const headerEnd = buffer.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const head = buffer.subarray(0, headerEnd).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < headerEnd + 4 + length) return;
        socket.off('data', onData);
        socket.off('error', reject);
        resolve({ status: Number(head.slice(9, 12)), body: buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8') });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: application/json\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  return { send, close: () => sockets.forEach((socket) => socket.destroy()) };
}

export interface LoadResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: number;
}

/** Runs `concurrency` loops of `call(worker, i)` for `durationMs` and reports the rate and latencies. */
export async function load(concurrency: number, durationMs: number, call: (worker: number, iteration: number) => Promise<Response>): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const at = performance.now();
        const res = await call(worker, i);
        latencies.push(performance.now() - at);
        if (res.status >= 300) failures++;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    perSecond: latencies.length / elapsedS,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)] ?? Number.NaN,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN,
    failures,
  };
}

/** Creates objects with `concurrency` requests in flight. */
export async function createMany(send: ReturnType<typeof client>['send'], path: string, count: number, body: (i: number) => unknown, concurrency = 32): Promise<number> {
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const res = await send('POST', path, JSON.stringify(body(i)));
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${res.body.slice(0, 200)}`);
        bytes += Buffer.byteLength(res.body);
      }
    }),
  );
  return bytes;
}

export const figure = (value: number, digits = 0): string => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function serveChild(mode: string): Promise<void> {
  let url: string;
  let adminUrl = '';
  let stop: () => Promise<void>;
  if (mode === 'serve') {
    const { DevCluster } = await import('../src/devcluster/dev-cluster.ts');
    const cluster = await DevCluster.start({ tls: false, adminPort: 0 });
    url = cluster.url;
    adminUrl = cluster.adminUrl ?? '';
    stop = () => cluster.stop();
  } else {
    const payload = JSON.stringify({ kind: 'Thing', apiVersion: 'v1', metadata: { name: 'x', resourceVersion: '1' }, data: { blob: 'x'.repeat(900) } });
    const server = createServer({ keepAlive: true }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(payload));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stop = () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  }
  process.on('message', (message) => {
    if (message === 'memory') {
      void measureMemory();
    } else if (message === 'stop') {
      void stop().then(() => process.exit(0));
    }
  });
  process.send?.({ url, adminUrl });
}

/** Memory after the load settled: full collections a second apart, so V8 returns the pages it no longer needs. */
async function measureMemory(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const usage = process.memoryUsage();
  process.send?.({ rss: usage.rss, heapUsed: usage.heapUsed });
}

const mode = process.argv[2];
if (process.send !== undefined && (mode === 'serve' || mode === 'baseline')) await serveChild(mode);
