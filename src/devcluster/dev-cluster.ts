// The embedded Kubernetes API server: one process, node:http, in memory; started by `blackroad-operator dev` and by tests.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { sleep, systemClock, type Clock } from '../resilience/clock.ts';
import { ApiHandler } from './api-handler.ts';
import { Authenticator, bootstrapRbac, RbacAuthorizer, type AuthSettings, type RbacSource } from './auth.ts';
import { FaultInjector, type FailureRule, type FaultRequest } from './faults.ts';
import { child, isObject, type JsonObject } from './json.ts';
import { kubeconfigYaml, writeKubeconfig } from './kubeconfig.ts';
import { LifecycleControllers } from './lifecycle-controllers.ts';
import { ObjectService } from './object-service.ts';
import { OpenApiDocuments } from './openapi.ts';
import { ResourceRegistry } from './resource-registry.ts';
import { selfSignedCertificate, type TlsMaterial } from '../observability/self-signed-certificate.ts';
import { Store, type Subscriber } from './store.ts';
import { WatchHub } from './watch.ts';

export interface DevClusterOptions {
  /** Listen host; 127.0.0.1 by default. */
  readonly host?: string;
  /** Listen port; 0 (the default) picks a free one. */
  readonly port?: number;
  readonly auth?: AuthSettings;
  /** Events kept for watch resumes and continue tokens. */
  readonly historySize?: number;
  readonly bookmarkIntervalMs?: number;
  /** Port of the admin listener serving the fault API over HTTP; undefined turns it off, 0 picks a free one. */
  readonly adminPort?: number;
  /**
   * Serve HTTPS with a self-signed certificate (the default; kubectl sends bearer tokens only over TLS).
   * The certificate goes into the kubeconfig as the cluster's authority.
   */
  readonly tls?: boolean;
  /** Time of timestamps, watch timeouts and bookmarks, injected latency and restarts; the system clock by default. */
  readonly clock?: Clock;
  /** Called with unexpected errors (a bug in the server); the server keeps serving. */
  readonly onError?: (error: unknown) => void;
  /** Hears every authorized resource request before injected faults and handling (a soak counts writes with it). */
  readonly onRequest?: (request: FaultRequest) => void;
}

interface State {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  readonly objects: ObjectService;
  readonly controllers: LifecycleControllers;
  readonly watches: WatchHub;
  readonly openapi: OpenApiDocuments;
  readonly handler: ApiHandler;
}

const RBAC_BUCKETS = ['rbac.authorization.k8s.io/roles', 'rbac.authorization.k8s.io/clusterroles', 'rbac.authorization.k8s.io/rolebindings', 'rbac.authorization.k8s.io/clusterrolebindings'];

/** RBAC objects parsed once per change of the RBAC buckets, not once per request. */
class CachedRbacSource implements RbacSource {
  readonly #store: Store;
  #version = -1;
  #cache = new Map<string, JsonObject[]>();

  constructor(store: Store) {
    this.#store = store;
    for (const bucket of RBAC_BUCKETS) store.subscribe(bucket, () => (this.#version = -1));
  }

  #objects(bucket: string, namespace?: string): JsonObject[] {
    if (this.#version !== 0) {
      this.#cache = new Map();
      this.#version = 0;
    }
    const key = `${bucket}|${namespace ?? ''}`;
    let objects = this.#cache.get(key);
    if (objects === undefined) {
      objects = this.#store.list(bucket, namespace).map((stored) => JSON.parse(stored.json) as JsonObject);
      this.#cache.set(key, objects);
    }
    return objects;
  }

  clusterRoles(): JsonObject[] {
    return this.#objects('rbac.authorization.k8s.io/clusterroles');
  }
  roles(namespace: string): JsonObject[] {
    return this.#objects('rbac.authorization.k8s.io/roles', namespace);
  }
  clusterRoleBindings(): JsonObject[] {
    return this.#objects('rbac.authorization.k8s.io/clusterrolebindings');
  }
  roleBindings(namespace: string): JsonObject[] {
    return this.#objects('rbac.authorization.k8s.io/rolebindings', namespace);
  }
}

/**
 * A running devcluster.
 *
 * Guarantees: `url` answers like kube-apiserver v1.32 for the resources in ADR 003; `stop()` closes every
 * connection including watches; `faults.restart()` comes back on the same port.
 */
export class DevCluster {
  readonly faults: FaultInjector;
  readonly #options: DevClusterOptions;
  readonly #authenticator: Authenticator;
  #state: State;
  #server: Server | undefined;
  #admin: Server | undefined;
  #port: number;
  #adminPort: number | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #tls: TlsMaterial | undefined;
  /** The token of the kubeconfig's user: a cluster admin (kubectl asks for a password when a user has no credential). */
  readonly adminToken: string;

  private constructor(options: DevClusterOptions) {
    this.#options = options;
    this.#tls = options.tls === false ? undefined : selfSignedCertificate();
    this.#port = options.port ?? 0;
    this.adminToken = randomBytes(18).toString('base64url');
    this.#authenticator = new Authenticator([...(options.auth?.tokens ?? []), { token: this.adminToken, user: 'devcluster-admin', groups: ['system:masters'] }]);
    this.faults = new FaultInjector({
      closeWatches: () => this.#state.watches.closeAll(),
      compactHistory: () => this.#state.store.compact(),
      restart: (restart) => this.restart(restart),
    });
    this.#state = this.#createState(undefined);
  }

  /** Starts a devcluster and resolves once it accepts requests. */
  static async start(options: DevClusterOptions = {}): Promise<DevCluster> {
    const cluster = new DevCluster(options);
    await cluster.#listen();
    if (options.adminPort !== undefined) await cluster.#listenAdmin(options.adminPort);
    return cluster;
  }

  #createState(kept: Store | undefined): State {
    const clock = this.#options.clock ?? systemClock;
    const now = (): number => clock.now();
    const store = kept ?? new Store({ ...(this.#options.historySize === undefined ? {} : { historySize: this.#options.historySize }) });
    const registry = new ResourceRegistry();
    const objects = new ObjectService(store, registry, now);
    const controllers = new LifecycleControllers(store, objects, registry, now);
    const watches = new WatchHub(store, objects, { clock, bookmarkIntervalMs: this.#options.bookmarkIntervalMs ?? 60_000, defaultTimeoutMs: 30 * 60_000, maxBufferedBytes: 16 * 1024 * 1024, slowWatcherGraceMs: 5000 });
    const openapi = new OpenApiDocuments(registry, (type) => {
      const crd = store.list('apiextensions.k8s.io/customresourcedefinitions').find((stored) => stored.name === `${type.plural}.${type.group}`);
      if (crd === undefined) return undefined;
      const versions = child(JSON.parse(crd.json) as JsonObject, 'spec')?.['versions'];
      const version = Array.isArray(versions) ? versions.find((v) => isObject(v) && v['name'] === type.version) : undefined;
      return isObject(version) ? child(child(version, 'schema'), 'openAPIV3Schema') : undefined;
    });
    const authorizer = this.#options.auth?.rbac === true ? new RbacAuthorizer(new CachedRbacSource(store)) : undefined;
    const handler = new ApiHandler({
      store,
      registry,
      objects,
      watches,
      openapi,
      authenticator: this.#authenticator,
      authorizer,
      faults: this.faults,
      clock,
      serverAddress: () => `127.0.0.1:${this.#port}`,
      now,
      onError: (error) => this.#options.onError?.(error),
      ...(this.#options.onRequest === undefined ? {} : { onRequest: this.#options.onRequest }),
    });
    if (kept === undefined) {
      const nsType = registry.find('', 'v1', 'namespaces');
      for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) if (nsType !== undefined) objects.bootstrap(nsType, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      const { clusterRoles, clusterRoleBindings } = bootstrapRbac();
      const roleType = registry.find('rbac.authorization.k8s.io', 'v1', 'clusterroles');
      const bindingType = registry.find('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings');
      for (const role of clusterRoles) if (roleType !== undefined) objects.bootstrap(roleType, role);
      for (const binding of clusterRoleBindings) if (bindingType !== undefined) objects.bootstrap(bindingType, binding);
    }
    controllers.start();
    return { store, registry, objects, controllers, watches, openapi, handler };
  }

  async #listen(): Promise<void> {
    const handle = (req: IncomingMessage, res: ServerResponse): void => this.#state.handler.handle(req, res);
    const server: Server = this.#tls === undefined ? createServer({ keepAlive: true }, handle) : createTlsServer({ keepAlive: true, key: this.#tls.key, cert: this.#tls.cert }, handle);
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A broken or malformed client connection is answered (when possible) and dropped, never fatal.
    server.on('clientError', (_error, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    server.on('tlsClientError', (_error, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.#options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async #listenAdmin(port: number): Promise<void> {
    const admin = createServer((req, res) => void this.#handleAdmin(req, res));
    await new Promise<void>((resolve, reject) => {
      admin.once('error', reject);
      admin.listen(port, this.#options.host ?? '127.0.0.1', () => resolve());
    });
    this.#adminPort = (admin.address() as AddressInfo).port;
    this.#admin = admin;
  }

  async #handleAdmin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: JsonObject = {};
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      const parsed: unknown = text === '' ? {} : JSON.parse(text);
      if (isObject(parsed)) body = parsed;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"body must be JSON"}');
      return;
    }
    const reply = (value: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const route = `${req.method ?? 'GET'} ${(req.url ?? '').split('?')[0] ?? ''}`;
    try {
      switch (route) {
        case 'GET /devcluster/faults':
          return reply({ latencyMs: this.faults.latencyMs, failures: this.faults.pending() });
        case 'POST /devcluster/faults/close-watches':
          return reply({ closed: this.faults.closeWatches() });
        case 'POST /devcluster/faults/fail':
          this.faults.failNext(body as unknown as FailureRule);
          return reply({ failures: this.faults.pending() });
        case 'POST /devcluster/faults/latency':
          this.faults.setLatency(Number(body['latencyMs'] ?? 0));
          return reply({ latencyMs: this.faults.latencyMs });
        case 'POST /devcluster/faults/compact':
          this.faults.compactHistory();
          return reply({ compacted: true });
        case 'POST /devcluster/faults/reset':
          this.faults.reset();
          return reply({ reset: true });
        case 'POST /devcluster/faults/restart':
          await this.faults.restart({ keepState: body['keepState'] !== false, ...(typeof body['downMs'] === 'number' ? { downMs: body['downMs'] } : {}) });
          return reply({ restarted: true, port: this.#port });
        default:
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      }
    } catch (error) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
    }
  }

  /** `https://127.0.0.1:<port>` (`http://` with `tls: false`). */
  get url(): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}`;
  }

  /** The PEM certificate clients should trust, or undefined without TLS. */
  get certificateAuthority(): string | undefined {
    return this.#tls?.cert;
  }

  get port(): number {
    return this.#port;
  }

  /** The admin listener (`/devcluster/faults/...`), when enabled. */
  get adminUrl(): string | undefined {
    return this.#adminPort === undefined ? undefined : `http://127.0.0.1:${this.#adminPort}`;
  }

  /**
   * Hears every committed change of a storage bucket (`<group>/<plural>`, `/<plural>` for the core group, `*` for
   * all), synchronously and in commit order, across restarts that keep state. Returns the unsubscribe function.
   */
  subscribe(bucket: string, subscriber: Subscriber): () => void {
    return this.#state.store.subscribe(bucket, subscriber);
  }

  /** Open watch streams (for tests of the server itself). */
  get openWatches(): number {
    return this.#state.watches.size;
  }

  /** A kubeconfig YAML for this cluster; its user is the cluster admin unless another token is given. */
  kubeconfig(options: { token?: string; namespace?: string } = {}): string {
    return kubeconfigYaml({ server: this.url, token: this.adminToken, ...(this.#tls === undefined ? {} : { certificateAuthority: this.#tls.cert }), ...options });
  }

  /** Writes {@link DevCluster.kubeconfig} to `path`. */
  writeKubeconfig(path: string, options: { token?: string; namespace?: string } = {}): void {
    writeKubeconfig(path, { server: this.url, token: this.adminToken, ...(this.#tls === undefined ? {} : { certificateAuthority: this.#tls.cert }), ...options });
  }

  async #closeServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    this.#state.watches.closeAll();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** Stops listening and drops every connection, then starts again on the same port. */
  async restart(options: { keepState: boolean; downMs?: number }): Promise<void> {
    await this.#closeServer();
    this.#state.controllers.stop();
    if (options.downMs !== undefined && options.downMs > 0) await sleep(this.#options.clock ?? systemClock, options.downMs);
    this.#state = this.#createState(options.keepState ? this.#state.store : undefined);
    await this.#listen();
  }

  /** Stops the server and its admin listener. */
  async stop(): Promise<void> {
    await this.#closeServer();
    this.#state.controllers.stop();
    const admin = this.#admin;
    this.#admin = undefined;
    if (admin !== undefined) {
      const closed = new Promise<void>((resolve) => admin.close(() => resolve()));
      admin.closeAllConnections();
      await closed;
    }
  }
}
