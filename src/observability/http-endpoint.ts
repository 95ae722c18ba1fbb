// A small node:http listener with exact-path routes, used for the metrics and the probe/admin addresses.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/config.ts';
import type { Logger } from './logger.ts';
import type { TlsMaterial } from './self-signed-certificate.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * Routes by exact path; unknown paths get 404 and methods other than GET/HEAD get 405 unless a route
 * accepts them. A handler that throws answers 500 and is logged; the listener keeps serving.
 */
export class HttpEndpoint {
  readonly #routes = new Map<string, { handler: RouteHandler; methods: readonly string[] }>();
  readonly #server: Server | TlsServer;
  readonly #tls: boolean;
  readonly #address: ListenAddress;
  readonly #logger: Logger;

  /** Serves HTTPS with `tls`, plain HTTP without. */
  constructor(address: ListenAddress, logger: Logger, tls?: TlsMaterial) {
    this.#address = address;
    this.#logger = logger;
    this.#tls = tls !== undefined;
    const handle = (req: IncomingMessage, res: ServerResponse): void => void this.#dispatch(req, res);
    this.#server = tls === undefined ? createServer(handle) : createTlsServer({ cert: tls.cert, key: tls.key }, handle);
    // Long-lived streams (Server-Sent Events) must not be cut by the default request timeout.
    this.#server.requestTimeout = 0;
  }

  route(path: string, handler: RouteHandler, methods: readonly string[] = ['GET', 'HEAD']): void {
    if (this.#routes.has(path)) throw new Error(`route ${path} is already registered`);
    this.#routes.set(path, { handler, methods });
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#address.port, this.#address.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.#server.address() as AddressInfo;
  }

  /** The base URL clients reach, e.g. `http://127.0.0.1:8081`. */
  url(): string {
    const bound = this.#server.address() as AddressInfo | null;
    if (bound === null) throw new Error('endpoint is not listening');
    const host = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address;
    return `${this.#tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound.port}`;
  }

  /** Serves `tls` to connections made from now on (a rotated certificate); an HTTP endpoint cannot start TLS. */
  setTls(tls: TlsMaterial): void {
    if (!this.#tls) throw new Error('endpoint serves plain HTTP');
    (this.#server as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key });
  }

  /** Stops accepting connections and closes open ones, including streaming responses. */
  async close(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = this.#routes.get(url.pathname);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (!route.methods.includes(req.method ?? 'GET')) {
      res.writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: route.methods.join(', ') }).end('method not allowed\n');
      return;
    }
    try {
      await route.handler(req, res, url);
    } catch (error) {
      this.#logger.error({ err: error, path: url.pathname }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    }
  }
}
