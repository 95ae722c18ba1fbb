// The HTTP surface of the devcluster: routing, authentication and RBAC, discovery, OpenAPI, and the REST verbs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sleep, type Clock } from '../resilience/clock.ts';
import { forbidden, serviceAccountUser, type Authenticator, type RbacAuthorizer, type RequestAttributes, type UserInfo } from './auth.ts';
import { aggregatedContentType, aggregatedDiscovery, aggregatedDiscoveryVersion, apiGroup, apiGroupList, apiResourceList, apiVersions } from './discovery.ts';
import type { FaultInjector, FaultRequest } from './faults.ts';
import { child, isObject, type Json, type JsonObject } from './json.ts';
import type { DeleteOptions, ObjectService, PropagationPolicy, WriteOptions } from './object-service.ts';
import { timestamp } from './object-service.ts';
import type { OpenApiDocuments } from './openapi.ts';
import { applyJsonPatch, applyMergePatch } from './patches.ts';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf-request.ts';
import { decodeObject, decodePatch, readBody } from './request-body.ts';
import { sliceOf } from './line-stream.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';
import { EVERYTHING, parseFieldSelector, parseLabelSelector, type Selector } from './selectors.ts';
import { StatusError, isStatusError, statusErrors } from './status-error.ts';
import type { Store, StoredObject } from './store.ts';
import { applyStrategicMergePatch } from './strategic-merge-patch.ts';
import { renderTable } from './table.ts';
import type { WatchHub } from './watch.ts';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.13',
  gitCommit: 'devcluster',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.5',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface ApiHandlerDependencies {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  readonly objects: ObjectService;
  readonly watches: WatchHub;
  readonly openapi: OpenApiDocuments;
  readonly authenticator: Authenticator;
  /** Absent: every request is allowed. */
  readonly authorizer: RbacAuthorizer | undefined;
  readonly faults: FaultInjector;
  /** Waits of injected latency. */
  readonly clock: Clock;
  readonly serverAddress: () => string;
  readonly now: () => number;
  readonly onError: (error: unknown) => void;
  /** Hears every resource request once it is authorized, before injected faults and handling. */
  readonly onRequest?: (request: FaultRequest) => void;
}

type Route =
  | { readonly kind: 'path'; readonly handler: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void }
  | { readonly kind: 'resource'; readonly group: string; readonly version: string; readonly namespace: string; readonly plural: string; readonly name: string; readonly subresource: string; readonly namespacedPath: boolean };

const TABLE_ACCEPT = /as=Table/;
const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

function sendJson(res: ServerResponse, code: number, body: string, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/**
 * Answers 200 with `head`, the items separated by commas, then `tail`, in writes of up to 64 Ki characters of
 * items. A list of 50,000 objects is never one 30 MB string: building it, flattening it and counting its UTF-8
 * bytes cost more than the objects' own work in a deletecollection.
 */
function sendList(res: ServerResponse, head: string, items: readonly string[], tail: string): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(head);
  for (let start = 0; start < items.length; ) {
    const { end } = sliceOf(items, start);
    const slice = items.slice(start, end);
    // A leading '' puts the comma after the previous slice into the join, so the written string stays flat.
    if (start > 0) slice.unshift('');
    res.write(slice.join(','));
    start = end;
  }
  res.end(tail);
}

function sendStatusError(res: ServerResponse, error: StatusError): void {
  const headers: Record<string, string> = { ...error.headers };
  if (error.code === 413) headers['connection'] = 'close';
  sendJson(res, error.code, JSON.stringify(error.toStatus()), headers);
}

function warningHeaders(warnings: readonly string[]): Record<string, string[]> {
  return warnings.length === 0 ? {} : { warning: warnings.map((text) => `299 - ${JSON.stringify(text)}`) };
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') throw new Error('bad token');
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw statusErrors.badRequest(`continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`);
  }
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString('base64url');
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` resource paths. */
function resourceRoute(group: string, version: string, segments: readonly string[]): Route | undefined {
  if (segments.length === 0) return undefined;
  const namespacedPath = segments[0] === 'namespaces' && segments.length >= 3 && !(segments.length === 3 && group === '' && (segments[2] === 'status' || segments[2] === 'finalize'));
  const [namespace, plural, name, subresource, extra] = namespacedPath ? [segments[1] ?? '', segments[2] ?? '', segments[3] ?? '', segments[4] ?? '', segments[5]] : ['', segments[0] ?? '', segments[1] ?? '', segments[2] ?? '', segments[3]];
  if (extra !== undefined) return undefined;
  return { kind: 'resource', group, version, namespace, plural, name, subresource, namespacedPath };
}

/**
 * Handles every API request. Errors become kube `Status` bodies; an unexpected exception is a 500 and
 * is reported to `onError`; the server keeps serving either way.
 */
export class ApiHandler {
  readonly #deps: ApiHandlerDependencies;

  constructor(deps: ApiHandlerDependencies) {
    this.#deps = deps;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.#handle(req, res).catch((error: unknown) => {
      if (isStatusError(error)) {
        sendStatusError(res, error);
        return;
      }
      this.#deps.onError(error);
      sendStatusError(res, statusErrors.internal(error instanceof Error ? error.message : String(error)));
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryIndex = rawUrl.indexOf('?');
    let path: string;
    try {
      path = decodeURIComponent(queryIndex < 0 ? rawUrl : rawUrl.slice(0, queryIndex)).replace(/\/+$/, '') || '/';
    } catch {
      throw statusErrors.badRequest(`invalid URL escape in ${JSON.stringify(rawUrl.slice(0, 200))}`);
    }
    const query = new URLSearchParams(queryIndex < 0 ? '' : rawUrl.slice(queryIndex + 1));
    const latency = this.#deps.faults.latencyMs;
    if (latency > 0) await sleep(this.#deps.clock, latency);
    const user = this.#deps.authenticator.authenticate(req.headers.authorization);
    const route = this.#route(path);
    const method = req.method ?? 'GET';
    if (route === undefined || route.kind === 'path') {
      this.#authorize(user, { kind: 'path', verb: method.toLowerCase(), path });
      if (route === undefined) throw statusErrors.pathNotFound();
      if (method !== 'GET' && method !== 'HEAD') throw statusErrors.methodNotAllowed('GET');
      route.handler(req, res, query);
      return;
    }
    await this.#resource(req, res, route, query, user, method);
  }

  #authorize(user: UserInfo, attributes: RequestAttributes): void {
    const authorizer = this.#deps.authorizer;
    if (authorizer !== undefined && !authorizer.allows(user, attributes)) throw forbidden(user, attributes);
  }

  #route(path: string): Route | undefined {
    const deps = this.#deps;
    const json = (body: JsonObject | string): Route => ({ kind: 'path', handler: (_req, res) => sendJson(res, 200, typeof body === 'string' ? body : JSON.stringify(body)) });
    switch (path) {
      case '/version':
        return json(VERSION_INFO);
      case '/healthz':
      case '/livez':
      case '/readyz':
        return { kind: 'path', handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok') };
      case '/api':
        return this.#discoveryRoute(true, () => apiVersions(deps.serverAddress()));
      case '/apis':
        return this.#discoveryRoute(false, () => apiGroupList(deps.registry));
      case '/openapi/v3':
        return { kind: 'path', handler: (_req, res) => res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(deps.openapi.root()) };
      default:
        break;
    }
    if (path.startsWith('/openapi/v3/')) {
      const doc = deps.openapi.document(path.slice('/openapi/v3/'.length));
      return doc === undefined ? undefined : json(doc);
    }
    const segments = path.split('/').slice(1);
    if (segments[0] === 'api' && segments[1] === 'v1') {
      if (segments.length === 2) {
        const list = apiResourceList(deps.registry, '', 'v1');
        return list === undefined ? undefined : json(list);
      }
      return resourceRoute('', 'v1', segments.slice(2));
    }
    if (segments[0] === 'apis' && segments.length >= 2) {
      const group = segments[1] as string;
      if (segments.length === 2) {
        const body = apiGroup(deps.registry, group);
        return body === undefined ? undefined : json(body);
      }
      const version = segments[2] as string;
      if (segments.length === 3) {
        const list = apiResourceList(deps.registry, group, version);
        return list === undefined ? undefined : json(list);
      }
      return resourceRoute(group, version, segments.slice(3));
    }
    return undefined;
  }

  #discoveryRoute(legacy: boolean, plain: () => JsonObject): Route {
    return {
      kind: 'path',
      handler: (req, res) => {
        const aggregated = aggregatedDiscoveryVersion(req.headers.accept);
        if (aggregated === undefined) sendJson(res, 200, JSON.stringify(plain()));
        else {
          res.writeHead(200, { 'content-type': aggregatedContentType(aggregated), vary: 'Accept' });
          res.end(JSON.stringify(aggregatedDiscovery(this.#deps.registry, legacy, aggregated)));
        }
      },
    };
  }

  async #resource(req: IncomingMessage, res: ServerResponse, route: Extract<Route, { kind: 'resource' }>, query: URLSearchParams, user: UserInfo, method: string): Promise<void> {
    const deps = this.#deps;
    const type = deps.registry.find(route.group, route.version, route.plural);
    const watch = query.get('watch') === 'true' || query.get('watch') === '1';
    let verb: string;
    switch (method) {
      case 'GET':
      case 'HEAD':
        verb = route.name === '' ? (watch ? 'watch' : 'list') : 'get';
        break;
      case 'POST':
        verb = 'create';
        break;
      case 'PUT':
        verb = 'update';
        break;
      case 'PATCH':
        verb = 'patch';
        break;
      case 'DELETE':
        verb = route.name === '' ? 'deletecollection' : 'delete';
        break;
      default:
        throw statusErrors.methodNotAllowed('GET, POST, PUT, PATCH, DELETE');
    }
    this.#authorize(user, { kind: 'resource', verb, group: route.group, resource: route.plural, subresource: route.subresource, namespace: route.namespace, name: route.name });
    if (type === undefined || (route.namespacedPath && !type.namespaced)) throw statusErrors.pathNotFound();
    const request: FaultRequest = { verb, group: route.group, resource: route.plural, subresource: route.subresource, namespace: route.namespace, name: route.name };
    deps.onRequest?.(request);
    const injected = deps.faults.check(request);
    if (injected !== undefined) throw injected;
    const namespace = type.namespaced ? route.namespace : '';
    if (type.virtual === true) {
      if (verb !== 'create') throw statusErrors.methodNotAllowed('POST');
      await this.#review(req, res, type, namespace, user);
      return;
    }
    if (route.subresource !== '') {
      await this.#subresource(req, res, type, namespace, route.name, route.subresource, verb, query);
      return;
    }
    switch (verb) {
      case 'get':
        this.#get(req, res, type, namespace, route.name);
        return;
      case 'list':
        this.#list(req, res, type, route.namespacedPath ? namespace : '', query);
        return;
      case 'watch':
        this.#watch(req, res, type, route.namespacedPath ? namespace : '', query);
        return;
      case 'create':
        if (route.name !== '') throw statusErrors.methodNotAllowed('GET, PUT, PATCH, DELETE');
        if (type.namespaced && !route.namespacedPath) throw statusErrors.methodNotAllowed('GET');
        await this.#create(req, res, type, namespace, query);
        return;
      case 'update':
        await this.#update(req, res, type, namespace, route.name, '', query);
        return;
      case 'patch':
        await this.#patch(req, res, type, namespace, route.name, '', query);
        return;
      case 'delete':
        await this.#delete(req, res, type, namespace, route.name, query);
        return;
      default:
        await this.#deleteCollection(req, res, type, route.namespacedPath ? namespace : '', query);
    }
  }

  #writeOptions(query: URLSearchParams): WriteOptions {
    const dryRun = query.getAll('dryRun');
    for (const value of dryRun) if (value !== 'All') throw statusErrors.badRequest(`Invalid dryRun value: ${value}`);
    const validation = query.get('fieldValidation') ?? 'Warn';
    if (validation !== 'Strict' && validation !== 'Warn' && validation !== 'Ignore') throw statusErrors.badRequest(`fieldValidation parameter unsupported: ${validation}`);
    return { dryRun: dryRun.length > 0, fieldValidation: validation, warnings: [] };
  }

  #stored(type: ResourceType, namespace: string, name: string): StoredObject {
    const stored = this.#deps.objects.get(type, namespace, name);
    if (stored === undefined) throw statusErrors.notFound(type.group, type.plural, name);
    return stored;
  }

  #get(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string): void {
    const stored = this.#stored(type, namespace, name);
    if (TABLE_ACCEPT.test(req.headers.accept ?? '')) {
      sendJson(res, 200, JSON.stringify(renderTable(type, [this.#deps.objects.parse(type, stored)], { resourceVersion: String(stored.rv) }, this.#deps.now(), 'Metadata')));
      return;
    }
    sendJson(res, 200, this.#deps.objects.render(type, stored));
  }

  #selectors(type: ResourceType, query: URLSearchParams): { labels: Selector; fields: Selector } {
    const selectable = type.strategy.selectableFields?.({}) ?? {};
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(query.get('fieldSelector'), (label) => label === 'metadata.name' || label === 'metadata.namespace' || Object.hasOwn(selectable, label));
    return { labels, fields };
  }

  /** The objects of a bucket as they were at `rv`, undoing later changes from the history. */
  #snapshot(type: ResourceType, namespace: string, rv: number): readonly StoredObject[] {
    const store = this.#deps.store;
    const current = store.list(type.storage, namespace === '' ? undefined : namespace);
    if (rv >= store.resourceVersion) return current;
    const events = store.eventsSince(rv, type.storage);
    if (events === undefined) throw statusErrors.gone(`too old resource version: ${rv} (${store.compactedResourceVersion + 1})`);
    const state = new Map(current.map((object) => [object.key, object]));
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i];
      if (event === undefined || (namespace !== '' && event.object.namespace !== namespace)) continue;
      if (event.prev === undefined) state.delete(event.object.key);
      else state.set(event.prev.key, event.prev);
    }
    return [...state.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  #list(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, query: URLSearchParams): void {
    const deps = this.#deps;
    const { labels, fields } = this.#selectors(type, query);
    const limit = Number(query.get('limit') ?? 0);
    const continueToken = query.get('continue');
    const rvParam = query.get('resourceVersion') ?? '';
    const rvMatch = query.get('resourceVersionMatch') ?? '';
    if (rvMatch !== '' && rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') throw statusErrors.badRequest(`resourceVersionMatch: Unsupported value: "${rvMatch}": supported values: "Exact", "NotOlderThan"`);
    if (rvMatch !== '' && rvParam === '') throw statusErrors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
    let listRv = deps.store.resourceVersion;
    let start = '';
    let objects: readonly StoredObject[];
    if (continueToken !== null && continueToken !== '') {
      const token = decodeContinue(continueToken);
      if (token.rv < deps.store.compactedResourceVersion) {
        throw statusErrors.gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      listRv = token.rv;
      start = token.start;
      objects = this.#snapshot(type, namespace, token.rv);
    } else if (rvParam !== '' && rvParam !== '0') {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv) || rv < 0) throw statusErrors.badRequest(`invalid resource version: ${rvParam}`);
      if (rv > deps.store.resourceVersion) throw new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${deps.store.resourceVersion}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
      if (rvMatch === 'Exact') {
        listRv = rv;
        objects = this.#snapshot(type, namespace, rv);
      } else objects = deps.store.list(type.storage, namespace === '' ? undefined : namespace);
    } else {
      objects = deps.store.list(type.storage, namespace === '' ? undefined : namespace);
    }
    const items: StoredObject[] = [];
    let next = '';
    let remaining = 0;
    const prefixOf = (object: StoredObject): string => (namespace === '' ? object.key : object.name);
    for (const object of objects) {
      if (start !== '' && prefixOf(object) < start) continue;
      if (!labels.empty && !labels.matches(object.labels)) continue;
      if (!fields.empty && !fields.matches({ 'metadata.name': object.name, 'metadata.namespace': object.namespace, ...object.fields })) continue;
      if (limit > 0 && items.length >= limit) {
        remaining++;
        continue;
      }
      items.push(object);
    }
    if (limit > 0 && remaining > 0) next = encodeContinue(listRv, prefixOf(items[items.length - 1] as StoredObject));
    const listMeta: JsonObject = {};
    if (!type.builtin || next !== '') listMeta['continue'] = next;
    if (next !== '' && labels.empty && fields.empty) listMeta['remainingItemCount'] = remaining;
    listMeta['resourceVersion'] = String(listRv);
    if (TABLE_ACCEPT.test(req.headers.accept ?? '')) {
      const parsed = items.map((object) => deps.objects.parse(type, object));
      const tableMeta: JsonObject = { resourceVersion: String(listRv) };
      if (next !== '') tableMeta['continue'] = next;
      sendJson(res, 200, JSON.stringify(renderTable(type, parsed, tableMeta, deps.now(), query.get('includeObject') ?? 'Metadata')));
      return;
    }
    const apiVersion = JSON.stringify(apiVersionOf(type));
    const rendered = items.map((object) => deps.objects.render(type, object));
    if (type.builtin) {
      // Built-in lists omit each item's kind and apiVersion; stored JSON starts with exactly those two keys.
      const prefix = `{"kind":${JSON.stringify(type.kind)},"apiVersion":${apiVersion},`;
      const bare = rendered.map((json) => (json.startsWith(prefix) ? `{${json.slice(prefix.length)}` : json));
      sendList(res, `{"kind":${JSON.stringify(type.listKind)},"apiVersion":${apiVersion},"metadata":${JSON.stringify(listMeta)},"items":[`, bare, ']}');
      return;
    }
    sendList(res, `{"apiVersion":${apiVersion},"items":[`, rendered, `],"kind":${JSON.stringify(type.listKind)},"metadata":${JSON.stringify(listMeta)}}`);
  }

  #watch(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, query: URLSearchParams): void {
    const { labels, fields } = this.#selectors(type, query);
    const timeout = query.get('timeoutSeconds');
    const accept = req.headers.accept ?? '';
    this.#deps.watches.serve(
      {
        type,
        namespace,
        labelSelector: labels,
        fieldSelector: fields,
        resourceVersion: query.get('resourceVersion') ?? undefined,
        sendInitialEvents: query.get('sendInitialEvents') === 'true',
        allowBookmarks: query.get('allowWatchBookmarks') === 'true',
        timeoutSeconds: timeout === null ? undefined : Math.max(0, Number(timeout)),
        table: TABLE_ACCEPT.test(accept) ? { includeObject: query.get('includeObject') ?? 'Metadata' } : undefined,
      },
      res,
    );
  }

  async #objectBody(req: IncomingMessage, type: ResourceType): Promise<JsonObject> {
    const contentType = req.headers['content-type'] ?? 'application/json';
    if (contentType.startsWith(PROTOBUF_CONTENT_TYPE)) return decodeProtobufObject(await readBody(req));
    if (!/json|yaml/i.test(contentType)) throw statusErrors.unsupportedMediaType(['application/json', 'application/yaml']);
    const body = decodeObject(await readBody(req), contentType, type.kind);
    if (!isObject(body)) throw statusErrors.badRequest(`the object provided is unrecognized (must be of type ${type.kind}): couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
    return body;
  }

  async #create(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, query: URLSearchParams): Promise<void> {
    const options = this.#writeOptions(query);
    const body = await this.#objectBody(req, type);
    const result = this.#deps.objects.create(type, namespace, body, options);
    sendJson(res, 201, result.json, warningHeaders(options.warnings));
  }

  async #update(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string, subresource: string, query: URLSearchParams): Promise<void> {
    const options = this.#writeOptions(query);
    const body = await this.#objectBody(req, type);
    const stored = this.#stored(type, namespace, name);
    const result = this.#deps.objects.update(type, stored, this.#deps.objects.parse(type, stored), body, subresource, options);
    sendJson(res, 200, result.json, warningHeaders(options.warnings));
  }

  async #patch(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string, subresource: string, query: URLSearchParams): Promise<void> {
    const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const strategic = type.strategy.patchMeta !== undefined && type.builtin;
    const accepted: string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, ...(strategic ? [PATCH_TYPES.strategic] : [])];
    if (contentType === PATCH_TYPES.strategic && !strategic) throw statusErrors.unsupportedMediaType([PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]);
    if (!accepted.includes(contentType)) throw statusErrors.unsupportedMediaType(accepted);
    const options = this.#writeOptions(query);
    const patch = decodePatch(await readBody(req));
    const stored = this.#stored(type, namespace, name);
    const current = this.#deps.objects.parse(type, stored);
    let next: Json;
    if (contentType === PATCH_TYPES.merge) {
      if (!isObject(patch)) throw statusErrors.badRequest('error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}');
      next = applyMergePatch(current, patch);
    } else if (contentType === PATCH_TYPES.json) next = applyJsonPatch(current, patch);
    else next = applyStrategicMergePatch(current, patch, type.strategy.patchMeta ?? {});
    if (!isObject(next)) throw new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
    const result = this.#deps.objects.update(type, stored, current, next, subresource, options);
    sendJson(res, 200, result.json, warningHeaders(options.warnings));
  }

  async #deleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
    const raw = await readBody(req);
    let body: JsonObject = {};
    if (raw.length > 0) {
      const parsed = decodeObject(raw, req.headers['content-type'] ?? 'application/json', 'DeleteOptions');
      if (isObject(parsed)) body = parsed;
    }
    const policy = (query.get('propagationPolicy') ?? body['propagationPolicy'] ?? (body['orphanDependents'] === true || query.get('orphanDependents') === 'true' ? 'Orphan' : undefined)) as string | undefined;
    if (policy !== undefined && policy !== 'Background' && policy !== 'Foreground' && policy !== 'Orphan') {
      throw statusErrors.invalid('DeleteOptions', 'meta.k8s.io', '', [{ type: 'NotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"` }]);
    }
    const preconditions = child(body, 'preconditions');
    const dryRun = [...query.getAll('dryRun'), ...(Array.isArray(body['dryRun']) ? body['dryRun'].map(String) : [])];
    return {
      ...(policy === undefined ? {} : { propagationPolicy: policy as PropagationPolicy }),
      dryRun: dryRun.includes('All'),
      ...(preconditions === undefined
        ? {}
        : { preconditions: { ...(typeof preconditions['uid'] === 'string' ? { uid: preconditions['uid'] } : {}), ...(typeof preconditions['resourceVersion'] === 'string' ? { resourceVersion: preconditions['resourceVersion'] } : {}) } }),
    };
  }

  async #delete(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string, query: URLSearchParams): Promise<void> {
    const options = await this.#deleteOptions(req, query);
    const result = this.#deps.objects.delete(type, namespace, name, options);
    sendJson(res, 200, result.kind === 'deleted' ? JSON.stringify(result.status) : result.json);
  }

  async #deleteCollection(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, query: URLSearchParams): Promise<void> {
    const options = await this.#deleteOptions(req, query);
    const { labels, fields } = this.#selectors(type, query);
    const deleted: string[] = [];
    for (const object of [...this.#deps.store.list(type.storage, namespace === '' ? undefined : namespace)]) {
      if (!labels.matches(object.labels) || !(fields === EVERYTHING || fields.matches({ 'metadata.name': object.name, 'metadata.namespace': object.namespace, ...object.fields }))) continue;
      deleted.push(this.#deps.objects.render(type, object));
      this.#deps.objects.delete(type, object.namespace, object.name, options);
    }
    sendList(res, `{"kind":${JSON.stringify(type.listKind)},"apiVersion":${JSON.stringify(apiVersionOf(type))},"metadata":{"resourceVersion":"${this.#deps.store.resourceVersion}"},"items":[`, deleted, ']}');
  }

  async #subresource(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string, subresource: string, verb: string, query: URLSearchParams): Promise<void> {
    if (subresource === 'status' && type.statusSubresource) {
      if (verb === 'get') return this.#get(req, res, type, namespace, name);
      if (verb === 'update') return this.#update(req, res, type, namespace, name, 'status', query);
      if (verb === 'patch') return this.#patch(req, res, type, namespace, name, 'status', query);
      throw statusErrors.methodNotAllowed('GET, PUT, PATCH');
    }
    if (subresource === 'finalize' && type.kind === 'Namespace' && verb === 'update') {
      const body = await this.#objectBody(req, type);
      const options = this.#writeOptions(query);
      const stored = this.#stored(type, namespace, name);
      const current = this.#deps.objects.parse(type, stored);
      const next = { ...current, spec: { ...(child(current, 'spec') ?? {}), finalizers: child(body, 'spec')?.['finalizers'] ?? [] } };
      const result = this.#deps.objects.update(type, stored, current, next, '', options);
      sendJson(res, 200, result.json);
      return;
    }
    if (subresource === 'token' && type.kind === 'ServiceAccount' && verb === 'create') {
      await this.#tokenRequest(req, res, type, namespace, name);
      return;
    }
    throw statusErrors.pathNotFound();
  }

  async #tokenRequest(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, name: string): Promise<void> {
    const contentType = req.headers['content-type'] ?? 'application/json';
    if (!/json|yaml|protobuf/i.test(contentType)) throw statusErrors.unsupportedMediaType(['application/json', 'application/yaml']);
    const raw = await readBody(req);
    const body = raw.length === 0 ? {} : contentType.startsWith(PROTOBUF_CONTENT_TYPE) ? decodeProtobufObject(raw) : decodeObject(raw, contentType, 'TokenRequest');
    const stored = this.#stored(type, namespace, name);
    const spec = isObject(body) ? (child(body, 'spec') ?? {}) : {};
    const expirationSeconds = typeof spec['expirationSeconds'] === 'number' ? spec['expirationSeconds'] : 3600;
    const token = this.#deps.authenticator.issue(serviceAccountUser(namespace, name, stored.uid));
    const now = this.#deps.now();
    sendJson(
      res,
      201,
      JSON.stringify({
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: timestamp(now) },
        spec: { audiences: Array.isArray(spec['audiences']) ? spec['audiences'] : ['https://kubernetes.default.svc.cluster.local'], expirationSeconds, boundObjectRef: spec['boundObjectRef'] ?? null },
        status: { token, expirationTimestamp: timestamp(now + expirationSeconds * 1000) },
      }),
    );
  }

  #allowed(user: UserInfo, attributes: RequestAttributes): boolean {
    return this.#deps.authorizer === undefined || this.#deps.authorizer.allows(user, attributes);
  }

  async #review(req: IncomingMessage, res: ServerResponse, type: ResourceType, namespace: string, user: UserInfo): Promise<void> {
    const body = await this.#objectBody(req, type);
    if (body['kind'] !== type.kind) throw statusErrors.badRequest(`${String(body['kind'])} in version "v1" cannot be handled as a ${type.kind}`);
    const spec = child(body, 'spec') ?? {};
    const base: JsonObject = { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { creationTimestamp: null } };
    const attributesOf = (): RequestAttributes => {
      const resource = child(spec, 'resourceAttributes');
      const nonResource = child(spec, 'nonResourceAttributes');
      if (resource !== undefined) {
        const text = (key: string): string => (typeof resource[key] === 'string' ? resource[key] : '');
        return { kind: 'resource', verb: text('verb'), group: text('group'), resource: text('resource'), subresource: text('subresource'), namespace: type.namespaced ? namespace : text('namespace'), name: text('name') };
      }
      if (nonResource !== undefined) return { kind: 'path', verb: String(nonResource['verb'] ?? ''), path: String(nonResource['path'] ?? '') };
      throw statusErrors.invalid(type.kind, type.group, '', [{ type: 'Required', field: 'spec.resourceAttributes', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' }]);
    };
    switch (type.plural) {
      case 'selfsubjectaccessreviews':
        sendJson(res, 201, JSON.stringify({ ...base, spec, status: { allowed: this.#allowed(user, attributesOf()) } }));
        return;
      case 'subjectaccessreviews':
      case 'localsubjectaccessreviews': {
        const subjectUser = typeof spec['user'] === 'string' ? spec['user'] : '';
        const groups = Array.isArray(spec['groups']) ? spec['groups'].map(String) : [];
        if (subjectUser === '' && groups.length === 0) {
          throw statusErrors.invalid(type.kind, type.group, '', [{ type: 'Invalid', field: 'spec.user', message: 'Invalid value: "": at least one of user or group must be specified' }]);
        }
        const subject: UserInfo = { username: subjectUser, groups, ...(typeof spec['uid'] === 'string' ? { uid: spec['uid'] } : {}) };
        const metadata = type.namespaced ? { namespace, creationTimestamp: null } : { creationTimestamp: null };
        sendJson(res, 201, JSON.stringify({ ...base, metadata, spec, status: { allowed: this.#allowed(subject, attributesOf()) } }));
        return;
      }
      case 'selfsubjectreviews':
        sendJson(res, 201, JSON.stringify({ ...base, metadata: { creationTimestamp: timestamp(this.#deps.now()) }, status: { userInfo: { username: user.username, ...(user.uid === undefined ? {} : { uid: user.uid }), groups: [...user.groups], ...(user.extra === undefined ? {} : { extra: user.extra }) } } }));
        return;
      case 'tokenreviews': {
        const token = typeof spec['token'] === 'string' ? spec['token'] : '';
        const found = this.#deps.authenticator.lookup(token);
        const status =
          found === undefined
            ? { authenticated: false, user: {}, error: 'invalid bearer token' }
            : { authenticated: true, user: { username: found.username, ...(found.uid === undefined ? {} : { uid: found.uid }), groups: [...found.groups], ...(found.extra === undefined ? {} : { extra: found.extra }) }, audiences: Array.isArray(spec['audiences']) ? spec['audiences'] : ['https://kubernetes.default.svc.cluster.local'] };
        sendJson(res, 201, JSON.stringify({ ...base, spec, status }));
        return;
      }
      default:
        sendJson(res, 201, JSON.stringify({ ...base, spec, status: { resourceRules: [], nonResourceRules: [], incomplete: true } }));
    }
  }
}
