import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { transcript } from './transcripts.ts';

let cluster: ClusterHarness;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'conformance-lifecycle' });
});
afterAll(() => cluster.stop());

async function eventually(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not met in time');
}

async function owner(name: string): Promise<{ uid: string; path: string }> {
  const path = `/api/v1/namespaces/${cluster.namespace}/configmaps`;
  const res = await cluster.request('POST', path, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } });
  return { uid: res.json<{ metadata: { uid: string } }>().metadata.uid, path: `${path}/${name}` };
}

async function dependent(name: string, ownerName: string, ownerUid: string): Promise<string> {
  const path = `/api/v1/namespaces/${cluster.namespace}/secrets`;
  await cluster.request('POST', path, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: ownerName, uid: ownerUid, blockOwnerDeletion: true }] } } });
  return `${path}/${name}`;
}

const gone = (path: string) => async () => (await cluster.request('GET', path)).status === 404;

describe('lifecycle', () => {
  it('garbage-collects dependents of a deleted owner (background)', async () => {
    const o = await owner('bg-owner');
    const d = await dependent('bg-dep', 'bg-owner', o.uid);
    expect((await cluster.request('DELETE', o.path)).status).toBe(200);
    await eventually(gone(d));
  });

  it('deletes dependents first in foreground deletion, then the owner', async () => {
    const o = await owner('fg-owner');
    const d = await dependent('fg-dep', 'fg-owner', o.uid);
    const res = await cluster.request('DELETE', o.path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Foreground' } });
    expect(res.json<{ metadata: { finalizers: string[] } }>().metadata.finalizers).toEqual(['foregroundDeletion']);
    await eventually(gone(d));
    await eventually(gone(o.path));
  });

  it('orphans dependents when asked, removing their owner reference', async () => {
    const o = await owner('or-owner');
    const d = await dependent('or-dep', 'or-owner', o.uid);
    await cluster.request('DELETE', o.path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan' } });
    await eventually(gone(o.path));
    const kept = await cluster.request('GET', d);
    expect(kept.status).toBe(200);
    expect(kept.json<{ metadata: { ownerReferences?: unknown } }>().metadata.ownerReferences).toBeUndefined();
  });

  it('deletes a namespace with its contents, answering the Namespace in phase Terminating', async () => {
    const name = `${cluster.namespace}-doomed`;
    await cluster.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
    await cluster.request('POST', `/api/v1/namespaces/${name}/configmaps`, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inside' } } });
    const res = await cluster.request('DELETE', `/api/v1/namespaces/${name}`);
    expect(res.status).toBe(200);
    const body = res.json<{ kind: string; spec: unknown; status: unknown; metadata: { deletionTimestamp?: string } }>();
    expect(body.kind).toBe('Namespace');
    expect(body.spec).toEqual({ finalizers: ['kubernetes'] });
    expect(body.status).toEqual({ phase: 'Terminating' });
    expect(body.metadata.deletionTimestamp).toBeDefined();
    await eventually(gone(`/api/v1/namespaces/${name}`));
    expect((await cluster.request('GET', `/api/v1/namespaces/${name}/configmaps/inside`)).status).toBe(404);
  });

  it('deletes a CRD with its custom resources and stops serving them', async () => {
    const crd = transcript('07').request.body as { metadata: { name: string }; spec: { names: Record<string, unknown>; group: string } };
    const renamed = { ...crd, metadata: { name: 'widgets.lifecycle.transcripts.dev' }, spec: { ...crd.spec, group: 'lifecycle.transcripts.dev', names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' } } };
    expect((await cluster.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: renamed })).status).toBe(201);
    const widgets = `/apis/lifecycle.transcripts.dev/v1/namespaces/${cluster.namespace}/widgets`;
    await eventually(async () => (await cluster.request('GET', widgets)).status === 200);
    expect((await cluster.request('POST', widgets, { body: { apiVersion: 'lifecycle.transcripts.dev/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { size: 1 } } })).status).toBe(201);
    const res = await cluster.request('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.lifecycle.transcripts.dev');
    expect(res.status).toBe(200);
    const deleted = res.json<{ metadata: { finalizers: string[] }; status: { conditions: { type: string; reason: string }[] } }>();
    expect(deleted.metadata.finalizers).toEqual(['customresourcecleanup.apiextensions.k8s.io']);
    expect(deleted.status.conditions.find((c) => c.type === 'Terminating')?.reason).toBe('InstanceDeletionPending');
    await eventually(gone('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.lifecycle.transcripts.dev'));
    await eventually(async () => (await cluster.request('GET', widgets)).status === 404);
    expect((await cluster.request('GET', '/apis/lifecycle.transcripts.dev/v1')).status).toBe(404);
  });
});
