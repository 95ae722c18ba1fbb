import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient, builtinResources, isStatus, type KubeClientOptions, type KubeObject, type ResourceDescriptor, type WatchEvent } from '../../src/kube/client.ts';
import { isConflict, isGone, isNotFound, isTooManyRequests, isTransportError, isUnauthorized, type ApiError } from '../../src/kube/errors.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { json, startTestServer, tokenKubeConfig, until, type TestServer } from './http-test-server.ts';

const gizmos: ResourceDescriptor = { group: 'demo.transcripts.dev', version: 'v1', plural: 'gizmos', kind: 'Gizmo', namespaced: true };

const transcripts = new URL('../fixtures/kube-apiserver-transcripts/http/', import.meta.url);
function recorded(name: string): { status: number; body: unknown } {
  return (JSON.parse(readFileSync(new URL(`${name}.json`, transcripts), 'utf8')) as { response: { status: number; body: unknown } }).response;
}

let server: TestServer | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = undefined;
  client = undefined;
});

async function setup(handler: Parameters<typeof startTestServer>[0], options: KubeClientOptions = {}): Promise<{ server: TestServer; client: KubeClient; registry: Registry; clock: ManualClock }> {
  const registry = new Registry();
  const clock = new ManualClock();
  server = await startTestServer(handler);
  client = KubeClient.fromKubeConfig(tokenKubeConfig(server.url), { registry, clock, fieldManager: 'blackroad-operator', ...options });
  return { server, client, registry, clock };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('KubeClient REST verbs', () => {
  it('gets an object by namespaced path with the bearer token, JSON accept and user agent', async () => {
    const cr = recorded('17-cr-get');
    const { server, client } = await setup((_req, res) => json(res, cr.status, cr.body));
    const object = await client.get<KubeObject>(gizmos, 'gizmo-a', { namespace: 'transcripts' });
    expect(object.metadata.name).toBe('gizmo-a');
    const [request] = server.requests;
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/apis/demo.transcripts.dev/v1/namespaces/transcripts/gizmos/gizmo-a');
    expect(request?.headers['authorization']).toBe('Bearer test-token');
    expect(request?.headers['accept']).toBe('application/json');
    expect(request?.headers['user-agent']).toMatch(/^blackroad-operator\//);
  });

  it('addresses core, cluster-scoped and all-namespace collections', async () => {
    const { server, client } = await setup((_req, res) => json(res, 200, { metadata: { resourceVersion: '1' }, items: [] }));
    await client.list(builtinResources.namespaces);
    await client.list(builtinResources.pods, { namespace: 'ns1' });
    await client.list(gizmos);
    await client.get(builtinResources.namespaces, 'default');
    expect(server.requests.map((r) => r.path)).toEqual(['/api/v1/namespaces', '/api/v1/namespaces/ns1/pods', '/apis/demo.transcripts.dev/v1/gizmos', '/api/v1/namespaces/default']);
    await expect(client.get(gizmos, 'x')).rejects.toThrow(/needs a namespace/);
  });

  it('lists every page by following continue tokens with the snapshot resourceVersion of the first page', async () => {
    const pages = [
      { metadata: { resourceVersion: '44578', continue: 'p2', remainingItemCount: 2 }, items: [{ metadata: { name: 'a' } }] },
      { metadata: { resourceVersion: '44578', continue: 'p3', remainingItemCount: 1 }, items: [{ metadata: { name: 'b' } }] },
      { metadata: { resourceVersion: '44578' }, items: [{ metadata: { name: 'c' } }] },
    ];
    const { server, client } = await setup((req, res) => json(res, 200, pages[req.query.get('continue') === 'p2' ? 1 : req.query.get('continue') === 'p3' ? 2 : 0]));
    const list = await client.listAll(gizmos, { namespace: 'transcripts', labelSelector: 'tier=frontend' });
    expect(list.items.map((item) => item.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(list.metadata).toEqual({ resourceVersion: '44578' });
    expect(server.requests.map((r) => [r.query.get('limit'), r.query.get('continue'), r.query.get('labelSelector')])).toEqual([
      ['500', null, 'tier=frontend'],
      ['500', 'p2', 'tier=frontend'],
      ['500', 'p3', 'tier=frontend'],
    ]);
  });

  it('falls back to one unpaginated list when a continue token expires', async () => {
    const { server, client } = await setup((req, res) => {
      if (req.query.get('continue') === 'old') json(res, 410, { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: 'continue token expired' });
      else if (req.query.get('limit') === '500') json(res, 200, { metadata: { resourceVersion: '5', continue: 'old' }, items: [{ metadata: { name: 'a' } }] });
      else json(res, 200, { metadata: { resourceVersion: '9' }, items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] });
    });
    const list = await client.listAll(gizmos, { namespace: 'ns' });
    expect(list.items).toHaveLength(2);
    expect(list.metadata.resourceVersion).toBe('9');
    expect(server.requests.at(-1)?.query.has('limit')).toBe(false);
  });

  it('creates with apiVersion, kind and the field manager, into the object namespace', async () => {
    const created = recorded('16-cr-create');
    const { server, client } = await setup((_req, res) => json(res, 201, created.body));
    await client.create(gizmos, { metadata: { name: 'gizmo-a', namespace: 'transcripts' }, spec: { size: 1 } } as KubeObject, { fieldValidation: 'Strict' });
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/apis/demo.transcripts.dev/v1/namespaces/transcripts/gizmos');
    expect(request?.query.get('fieldManager')).toBe('blackroad-operator');
    expect(request?.query.get('fieldValidation')).toBe('Strict');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toMatchObject({ apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', spec: { size: 1 } });
  });

  it('replaces the whole object or its status subresource by PUT', async () => {
    const { server, client } = await setup((req, res) => json(res, 200, JSON.parse(req.body) as unknown));
    const object = { metadata: { name: 'g', namespace: 'ns', resourceVersion: '7' }, status: { phase: 'Ready' } } as KubeObject;
    await client.replace(gizmos, object);
    await client.replace(gizmos, object, { subresource: 'status' });
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /apis/demo.transcripts.dev/v1/namespaces/ns/gizmos/g', 'PUT /apis/demo.transcripts.dev/v1/namespaces/ns/gizmos/g/status']);
  });

  it('sends each patch type with its content type, on the object or its status', async () => {
    const { server, client } = await setup((_req, res) => json(res, 200, { metadata: { name: 'g' } }));
    await client.patch(gizmos, 'g', { status: { phase: 'Ready' } }, { namespace: 'ns', subresource: 'status' });
    await client.patch(gizmos, 'g', [{ op: 'test', path: '/spec/size', value: 1 }], { namespace: 'ns', type: 'json' });
    await client.patch(builtinResources.deployments, 'api', { spec: {} }, { namespace: 'ns', type: 'strategic' });
    await client.patch(gizmos, 'g', { spec: { size: 2 } }, { namespace: 'ns', type: 'apply', force: true });
    expect(server.requests.map((r) => [r.path, r.headers['content-type'], r.query.get('force')])).toEqual([
      ['/apis/demo.transcripts.dev/v1/namespaces/ns/gizmos/g/status', 'application/merge-patch+json', null],
      ['/apis/demo.transcripts.dev/v1/namespaces/ns/gizmos/g', 'application/json-patch+json', null],
      ['/apis/apps/v1/namespaces/ns/deployments/api', 'application/strategic-merge-patch+json', null],
      ['/apis/demo.transcripts.dev/v1/namespaces/ns/gizmos/g', 'application/apply-patch+yaml', 'true'],
    ]);
    expect(JSON.parse(server.requests[1]?.body ?? '')).toEqual([{ op: 'test', path: '/spec/size', value: 1 }]);
  });

  it('deletes with propagation policy and preconditions, answering Status once the object is gone', async () => {
    const gone = recorded('59-cr-delete-plain');
    const terminating = recorded('54-cr-delete-with-finalizer');
    const { server, client } = await setup((req, res) => json(res, 200, req.path.endsWith('/b') ? gone.body : terminating.body));
    const first = await client.delete(gizmos, 'b', { namespace: 'ns', propagationPolicy: 'Foreground', preconditions: { uid: 'u-1', resourceVersion: '3' } });
    expect(isStatus(first)).toBe(true);
    const second = await client.delete<KubeObject>(gizmos, 'c', { namespace: 'ns' });
    expect(isStatus(second)).toBe(false);
    expect((second as KubeObject).metadata.deletionTimestamp).toBeDefined();
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground', preconditions: { uid: 'u-1', resourceVersion: '3' } });
  });

  it('offers a low-level request to any path', async () => {
    const version = recorded('01-version');
    const { server, client } = await setup((_req, res) => json(res, 200, version.body));
    expect(await client.request({ method: 'GET', path: '/version' })).toMatchObject({ major: '1' });
    expect(server.requests[0]?.path).toBe('/version');
  });
});

describe('KubeClient failures', () => {
  it('turns recorded error answers into typed errors with the server Status', async () => {
    const notFound = recorded('29-cr-get-missing-404');
    const conflict = recorded('32-cr-put-stale-409');
    const { client, server } = await setup((_req, res) => json(res, notFound.status, notFound.body));
    const missing = await rejection(client.get(gizmos, 'nope', { namespace: 'transcripts' }));
    expect(isNotFound(missing)).toBe(true);
    expect((missing as ApiError).status?.details?.name).toBe('nope');
    server.handle((_req, res) => json(res, conflict.status, conflict.body));
    const stale = await rejection(client.replace(gizmos, { metadata: { name: 'g', namespace: 'ns', resourceVersion: '1' } }));
    expect(isConflict(stale)).toBe(true);
  });

  it('retries a 429 after the Retry-After the server asked for, on the injected clock', async () => {
    let calls = 0;
    const { client, server, clock } = await setup((_req, res) => {
      calls += 1;
      if (calls === 1) json(res, 429, { kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }, { 'retry-after': '2' });
      else json(res, 200, { metadata: { name: 'g' } });
    });
    const pending = client.get(gizmos, 'g', { namespace: 'ns' });
    await until(() => server.requests.length === 1 && clock.pendingTimers > 1);
    clock.advance(1999);
    expect(server.requests).toHaveLength(1);
    clock.advance(1);
    await expect(pending).resolves.toMatchObject({ metadata: { name: 'g' } });
    expect(server.requests).toHaveLength(2);
  });

  it('gives up on 429 after maxRetries with the server wait on the error', async () => {
    const { client } = await setup((_req, res) => json(res, 429, { kind: 'Status', code: 429, reason: 'TooManyRequests', message: 'slow down' }, { 'retry-after': '3' }), { maxRetries: 0 });
    const error = await rejection(client.get(gizmos, 'g', { namespace: 'ns' }));
    expect(isTooManyRequests(error)).toBe(true);
    expect((error as ApiError).retryAfterMs).toBe(3000);
  });

  it('does not retry a 500 without Retry-After', async () => {
    const { client, server } = await setup((_req, res) => json(res, 500, { kind: 'Status', code: 500, reason: 'InternalError', message: 'boom' }));
    const error = await rejection(client.get(gizmos, 'g', { namespace: 'ns' }));
    expect((error as ApiError).code).toBe(500);
    expect(server.requests).toHaveLength(1);
  });

  it('fails with a TransportError when the server does not answer within the deadline', async () => {
    const { client, clock, server } = await setup(() => undefined, { requestTimeoutMs: 5000 });
    const pending = rejection(client.get(gizmos, 'g', { namespace: 'ns' }));
    await until(() => server.requests.length === 1);
    clock.advance(5000);
    const error = await pending;
    expect(isTransportError(error)).toBe(true);
    expect((error as Error).message).toMatch(/within 5000 ms/);
  });

  it('fails with a TransportError when nothing listens, and counts it as code <error>', async () => {
    const registry = new Registry();
    const probe = await startTestServer(() => undefined);
    const url = probe.url;
    await probe.close();
    const unreachable = KubeClient.fromKubeConfig(tokenKubeConfig(url), { registry });
    const error = await rejection(unreachable.get(gizmos, 'g', { namespace: 'ns' }));
    expect(isTransportError(error)).toBe(true);
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'rest_client_requests_total', { code: '<error>', method: 'GET', host: new URL(url).host })).toBe(1);
    unreachable.close();
  });

  it('an aborted call rejects with a TransportError whose cause is the abort reason', async () => {
    const { client, server } = await setup(() => undefined);
    const controller = new AbortController();
    const pending = rejection(client.get(gizmos, 'g', { namespace: 'ns', signal: controller.signal }));
    await until(() => server.requests.length === 1);
    const reason = new Error('shutting down');
    controller.abort(reason);
    const error = await pending;
    expect(isTransportError(error)).toBe(true);
    expect((error as Error).cause).toBe(reason);
  });

  it('counts every attempt in rest_client_requests_total by code, method and host', async () => {
    const { client, registry, server } = await setup((req, res) => (req.method === 'GET' ? json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound' }) : json(res, 201, { metadata: {} })));
    await rejection(client.get(gizmos, 'g', { namespace: 'ns' }));
    await client.create(gizmos, { metadata: { name: 'g', namespace: 'ns' } });
    await client.create(gizmos, { metadata: { name: 'h', namespace: 'ns' } });
    const families = parsePrometheusText(await registry.metrics());
    const host = new URL(server.url).host;
    expect(sampleValue(families, 'rest_client_requests_total', { code: '404', method: 'GET', host })).toBe(1);
    expect(sampleValue(families, 'rest_client_requests_total', { code: '201', method: 'POST', host })).toBe(2);
  });
});

describe('KubeClient watch', () => {
  it('streams NDJSON events split across chunks, then ends when the server closes', async () => {
    const watch = recorded('63-watch-cr-events').body as WatchEvent[];
    const { client, server } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = watch.map((event) => `${JSON.stringify(event)}\n`).join('');
      const cut = Math.floor(text.length / 3);
      res.write(text.slice(0, cut));
      setImmediate(() => {
        res.write(text.slice(cut, cut * 2));
        setImmediate(() => res.end(text.slice(cut * 2)));
      });
    });
    const events = await client.watch(gizmos, { namespace: 'transcripts', resourceVersion: '44592', allowWatchBookmarks: true, timeoutSeconds: 300 });
    const types: string[] = [];
    for await (const event of events) types.push(event.type);
    expect(types).toEqual(watch.map((event) => event.type));
    expect(types).toContain('BOOKMARK');
    const query = server.requests[0]?.query;
    expect([query?.get('watch'), query?.get('resourceVersion'), query?.get('allowWatchBookmarks'), query?.get('timeoutSeconds')]).toEqual(['true', '44592', 'true', '300']);
  });

  it('throws a GoneError for a 410 ERROR event', async () => {
    const tooOld = recorded('64-watch-too-old-410').body as unknown[];
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(tooOld[0])}\n`);
    });
    const events = await client.watch(gizmos, { namespace: 'transcripts', resourceVersion: '1' });
    const error = await rejection((async () => {
      for await (const _event of events) {
        // drain
      }
    })());
    expect(isGone(error)).toBe(true);
  });

  it('throws the typed error when the watch itself is refused', async () => {
    const { client } = await setup((_req, res) => json(res, 403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'no' }));
    const error = await rejection(client.watch(gizmos));
    expect((error as ApiError).code).toBe(403);
  });

  it('throws a TransportError when the connection breaks mid-stream', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } })}\n{"type":"MODI`);
      setImmediate(() => res.socket?.destroy());
    });
    const events = await client.watch(gizmos, { namespace: 'ns' });
    const seen: string[] = [];
    const error = await rejection((async () => {
      for await (const event of events) seen.push(event.object.metadata.name ?? '');
    })());
    expect(seen).toEqual(['a']);
    expect(isTransportError(error)).toBe(true);
  });

  it('hands out every event in order when the reader is far slower than the server', async () => {
    const count = 3000;
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Array.from({ length: count }, (_, index) => `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: `n${index}`, resourceVersion: String(index + 1) } } })}\n`).join(''));
    });
    const events = await client.watch(gizmos, { namespace: 'ns' });
    const versions: number[] = [];
    for await (const event of events) {
      versions.push(Number(event.object.metadata.resourceVersion));
      if (versions.length % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(versions).toEqual(Array.from({ length: count }, (_, index) => index + 1));
  });

  it('throws a TransportError for a malformed line after handing out the events before it', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const event = (name: string): string => `${JSON.stringify({ type: 'ADDED', object: { metadata: { name, resourceVersion: '2' } } })}\n`;
      res.end(`${event('a')}\n${event('b')}{"type":\n${event('c')}`);
    });
    const events = await client.watch(gizmos, { namespace: 'ns' });
    const seen: string[] = [];
    const error = await rejection((async () => {
      for await (const event of events) seen.push(event.object.metadata.name ?? '');
    })());
    expect(seen).toEqual(['a', 'b']);
    expect(isTransportError(error)).toBe(true);
  });

  it('ends quietly when the caller aborts', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } })}\n`);
    });
    const controller = new AbortController();
    const events = await client.watch(gizmos, { namespace: 'ns', signal: controller.signal });
    const seen: string[] = [];
    for await (const event of events) {
      seen.push(event.type);
      controller.abort();
    }
    expect(seen).toEqual(['ADDED']);
  });
});

describe('KubeClient credentials and TLS', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('refreshes exec-plugin credentials once after a 401 and retries', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-client-'));
    const tokenPath = join(dir, 'token');
    writeFileSync(tokenPath, 'one');
    const plugin = join(dir, 'plugin.mjs');
    writeFileSync(
      plugin,
      `import { readFileSync } from 'node:fs';
       process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
         status: { token: readFileSync(${JSON.stringify(tokenPath)}, 'utf8'), expirationTimestamp: '1970-01-01T00:00:00Z' } }));`,
    );
    const registry = new Registry();
    server = await startTestServer((req, res) =>
      req.headers['authorization'] === 'Bearer two' ? json(res, 200, { metadata: { name: 'g' } }) : json(res, 401, { kind: 'Status', code: 401, reason: 'Unauthorized', message: 'Unauthorized' }),
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: server.url }],
      users: [{ name: 'u', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = KubeClient.fromKubeConfig(kubeConfig, { registry, clock: new ManualClock() });
    const first = await rejection(client.get(gizmos, 'g', { namespace: 'ns' }));
    expect(isUnauthorized(first)).toBe(true);
    expect(server.requests.map((r) => r.headers['authorization'])).toEqual(['Bearer one', 'Bearer one']);
    writeFileSync(tokenPath, 'two');
    await expect(client.get(gizmos, 'g', { namespace: 'ns' })).resolves.toMatchObject({ metadata: { name: 'g' } });
    expect(server.requests.slice(2).map((r) => r.headers['authorization'])).toEqual(['Bearer one', 'Bearer two']);
  });

  it('verifies the server with the kubeconfig CA and presents the client certificate', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-tls-'));
    const at = (name: string): string => join(dir as string, name);
    const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.crt'), '-subj', '/CN=test-ca', '-days', '1');
    writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    for (const name of ['server', 'client']) {
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at(`${name}.crt`), '-days', '1', ...(name === 'server' ? ['-extfile', at('san.ext')] : []));
    }
    const read = (name: string): string => readFileSync(at(name), 'utf8');
    let clientSubject: string | undefined;
    server = await startTestServer(
      (_req, res) => {
        const subject = (res.socket as TLSSocket).getPeerCertificate().subject?.CN;
        clientSubject = Array.isArray(subject) ? subject[0] : subject;
        json(res, 200, { metadata: { name: 'g' } });
      },
      { key: read('server.key'), cert: read('server.crt'), ca: read('ca.crt'), requestCert: true, rejectUnauthorized: true },
    );
    const b64 = (name: string): string => Buffer.from(read(name)).toString('base64');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, caData: b64('ca.crt') }],
      users: [{ name: 'u', certData: b64('client.crt'), keyData: b64('client.key') }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    client = KubeClient.fromKubeConfig(kubeConfig);
    await expect(client.get(gizmos, 'g', { namespace: 'ns' })).resolves.toMatchObject({ metadata: { name: 'g' } });
    expect(clientSubject).toBe('client');

    const untrusting = new KubeConfig();
    untrusting.loadFromOptions({ clusters: [{ name: 'c', server: server.url }], users: [{ name: 'u', certData: b64('client.crt'), keyData: b64('client.key') }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const stranger = KubeClient.fromKubeConfig(untrusting);
    expect(isTransportError(await rejection(stranger.get(gizmos, 'g', { namespace: 'ns' })))).toBe(true);
    stranger.close();
  });
});
