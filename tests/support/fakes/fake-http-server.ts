// The real node:http server under every fake: ephemeral port, raw bodies, a count of requests still unanswered.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake received it; `body` is the exact text, as signatures are computed over it. */
export interface FakeRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type FakeHandler = (request: FakeRequest, response: ServerResponse) => void | Promise<void>;

/** An answer given instead of the fake's own: a scripted outage or refusal. */
export interface FakeAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Looks at every request before the fake does: an answer replaces the fake's (which then sees, counts and
 * changes nothing), undefined lets the fake answer. A soak scripts time-boxed outages and per-resource refusals
 * with it.
 */
export type FakeInterceptor = (request: FakeRequest) => FakeAnswer | undefined;

/** Options every fake accepts. */
export interface FakeServerOptions {
  readonly intercept?: FakeInterceptor;
}

export interface FakeHttpServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** Requests received and not answered yet (a test waits for one before advancing a manual clock). */
  readonly inFlight: number;
  /** Answers after `delayMs` of real time, unless the server closes first (then the request is dropped). */
  later(delayMs: number, answer: () => void): void;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 and an ephemeral port. A handler that throws answers 500 with the error's message;
 * `options.intercept` answers first when it wants to.
 */
export async function startFakeHttpServer(handler: FakeHandler, options: FakeServerOptions = {}): Promise<FakeHttpServer> {
  let inFlight = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    inFlight += 1;
    let counted = true;
    const done = (): void => {
      if (counted) inFlight -= 1;
      counted = false;
    };
    res.on('finish', done);
    res.on('close', done);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: FakeRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const intercepted = options.intercept?.(request);
      if (intercepted !== undefined) {
        res.writeHead(intercepted.status, { 'content-type': 'text/plain', ...intercepted.headers }).end(intercepted.body);
        return;
      }
      void Promise.resolve()
        .then(() => handler(request, res))
        .catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(error instanceof Error ? error.message : String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get inFlight() {
      return inFlight;
    },
    later(delayMs, answer) {
      if (delayMs <= 0) {
        answer();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delayMs);
      timers.add(timer);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers with a JSON body. */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Answers with a text body. */
export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  response.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(text);
}

/** The value of a header sent once. */
export function headerOf(request: FakeRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
