import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULTS_AVAILABLE, skipReason, startCluster, type ClusterHarness } from '../support/cluster.ts';

let cluster: ClusterHarness;
let configmaps: string;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'devcluster-faults' });
  configmaps = `/api/v1/namespaces/${cluster.namespace}/configmaps`;
});
afterAll(() => cluster.stop());

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });

describe.skipIf(!FAULTS_AVAILABLE)('fault injection', () => {
  skipReason('fault injection suite');

  it('fails the next N matching requests with the chosen code, then recovers', async () => {
    cluster.faults?.failNext({ verb: 'create', resource: 'configmaps', code: 500, count: 2 });
    const first = await cluster.request('POST', configmaps, { body: cm('a') });
    const second = await cluster.request('POST', configmaps, { body: cm('a') });
    expect([first.status, second.status]).toEqual([500, 500]);
    expect(first.json()).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await cluster.request('GET', configmaps)).status).toBe(200);
    expect((await cluster.request('POST', configmaps, { body: cm('a') })).status).toBe(201);
  });

  it('answers 429 with Retry-After, 503 and 409 Conflict bodies like kube-apiserver', async () => {
    cluster.faults?.failNext({ verb: 'get', resource: 'configmaps', code: 429, retryAfterSeconds: 2 });
    const throttled = await cluster.request('GET', `${configmaps}/a`);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('2');
    expect(throttled.json()).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 2 }, code: 429 });
    cluster.faults?.failNext({ verb: 'patch', resource: 'configmaps', code: 409 });
    const conflict = await cluster.request('PATCH', `${configmaps}/a`, { body: { data: { x: 'y' } }, contentType: 'application/merge-patch+json' });
    expect(conflict.status).toBe(409);
    expect(conflict.json<{ message: string }>().message).toBe('Operation cannot be fulfilled on configmaps "a": the object has been modified; please apply your changes to the latest version and try again');
    cluster.faults?.failNext({ resource: 'configmaps', code: 503 });
    expect((await cluster.request('GET', configmaps)).status).toBe(503);
  });

  it('matches failures on a subresource only for that subresource', async () => {
    cluster.faults?.failNext({ verb: 'patch', resource: 'namespaces/status', code: 500 });
    expect((await cluster.request('PATCH', `/api/v1/namespaces/${cluster.namespace}`, { body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' })).status).toBe(200);
    expect((await cluster.request('PATCH', `/api/v1/namespaces/${cluster.namespace}/status`, { body: { status: {} }, contentType: 'application/merge-patch+json' })).status).toBe(500);
  });

  it('adds latency to every request', async () => {
    cluster.faults?.setLatency(150);
    const started = performance.now();
    await cluster.request('GET', configmaps);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    cluster.faults?.setLatency(0);
  });

  it('restarts on the same port keeping state, or losing it', async () => {
    const rv = (await cluster.request('GET', configmaps)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    const watch = await cluster.stream(`${configmaps}?watch=1&resourceVersion=${rv}&timeoutSeconds=30`);
    await cluster.faults?.restart({ keepState: true });
    expect(await watch.next(5000)).toBeUndefined();
    expect((await cluster.request('GET', `${configmaps}/a`)).status).toBe(200);
    await cluster.faults?.restart({ keepState: false, downMs: 50 });
    expect((await cluster.request('GET', `${configmaps}/a`)).status).toBe(404);
    expect((await cluster.request('GET', `/api/v1/namespaces/${cluster.namespace}`)).status).toBe(404);
    expect((await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: cluster.namespace } } })).status).toBe(201);
  });

  it('serves the same operations on the admin endpoint', async () => {
    const devcluster = cluster.devcluster;
    expect(devcluster).not.toBeNull();
    const { DevCluster } = await import('../../src/devcluster/dev-cluster.ts');
    const withAdmin = await DevCluster.start({ adminPort: 0, tls: false });
    try {
      const admin = withAdmin.adminUrl as string;
      const post = (path: string, body: unknown) => fetch(`${admin}${path}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json() as Promise<Record<string, unknown>>);
      await post('/devcluster/faults/fail', { verb: 'list', resource: 'namespaces', code: 503 });
      expect((await fetch(`${withAdmin.url}/api/v1/namespaces`)).status).toBe(503);
      expect((await fetch(`${withAdmin.url}/api/v1/namespaces`)).status).toBe(200);
      const port = withAdmin.port;
      expect(await post('/devcluster/faults/restart', { keepState: true })).toEqual({ restarted: true, port });
      expect((await fetch(`${withAdmin.url}/api/v1/namespaces/default`)).status).toBe(200);
      expect(await post('/devcluster/faults/compact', {})).toEqual({ compacted: true });
      expect(await post('/devcluster/faults/latency', { latencyMs: 5 })).toEqual({ latencyMs: 5 });
      expect(await post('/devcluster/faults/close-watches', {})).toEqual({ closed: 0 });
    } finally {
      await withAdmin.stop();
    }
  });
});
