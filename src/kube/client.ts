// The typed Kubernetes API client: REST verbs and streaming watches over kubeconfig auth and TLS.
//
// Kubeconfig files and in-cluster service accounts are read by kubeconfig.ts; client-node's authenticators
// serve exec plugins and auth providers, loaded only when a kubeconfig uses them. The HTTP exchange is ours,
// over node:http(s) with a keep-alive agent, so watches stream without the informer's limits and every
// failure becomes a typed error (errors.ts).
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { sleep, systemClock, type Clock } from '../resilience/clock.ts';
import { apiErrorFromResponse, apiErrorFromStatus, isApiError, isGone, KubeConfigError, TransportError, type StatusBody } from './errors.ts';
import { isStatus, type KubeObject, type ObjectList, type WatchEvent } from './kube-object.ts';
import { inClusterConfig, readKubeConfig, type ClusterConfig, type InClusterSettings, type KubeContextConfig, type UserConfig } from './kubeconfig.ts';
import { apiVersionOf, collectionPath, objectPath, resourceName, type ResourceDescriptor } from './resource-descriptor.ts';

export type { KubeObject, ObjectList, ObjectMeta, OwnerReference, WatchEvent } from './kube-object.ts';
export { isStatus, objectKey, parseObjectKey } from './kube-object.ts';
export type { ResourceDescriptor } from './resource-descriptor.ts';
export { apiVersionOf, builtinResources, resourceName } from './resource-descriptor.ts';
export type { InClusterSettings, KubeContextConfig } from './kubeconfig.ts';

export interface KubeClientOptions {
  /** Where `rest_client_requests_total{code,method,host}` is registered; no metrics without one. */
  readonly registry?: Registry;
  readonly clock?: Clock;
  /** Sent as `User-Agent`; the API server derives the default field manager from the part before `/`. */
  readonly userAgent?: string;
  /** `fieldManager` of every write unless the call names one. */
  readonly fieldManager?: string;
  /** Deadline of each non-watch request, including reading the answer. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Times a 429, or a 5xx with `Retry-After`, is retried after the wait the server asked for (client-go: 10). */
  readonly maxRetries?: number;
  /** How long credentials from token files, exec plugins and auth providers are reused before being read again. Default 10 s. */
  readonly credentialTtlMs?: number;
}

interface CallOptions {
  readonly signal?: AbortSignal;
}

interface WriteOptions extends CallOptions {
  readonly fieldManager?: string;
  readonly dryRun?: boolean;
  /** `Strict` rejects unknown fields (kubectl's default); the server's default is `Warn`. */
  readonly fieldValidation?: 'Ignore' | 'Warn' | 'Strict';
}

export interface GetOptions extends CallOptions {
  readonly namespace?: string;
  readonly subresource?: string;
}

export interface ListOptions extends CallOptions {
  /** Empty or undefined lists across all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Page size; `listAll` defaults it to 500 like client-go's pager. */
  readonly limit?: number;
  readonly continue?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface WatchOptions extends CallOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  /** The server ends the watch cleanly after this long. */
  readonly timeoutSeconds?: number;
}

export interface CreateOptions extends WriteOptions {
  /** Defaults to `metadata.namespace` of the object. */
  readonly namespace?: string;
}

export interface ReplaceOptions extends WriteOptions {
  readonly subresource?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

export interface PatchOptions extends WriteOptions {
  readonly namespace?: string;
  /** `merge` (RFC 7386) by default. Custom resources do not support `strategic` (415). */
  readonly type?: PatchType;
  readonly subresource?: string;
  /** Server-side apply only: take fields other managers own. */
  readonly force?: boolean;
}

export interface DeleteOptions extends CallOptions {
  readonly namespace?: string;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /** The delete fails with 409 unless the object still has this uid / resourceVersion. */
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly gracePeriodSeconds?: number;
  readonly dryRun?: boolean;
}

export interface RequestOptions extends CallOptions {
  readonly method: string;
  /** Absolute path on the API server, e.g. `/apis/apps/v1/namespaces/ns/deployments`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** Serialized as JSON unless it is already a string. */
  readonly body?: unknown;
  readonly contentType?: string;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_RETRIES = 10;
const DEFAULT_CREDENTIAL_TTL_MS = 10_000;

/** The pieces of a kubeconfig the client uses: the server, TLS material and a source of request headers. */
interface Endpoint {
  readonly server: URL;
  readonly agent: http.Agent;
  /** Authorization (and impersonation) headers; `refresh` forces new credentials (after a 401). */
  readonly headers: (refresh: boolean) => Promise<Record<string, string>>;
  /** Whether credentials can change (token file, exec plugin, auth provider), so a 401 is worth one retry. */
  readonly dynamicCredentials: boolean;
  /** The context's namespace. */
  readonly namespace: string | undefined;
}

function pem(file: string | undefined, base64: string | undefined): Buffer | undefined {
  if (file !== undefined) return readFileSync(file);
  return base64 === undefined ? undefined : Buffer.from(base64, 'base64');
}

function tlsOptions(cluster: ClusterConfig, user: UserConfig): https.AgentOptions {
  const options: { -readonly [K in keyof https.AgentOptions]: https.AgentOptions[K] } = {};
  const ca = pem(cluster.caFile, cluster.caData);
  if (ca !== undefined) options.ca = ca;
  const cert = pem(user.certFile, user.certData);
  if (cert !== undefined) options.cert = cert;
  const key = pem(user.keyFile, user.keyData);
  if (key !== undefined) options.key = key;
  if (cluster.skipTLSVerify) options.rejectUnauthorized = false;
  if (cluster.tlsServerName !== undefined) options.servername = cluster.tlsServerName;
  return options;
}

/** Headers from client-node's authenticators: exec plugins (light module) and auth providers (whole package, loaded only then). */
async function pluginHeaders(cluster: ClusterConfig, user: UserConfig, fresh: boolean, cache: { exec?: { applyAuthentication(user: never, opts: https.RequestOptions): Promise<void> } }): Promise<Record<string, string>> {
  const scratch: https.RequestOptions = { headers: {} };
  if (user.exec !== undefined) {
    if (cache.exec === undefined || fresh) {
      const { ExecAuth } = await import('@kubernetes/client-node/dist/exec_auth.js');
      cache.exec = new ExecAuth();
    }
    await cache.exec.applyAuthentication(user as never, scratch);
  } else {
    const { KubeConfig: Config } = await import('@kubernetes/client-node');
    const config = new Config();
    // Only headers are wanted here; verification off keeps client-node from refusing plain-HTTP servers.
    config.loadFromOptions({ clusters: [{ ...cluster, skipTLSVerify: true }], users: [user], contexts: [{ name: 'current', cluster: cluster.name, user: user.name }], currentContext: 'current' });
    await config.applyToHTTPSOptions(scratch);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(scratch.headers ?? {})) if (value !== undefined) headers[name.toLowerCase()] = String(value);
  return headers;
}

function endpointFromContext(context: KubeContextConfig, clock: Clock, credentialTtlMs: number): Endpoint {
  const { cluster, user } = context;
  if (cluster.proxyUrl !== undefined) throw new KubeConfigError(`cluster "${cluster.name}": proxy-url is not supported`);
  const server = new URL(cluster.server);
  const agent = server.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...tlsOptions(cluster, user) }) : new http.Agent({ keepAlive: true });
  const providerTokenFile = user.authProvider?.['name'] === 'tokenFile' ? ((user.authProvider['config'] as { tokenFile?: string } | undefined)?.tokenFile) : undefined;
  const tokenFile = user.tokenFile ?? providerTokenFile;
  const plugin = user.exec !== undefined || (user.authProvider !== undefined && providerTokenFile === undefined);
  const dynamicCredentials = tokenFile !== undefined || plugin;
  const pluginCache = {};
  let cached: { headers: Record<string, string>; atMs: number } | undefined;
  const headers = async (refresh: boolean): Promise<Record<string, string>> => {
    if (cached !== undefined && !refresh && (!dynamicCredentials || clock.now() - cached.atMs < credentialTtlMs)) return cached.headers;
    const result: Record<string, string> = {};
    if (user.impersonateUser !== undefined) result['impersonate-user'] = user.impersonateUser;
    if (user.token !== undefined) result['authorization'] = `Bearer ${user.token}`;
    else if (tokenFile !== undefined) result['authorization'] = `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`;
    else if (user.username !== undefined) result['authorization'] = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    if (plugin) Object.assign(result, await pluginHeaders(cluster, user, refresh, pluginCache));
    cached = { headers: result, atMs: clock.now() };
    return result;
  };
  return { server, agent, headers, dynamicCredentials, namespace: context.namespace };
}

/** The current context of a client-node `KubeConfig`, without loading anything of client-node. */
function contextOfKubeConfig(kubeConfig: KubeConfig): KubeContextConfig {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new KubeConfigError('the kubeconfig has no current cluster');
  const user = kubeConfig.getCurrentUser() ?? { name: '' };
  const namespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  const strip = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined && field !== null)) as T;
  return { cluster: strip({ ...cluster }) as ClusterConfig, user: strip({ ...user }) as UserConfig, ...(namespace === undefined ? {} : { namespace }) };
}

function requestCounter(registry: Registry): Counter<'code' | 'method' | 'host'> {
  const existing = registry.getSingleMetric('rest_client_requests_total');
  if (existing !== undefined) return existing as Counter<'code' | 'method' | 'host'>;
  return new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'],
    registers: [registry],
  });
}

function buildQuery(query: RequestOptions['query']): string {
  if (query === undefined) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/**
 * The whole answer as text. Chunks are decoded as they arrive rather than kept and joined at the end: a list page
 * is half a megabyte in 64 KiB buffers, and buffers held until the end outlive the young generation, so their
 * memory waits for a full collection and stays in malloc's arenas long after the page has been decoded.
 */
function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => resolve(text));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('response aborted')));
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TransportError('the API server answered with malformed JSON', { cause: error });
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Combines the caller's signal with a deadline on the injected clock. `dispose` must be called when done. */
function deadline(clock: Clock, timeoutMs: number | undefined, signal: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted === true) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer = timeoutMs === undefined ? undefined : clock.setTimeout(() => controller.abort(new TransportError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return {
    signal: controller.signal,
    dispose: () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

function transportError(error: unknown, signal: AbortSignal): TransportError {
  if (error instanceof TransportError) return error;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof TransportError ? reason : new TransportError('request aborted', { cause: reason });
  }
  return new TransportError(error instanceof Error ? error.message : 'request failed', { cause: error });
}

/**
 * A Kubernetes API client for any resource type named by a {@link ResourceDescriptor}.
 *
 * Guarantees: every failure is a typed error from `errors.ts` (`ApiError` subclasses for HTTP error answers,
 * `TransportError` when no answer came, including deadlines and aborts); a 429, or a 5xx with `Retry-After`,
 * is retried after the wait the server asked for, up to `maxRetries` times; a 401 with credentials that can
 * change (exec plugin, token file) is retried once with fresh credentials. Each attempt counts in
 * `rest_client_requests_total` (code `<error>` when no answer came, as in client-go).
 */
export class KubeClient {
  readonly #endpoint: Endpoint;
  readonly #clock: Clock;
  readonly #userAgent: string;
  readonly #fieldManager: string | undefined;
  readonly #timeoutMs: number;
  readonly #maxRetries: number;
  readonly #requests: Counter<'code' | 'method' | 'host'> | undefined;
  readonly #host: string;

  /** A client for a resolved kubeconfig context (see `kubeconfig.ts`). */
  static fromContext(context: KubeContextConfig, options: KubeClientOptions = {}): KubeClient {
    const clock = options.clock ?? systemClock;
    return new KubeClient(endpointFromContext(context, clock, options.credentialTtlMs ?? DEFAULT_CREDENTIAL_TTL_MS), options);
  }

  /** A client for the current context (or `context`) of the kubeconfig file at `path`. */
  static fromFile(path: string, options: KubeClientOptions & { readonly context?: string } = {}): KubeClient {
    return KubeClient.fromContext(readKubeConfig(path, options.context), options);
  }

  /** A client for the pod's service account. */
  static inCluster(settings: InClusterSettings, options: KubeClientOptions = {}): KubeClient {
    return KubeClient.fromContext(inClusterConfig(settings), options);
  }

  /** A client for the current context of a client-node `KubeConfig` (loaded from a file, in-cluster, or built in code). */
  static fromKubeConfig(kubeConfig: KubeConfig, options: KubeClientOptions = {}): KubeClient {
    return KubeClient.fromContext(contextOfKubeConfig(kubeConfig), options);
  }

  private constructor(endpoint: Endpoint, options: KubeClientOptions) {
    this.#endpoint = endpoint;
    this.#clock = options.clock ?? systemClock;
    this.#userAgent = options.userAgent ?? 'blackroad-operator/0.1.0';
    this.#fieldManager = options.fieldManager;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.#requests = options.registry === undefined ? undefined : requestCounter(options.registry);
    this.#host = endpoint.server.host;
  }

  /** The API server's base URL. */
  get server(): string {
    return this.#endpoint.server.origin;
  }

  /** The namespace of the kubeconfig context (in-cluster: the pod's), if it names one. */
  get namespace(): string | undefined {
    return this.#endpoint.namespace;
  }

  async get<T extends KubeObject>(resource: ResourceDescriptor, name: string, options: GetOptions = {}): Promise<T> {
    return (await this.request({ method: 'GET', path: objectPath(resource, name, options.namespace, options.subresource), ...signalOf(options) })) as T;
  }

  /** One page of a list; follow `metadata.continue` for the next, or use {@link KubeClient.listAll}. */
  async list<T extends KubeObject>(resource: ResourceDescriptor, options: ListOptions = {}): Promise<ObjectList<T>> {
    return (await this.request({
      method: 'GET',
      path: collectionPath(resource, options.namespace),
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
      },
      ...signalOf(options),
    })) as ObjectList<T>;
  }

  /**
   * Every page of a list (500 objects per page unless `limit` says otherwise), as one list with the
   * `resourceVersion` of the snapshot. Like client-go's pager, when a continue token expires (410) it falls
   * back to one unpaginated list, so the result is always one consistent snapshot.
   */
  async listAll<T extends KubeObject>(resource: ResourceDescriptor, options: ListOptions = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let page = await this.list<T>(resource, { limit: 500, ...options });
    const first = page;
    items.push(...page.items);
    while (page.metadata.continue !== undefined && page.metadata.continue !== '') {
      try {
        page = await this.list<T>(resource, { limit: 500, ...options, continue: page.metadata.continue });
      } catch (error) {
        if (!isGone(error)) throw error;
        const { limit: _limit, continue: _continue, ...unpaginated } = options;
        return this.list<T>(resource, unpaginated);
      }
      items.push(...page.items);
    }
    const { continue: _continue, remainingItemCount: _remaining, ...metadata } = first.metadata;
    return { ...first, metadata, items };
  }

  async create<T extends KubeObject>(resource: ResourceDescriptor, object: T, options: CreateOptions = {}): Promise<T> {
    const namespace = options.namespace ?? object.metadata.namespace;
    return (await this.request({
      method: 'POST',
      path: collectionPath(resource, namespace),
      query: this.#writeQuery(options),
      body: { apiVersion: apiVersionOf(resource), kind: resource.kind, ...object },
      ...signalOf(options),
    })) as T;
  }

  /** PUT of the whole object (optimistic concurrency through `metadata.resourceVersion`: 409 when stale). */
  async replace<T extends KubeObject>(resource: ResourceDescriptor, object: T, options: ReplaceOptions = {}): Promise<T> {
    const name = object.metadata.name ?? '';
    return (await this.request({
      method: 'PUT',
      path: objectPath(resource, name, object.metadata.namespace, options.subresource),
      query: this.#writeQuery(options),
      body: { apiVersion: apiVersionOf(resource), kind: resource.kind, ...object },
      ...signalOf(options),
    })) as T;
  }

  /** PATCH of one object or subresource; `patch` is the document of the chosen type (a JSON patch is an array). */
  async patch<T extends KubeObject>(resource: ResourceDescriptor, name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    const type = options.type ?? 'merge';
    const fieldManager = options.fieldManager ?? this.#fieldManager;
    if (type === 'apply' && fieldManager === undefined) throw new TypeError('server-side apply needs a fieldManager');
    return (await this.request({
      method: 'PATCH',
      path: objectPath(resource, name, options.namespace, options.subresource),
      query: { ...this.#writeQuery(options), force: type === 'apply' && options.force === true ? true : undefined },
      body: patch,
      contentType: PATCH_CONTENT_TYPES[type],
      ...signalOf(options),
    })) as T;
  }

  /**
   * DELETE of one object. Answers with the object while finalizers (or foreground deletion) hold it, and with a
   * `Status` once it is gone (see {@link isStatus}).
   */
  async delete<T extends KubeObject>(resource: ResourceDescriptor, name: string, options: DeleteOptions = {}): Promise<T | StatusBody> {
    const body = {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      ...(options.propagationPolicy === undefined ? {} : { propagationPolicy: options.propagationPolicy }),
      ...(options.preconditions === undefined ? {} : { preconditions: options.preconditions }),
      ...(options.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: options.gracePeriodSeconds }),
      ...(options.dryRun === true ? { dryRun: ['All'] } : {}),
    };
    const answer = await this.request({ method: 'DELETE', path: objectPath(resource, name, options.namespace), body, ...signalOf(options) });
    return isStatus(answer) ? answer : (answer as T);
  }

  /**
   * Starts a watch and resolves once the server has accepted it (so 403, 404 and a 410 answered before the
   * stream are thrown here). The returned iterator yields events as they arrive and:
   * - throws the typed error of an `ERROR` event (410 Gone for a too-old `resourceVersion`) and ends;
   * - throws a `TransportError` when the connection breaks or a line is not JSON;
   * - ends normally when the server closes the stream (`timeoutSeconds`) or `signal` aborts.
   * Breaking out of the loop closes the connection.
   */
  async watch<T extends KubeObject>(resource: ResourceDescriptor, options: WatchOptions = {}): Promise<AsyncIterableIterator<WatchEvent<T>>> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(options.signal?.reason);
    if (options.signal?.aborted === true) controller.abort(options.signal.reason);
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.#exchange(
        {
          method: 'GET',
          path: collectionPath(resource, options.namespace),
          query: {
            watch: true,
            resourceVersion: options.resourceVersion,
            allowWatchBookmarks: options.allowWatchBookmarks === true ? true : undefined,
            timeoutSeconds: options.timeoutSeconds,
            labelSelector: options.labelSelector,
            fieldSelector: options.fieldSelector,
          },
        },
        controller.signal,
      );
      return new WatchEventStream<T>(response, controller, () => options.signal?.removeEventListener('abort', onAbort), resourceName(resource));
    } catch (error) {
      options.signal?.removeEventListener('abort', onAbort);
      throw error;
    }
  }

  /**
   * Any request to the API server; resolves with the parsed JSON answer (or the text when it is not JSON).
   * Error answers become typed errors as for every other call.
   */
  async request(options: RequestOptions): Promise<unknown> {
    const { signal, dispose } = deadline(this.#clock, this.#timeoutMs, options.signal);
    try {
      const response = await this.#exchange(options, signal);
      let text: string;
      try {
        text = await readBody(response);
      } catch (error) {
        throw transportError(error, signal);
      }
      const contentType = headerValue(response.headers, 'content-type') ?? '';
      return contentType.includes('json') || contentType === '' ? parseJson(text) : text;
    } finally {
      dispose();
    }
  }

  /** Closes idle keep-alive connections (open watches end through their signals). */
  close(): void {
    this.#endpoint.agent.destroy();
  }

  #writeQuery(options: WriteOptions): Record<string, string | boolean | undefined> {
    return {
      fieldManager: options.fieldManager ?? this.#fieldManager,
      dryRun: options.dryRun === true ? 'All' : undefined,
      fieldValidation: options.fieldValidation,
    };
  }

  /** Sends one request (with the retries the class documents) and resolves with a 2xx response whose body is unread. */
  async #exchange(options: RequestOptions, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(`${options.path}${buildQuery(options.query)}`, this.#endpoint.server);
    const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    let refreshed = false;
    let refreshNow = false;
    for (let attempt = 0; ; attempt += 1) {
      const headers: Record<string, string> = {
        ...(await this.#endpoint.headers(refreshNow)),
        accept: 'application/json',
        'user-agent': this.#userAgent,
      };
      if (body !== undefined) {
        headers['content-type'] = options.contentType ?? 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      let response: IncomingMessage;
      try {
        response = await this.#send(url, options.method, headers, body, signal);
      } catch (error) {
        this.#count('<error>', options.method);
        throw transportError(error, signal);
      }
      const status = response.statusCode ?? 0;
      this.#count(String(status), options.method);
      if (status < 400) return response;

      let text: string;
      try {
        text = await readBody(response);
      } catch (error) {
        throw transportError(error, signal);
      }
      refreshNow = false;
      if (status === 401 && this.#endpoint.dynamicCredentials && !refreshed) {
        refreshed = true;
        refreshNow = true;
        continue;
      }
      const retryAfter = headerValue(response.headers, 'retry-after');
      const error = apiErrorFromResponse(status, text, retryAfter);
      const retryable = status === 429 || (status >= 500 && retryAfter !== undefined);
      if (!retryable || attempt >= this.#maxRetries) throw error;
      try {
        await sleep(this.#clock, error.retryAfterMs ?? 1000, signal);
      } catch (abort) {
        throw transportError(abort, signal);
      }
    }
  }

  #send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? https.request : http.request;
      const request = send(url, { method, headers, agent: this.#endpoint.agent, signal }, resolve);
      request.on('error', reject);
      request.end(body);
    });
  }

  #count(code: string, method: string): void {
    this.#requests?.inc({ code, method, host: this.#host });
  }
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal === undefined ? {} : { signal: options.signal };
}

function parseWatchLine<T extends KubeObject>(line: string, resource: string): WatchEvent<T> {
  let event: { type?: unknown; object?: unknown };
  try {
    event = JSON.parse(line) as { type?: unknown; object?: unknown };
  } catch (error) {
    throw new TransportError(`malformed watch event from ${resource}`, { cause: error });
  }
  if (event.type === 'ERROR') {
    const status = (event.object ?? {}) as StatusBody;
    throw apiErrorFromStatus(status.code ?? 500, status);
  }
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED' && event.type !== 'BOOKMARK') {
    throw new TransportError(`unknown watch event type ${JSON.stringify(event.type)} from ${resource}`);
  }
  if (typeof event.object !== 'object' || event.object === null) throw new TransportError(`watch event without an object from ${resource}`);
  return event as WatchEvent<T>;
}

/** Events a watch holds parsed but not yet taken before it stops reading from the socket. */
const MAX_QUEUED_WATCH_EVENTS = 1024;

/**
 * The events of one watch response, parsed as chunks arrive and handed out in order.
 *
 * A hand-written iterator rather than an async generator over the response's own iterator: it costs no promise
 * or tick per chunk, and an operator receives one event for every write it makes. It stops reading while
 * {@link MAX_QUEUED_WATCH_EVENTS} wait. Ends as {@link KubeClient.watch} documents: a typed error after the events
 * before it, quietly (dropping what is queued) once the watch's signal aborts, and `return()` (a `break`) closes the
 * connection.
 */
class WatchEventStream<T extends KubeObject> implements AsyncIterableIterator<WatchEvent<T>> {
  readonly #response: IncomingMessage;
  readonly #controller: AbortController;
  readonly #release: () => void;
  readonly #resource: string;
  #queue: (WatchEvent<T> | undefined)[] = [];
  #head = 0;
  #partial = '';
  #ended = false;
  #failed = false;
  #failure: unknown;
  #closed = false;
  #waiter: { resolve: (result: IteratorResult<WatchEvent<T>>) => void; reject: (error: unknown) => void } | undefined;
  /** Once the watch's signal aborts, events still queued are dropped and the iteration ends. */
  readonly #onAbort = (): void => {
    this.#queue = [];
    this.#head = 0;
    this.#finish();
  };

  constructor(response: IncomingMessage, controller: AbortController, release: () => void, resource: string) {
    this.#response = response;
    this.#controller = controller;
    this.#release = release;
    this.#resource = resource;
    controller.signal.addEventListener('abort', this.#onAbort, { once: true });
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.#receive(chunk));
    response.on('end', () => this.#receiveEnd());
    response.on('error', (error) => this.#fail(error));
    response.on('close', () => this.#fail(new Error('the connection closed before the stream ended')));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent<T>>> {
    if (this.#waiter !== undefined) return Promise.reject(new Error(`the watch of ${this.#resource} is already being read`));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#deliver();
    });
  }

  return(): Promise<IteratorResult<WatchEvent<T>>> {
    this.#finish();
    this.#close();
    return Promise.resolve({ value: undefined, done: true });
  }

  #receive(chunk: string): void {
    if (this.#ended) return;
    const text = this.#partial === '' ? chunk : this.#partial + chunk;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', start)) {
      const line = text.slice(start, newline);
      start = newline + 1;
      if (!this.#parse(line)) return;
    }
    this.#partial = start === 0 ? text : text.slice(start);
    if (this.#queue.length - this.#head >= MAX_QUEUED_WATCH_EVENTS) this.#response.pause();
    this.#deliver();
  }

  #receiveEnd(): void {
    if (this.#ended) return;
    if (!this.#parse(this.#partial)) return;
    this.#finish();
  }

  /** Queues the event on `line` (blank lines are skipped); false when the line ended the stream with an error. */
  #parse(line: string): boolean {
    if (line.trim() === '') return true;
    try {
      this.#queue.push(parseWatchLine<T>(line, this.#resource));
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    }
  }

  /** Ends the stream with `error` after the events already queued (quietly once the watch's signal aborted). */
  #fail(error: unknown): void {
    if (this.#ended) return;
    if (!this.#controller.signal.aborted) {
      this.#failed = true;
      this.#failure = error instanceof TransportError || isApiError(error) ? error : new TransportError(`watch stream of ${this.#resource} broke`, { cause: error });
    }
    this.#finish();
    this.#close();
  }

  /** No event comes after the ones queued. */
  #finish(): void {
    this.#ended = true;
    this.#deliver();
  }

  /** Answers a waiting `next()` if there is an answer. */
  #deliver(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    if (this.#head < this.#queue.length) {
      this.#waiter = undefined;
      waiter.resolve({ value: this.#take(), done: false });
    } else if (this.#failed) {
      this.#waiter = undefined;
      this.#failed = false;
      this.#close();
      waiter.reject(this.#failure);
    } else if (this.#ended) {
      this.#waiter = undefined;
      this.#close();
      waiter.resolve({ value: undefined, done: true });
    }
  }

  #take(): WatchEvent<T> {
    const event = this.#queue[this.#head] as WatchEvent<T>;
    this.#queue[this.#head] = undefined;
    this.#head += 1;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      if (this.#response.isPaused() && !this.#ended) this.#response.resume();
    } else if (this.#head >= MAX_QUEUED_WATCH_EVENTS) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return event;
  }

  /** Releases the caller's signal and the connection; once. */
  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller.signal.removeEventListener('abort', this.#onAbort);
    this.#release();
    if (!this.#response.complete) this.#controller.abort(new TransportError('watch closed by the client'));
    this.#response.destroy();
  }
}
