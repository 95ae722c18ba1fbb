import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { masked, replayer, transcript } from './transcripts.ts';

let cluster: ClusterHarness;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'conformance-builtin' });
});
afterAll(() => cluster.stop());

const { replay, expectLike } = replayer(() => cluster);

describe('discovery', () => {
  it('answers /version with the plain version object', async () => {
    const body = (await cluster.request('GET', '/version')).json();
    expect(Object.keys(body).sort()).toEqual(Object.keys(transcript('01').response.body as object).sort());
    expect(body['major']).toBe('1');
  });

  it('lists the core group resources with the recorded entries', async () => {
    const body = (await cluster.request('GET', '/api/v1')).json<{ kind: string; groupVersion: string; resources: { name: string }[] }>();
    expect(body.kind).toBe('APIResourceList');
    const recorded = (transcript('03').response.body as { resources: { name: string }[] }).resources;
    for (const name of ['configmaps', 'events', 'namespaces', 'namespaces/finalize', 'namespaces/status', 'secrets', 'serviceaccounts', 'serviceaccounts/token']) {
      expect(body.resources.find((r) => r.name === name)).toEqual(recorded.find((r) => r.name === name));
    }
  });

  it('lists the apps/v1 Deployment and its status with the recorded entries', async () => {
    const body = (await cluster.request('GET', '/apis/apps/v1')).json<{ resources: { name: string }[] }>();
    const recorded = (transcript('05').response.body as { resources: { name: string }[] }).resources;
    for (const name of ['deployments', 'deployments/status']) expect(body.resources.find((r) => r.name === name)).toEqual(recorded.find((r) => r.name === name));
  });

  it('answers aggregated discovery when kubectl asks for it, with the recorded content type', async () => {
    const accept = transcript('12').request.headers['Accept'] as string;
    for (const [path, number] of [
      ['/apis', '12'],
      ['/api', '13'],
    ] as const) {
      const res = await cluster.request('GET', path, { headers: { accept } });
      expect(res.headers['content-type']).toBe(transcript(number).response.headers['Content-Type']);
      const body = res.json<{ kind: string; apiVersion: string; items: { metadata: { name?: string }; versions: { version: string; resources: { resource: string }[] }[] }[] }>();
      expect(body.kind).toBe('APIGroupDiscoveryList');
      expect(body.apiVersion).toBe('apidiscovery.k8s.io/v2');
      const recorded = (transcript(number).response.body as typeof body).items;
      const group = number === '12' ? 'apps' : undefined;
      const ours = body.items.find((item) => item.metadata.name === group)?.versions[0]?.resources.find((r) => r.resource === (group === undefined ? 'namespaces' : 'deployments'));
      const theirs = recorded.find((item) => item.metadata.name === group)?.versions[0]?.resources.find((r) => r.resource === (group === undefined ? 'namespaces' : 'deployments'));
      // The devcluster serves no scale subresource; everything else matches the recorded entry.
      const withoutScale = (entry: unknown) => ({ ...(entry as object), subresources: ((entry as { subresources?: { subresource: string }[] }).subresources ?? []).filter((s) => s.subresource !== 'scale') });
      expect(withoutScale(ours)).toEqual(withoutScale(theirs));
    }
  });

  it('answers the legacy APIGroupList without the core group', async () => {
    const body = (await cluster.request('GET', '/apis')).json<{ kind: string; groups: { name: string }[] }>();
    expect(body.kind).toBe('APIGroupList');
    expect(body.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'batch', 'coordination.k8s.io', 'events.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'authorization.k8s.io', 'authentication.k8s.io']));
    expect(body.groups.map((g) => g.name)).not.toContain('');
  });

  it('serves the OpenAPI v3 index as text/plain with a document per group version', async () => {
    const res = await cluster.request('GET', '/openapi/v3');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    const paths = res.json<{ paths: Record<string, { serverRelativeURL: string }> }>().paths;
    expect(paths['apis/apps/v1']?.serverRelativeURL).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
    const doc = (await cluster.request('GET', paths['apis/apps/v1']?.serverRelativeURL ?? '')).json<{ openapi: string; paths: Record<string, { patch?: { parameters: { name: string }[] } }> }>();
    expect(doc.openapi).toBe('3.0.0');
    const item = Object.entries(doc.paths).find(([path]) => path.endsWith('/deployments/{name}'))?.[1];
    expect(item?.patch?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['dryRun', 'fieldManager', 'fieldValidation']));
  });

  it('answers 404 for an unknown group, version or resource', async () => {
    for (const path of ['/apis/nope.example.com/v1', '/apis/apps/v9', '/apis/apps/v1/namespaces/default/nopes', '/api/v1/nopes', '/nothing']) {
      const res = await cluster.request('GET', path);
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    }
  });
});

describe('built-in resources', () => {
  it('creates a Namespace with its metadata label, finalizer and phase', async () => {
    const res = await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${cluster.namespace}-x` } } });
    expect(res.status).toBe(201);
    const body = res.json<{ metadata: { labels: Record<string, string> }; spec: unknown; status: unknown }>();
    expect(body.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': `${cluster.namespace}-x` });
    expect(body.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(body.status).toEqual({ phase: 'Active' });
  });

  it('fills Deployment defaults, merges containers by name with a strategic merge patch, and replaces them with a merge patch', async () => {
    const created = await replay('71');
    expect(created.status).toBe(201);
    expectLike(created.json(), '71');
    const patched = await replay('72');
    expect(patched.status).toBe(200);
    expectLike(patched.json(), '72');
    const dry = await replay('73');
    expect(dry.status).toBe(200);
    expectLike(dry.json(), '73');
    expect(dry.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion).toBe(patched.json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion);
    expectLike((await replay('74')).json(), '74');
    const status = await replay('75');
    expect(status.status).toBe(200);
    expectLike(status.json(), '75');
  });

  it('applies strategic merge patch directives: $patch delete, $setElementOrder and primitive-list deletes', async () => {
    const path = `/apis/apps/v1/namespaces/${cluster.namespace}/deployments/web`;
    const smp = 'application/strategic-merge-patch+json';
    const res = await cluster.request('PATCH', path, {
      contentType: smp,
      body: { metadata: { finalizers: ['a/b', 'c/d'] }, spec: { template: { spec: { $setElementOrder: undefined, containers: [{ name: 'sidecar', $patch: 'delete' }, { name: 'app', env: [{ name: 'A', value: '1' }] }] } } } },
    });
    expect(res.status).toBe(200);
    const containers = res.json<{ spec: { template: { spec: { containers: { name: string; env?: unknown[] }[] } } } }>().spec.template.spec.containers;
    expect(containers.map((c) => c.name)).toEqual(['app']);
    expect(containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    const next = await cluster.request('PATCH', path, { contentType: smp, body: { metadata: { $deleteFromPrimitiveList: undefined, '$deleteFromPrimitiveList/finalizers': ['a/b'] }, spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] } } } } });
    const body = next.json<{ metadata: { finalizers: string[] }; spec: { template: { spec: { containers: { env: unknown[] }[] } } } }>();
    expect(body.metadata.finalizers).toEqual(['c/d']);
    expect(body.spec.template.spec.containers[0]?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    await cluster.request('PATCH', path, { contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } });
  });

  it('rejects an invalid Deployment with kube field paths', async () => {
    const res = await cluster.request('POST', `/apis/apps/v1/namespaces/${cluster.namespace}/deployments`, {
      body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'broken' }, spec: { replicas: -1, selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'y' } }, spec: { containers: [{ name: 'c' }] } } } },
    });
    expect(res.status).toBe(422);
    const body = res.json<{ message: string; details: { kind: string; causes: { field: string }[] } }>();
    expect(body.details.kind).toBe('Deployment');
    expect(body.message).toMatch(/^Deployment\.apps "broken" is invalid: \[/);
    expect(body.details.causes.map((c) => c.field)).toEqual(expect.arrayContaining(['spec.replicas', 'spec.template.spec.containers[0].image', 'spec.template.metadata.labels']));
  });

  it('fills Job defaults and its generated selector and labels', async () => {
    const res = await replay('76');
    expect(res.status).toBe(201);
    const body = res.json<{ metadata: { uid: string; labels: Record<string, string> }; spec: { selector: unknown } }>();
    const masking = (value: unknown) => JSON.parse(JSON.stringify(masked(value, cluster.namespace)).replaceAll(body.metadata.uid, '<uid>').replaceAll((transcript('76').response.body as { metadata: { uid: string } }).metadata.uid, '<uid>')) as unknown;
    expect(masking(body)).toEqual(masking(masked(transcript('76').response.body)));
  });

  it('keeps Lease MicroTime values and has no generation', async () => {
    const created = await replay('78');
    expect(created.status).toBe(201);
    expectLike(created.json(), '78');
    const current = created.json<{ metadata: Record<string, unknown> }>();
    const updated = await cluster.request('PUT', `/apis/coordination.k8s.io/v1/namespaces/${cluster.namespace}/leases/operator-leader`, {
      body: { ...(transcript('79').request.body as object), metadata: { ...current.metadata } },
    });
    expect(updated.status).toBe(200);
    expectLike(updated.json(), '79');
  });

  it('stores events.k8s.io Events as core Events and converts between the two', async () => {
    const created = await replay('80');
    expect(created.status).toBe(201);
    expectLike(created.json(), '80');
    const invalid = await replay('81');
    expect(invalid.status).toBe(422);
    expect(invalid.json()).toEqual(transcript('81').response.body);
    const core = await replay('82');
    expect(core.status).toBe(201);
    expectLike(core.json(), '82');
    expectLike((await replay('83')).json(), '83');
  });

  it('creates a ServiceAccount as a bare object', async () => {
    const res = await replay('84');
    expect(res.status).toBe(201);
    expectLike(res.json(), '84');
  });

  it('answers a Success Status when a built-in object is deleted at once', async () => {
    const deployment = await replay('95');
    expect(deployment.status).toBe(200);
    expect(masked(deployment.json())).toEqual(masked(transcript('95').response.body));
    const job = await replay('96');
    expect(job.status).toBe(200);
    expect(masked(job.json())).toEqual(masked(transcript('96').response.body));
  });

  it('lists built-ins without kind and apiVersion on each item', async () => {
    await cluster.request('POST', `/api/v1/namespaces/${cluster.namespace}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'one' }, data: { a: 'b' } } });
    const list = (await cluster.request('GET', `/api/v1/namespaces/${cluster.namespace}/configmaps`)).json<{ kind: string; apiVersion: string; items: Record<string, unknown>[] }>();
    expect(list.kind).toBe('ConfigMapList');
    expect(list.apiVersion).toBe('v1');
    expect(list.items[0]?.['kind']).toBeUndefined();
    expect(list.items[0]?.['data']).toEqual({ a: 'b' });
  });

  it('turns Secret stringData into base64 data', async () => {
    const res = await cluster.request('POST', `/api/v1/namespaces/${cluster.namespace}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { token: 'hello' } } });
    expect(res.status).toBe(201);
    const body = res.json<{ type: string; data: Record<string, string>; stringData?: unknown }>();
    expect(body.type).toBe('Opaque');
    expect(body.data).toEqual({ token: Buffer.from('hello').toString('base64') });
    expect(body.stringData).toBeUndefined();
  });
});
