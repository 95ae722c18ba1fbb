import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinResources, KubeClient } from '../../src/kube/client.ts';
import { isForbidden } from '../../src/kube/errors.ts';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { transcript } from './transcripts.ts';

const crd = transcript('07').request.body as Record<string, unknown>;

let cluster: ClusterHarness;
let robot: string;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'conformance-rbac', crds: [crd], rbac: true });
  robot = await cluster.serviceAccountToken('robot');
});
afterAll(() => cluster.stop());

const ns = () => cluster.namespace;
const expectedForbidden = (number: string) => JSON.parse(JSON.stringify(transcript(number).response.body).replaceAll('transcripts:robot', `${ns()}:robot`).replaceAll('namespace \\"transcripts\\"', `namespace \\"${ns()}\\"`)) as unknown;

describe('authentication and RBAC', () => {
  it('forbids a ServiceAccount without bindings with kube-apiserver 403 bodies (namespaced and cluster scope)', async () => {
    const namespaced = await cluster.request('GET', `/apis/demo.transcripts.dev/v1/namespaces/${ns()}/gizmos`, { token: robot });
    expect(namespaced.status).toBe(403);
    expect(namespaced.json()).toEqual(expectedForbidden('85'));
    const cluster403 = await cluster.request('GET', '/api/v1/namespaces', { token: robot });
    expect(cluster403.status).toBe(403);
    expect(cluster403.json()).toEqual(expectedForbidden('86'));
  });

  it('answers 401 to an unknown bearer token', async () => {
    const res = await cluster.request('GET', `/apis/demo.transcripts.dev/v1/namespaces/${ns()}/gizmos`, { token: 'not-a-token' });
    expect(res.status).toBe(401);
    expect(res.json()).toEqual(transcript('91').response.body);
  });

  it('reports whether the caller may act with SelfSubjectAccessReview', async () => {
    const body = transcript('87').request.body as { spec: { resourceAttributes: Record<string, string> } };
    const review = { ...body, spec: { resourceAttributes: { ...body.spec.resourceAttributes, namespace: ns() } } };
    const denied = await cluster.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: review, token: robot });
    expect(denied.status).toBe(201);
    expect(denied.json<{ status: unknown; metadata: { creationTimestamp: unknown } }>().status).toEqual({ allowed: false });
    expect(denied.json<{ metadata: { creationTimestamp: unknown } }>().metadata.creationTimestamp).toBeNull();
    const admin = await cluster.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { body: review });
    expect(admin.json<{ status: unknown }>().status).toEqual({ allowed: true });
  });

  it('tells a ServiceAccount who it is with SelfSubjectReview', async () => {
    const res = await cluster.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, token: robot });
    expect(res.status).toBe(201);
    const info = res.json<{ status: { userInfo: { username: string; groups: string[] } } }>().status.userInfo;
    expect(info.username).toBe(`system:serviceaccount:${ns()}:robot`);
    expect(info.groups).toEqual(['system:serviceaccounts', `system:serviceaccounts:${ns()}`, 'system:authenticated']);
  });

  it('allows what a RoleBinding grants, at once', async () => {
    const role = await cluster.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/roles`, { body: transcript('92').request.body });
    expect(role.status).toBe(201);
    const bindingBody = JSON.parse(JSON.stringify(transcript('93').request.body).replaceAll('"transcripts"', JSON.stringify(ns()))) as unknown;
    const binding = await cluster.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns()}/rolebindings`, { body: bindingBody });
    expect(binding.status).toBe(201);
    const list = await cluster.request('GET', `/apis/demo.transcripts.dev/v1/namespaces/${ns()}/gizmos`, { token: robot });
    expect(list.status).toBe(200);
    const create = await cluster.request('POST', `/apis/demo.transcripts.dev/v1/namespaces/${ns()}/gizmos`, { token: robot, body: { apiVersion: 'demo.transcripts.dev/v1', kind: 'Gizmo', metadata: { name: 'x' }, spec: { size: 1 } } });
    expect(create.status).toBe(403);
    expect(create.json<{ message: string }>().message).toContain(`cannot create resource "gizmos" in API group "demo.transcripts.dev" in the namespace "${ns()}"`);
  });

  it('names the object and the subresource in a 403 for a single object', async () => {
    const res = await cluster.request('GET', `/apis/demo.transcripts.dev/v1/namespaces/${ns()}/gizmos/x/status`, { token: robot });
    expect(res.status).toBe(403);
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `gizmos.demo.transcripts.dev "x" is forbidden: User "system:serviceaccount:${ns()}:robot" cannot get resource "gizmos/status" in API group "demo.transcripts.dev" in the namespace "${ns()}"`,
      reason: 'Forbidden',
      details: { name: 'x', group: 'demo.transcripts.dev', kind: 'gizmos' },
      code: 403,
    });
  });

  it('evaluates SubjectAccessReview for another user and TokenReview for a token', async () => {
    const sar = await cluster.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: `system:serviceaccount:${ns()}:robot`, groups: ['system:serviceaccounts'], resourceAttributes: { namespace: ns(), verb: 'watch', group: 'demo.transcripts.dev', resource: 'gizmos' } } },
    });
    expect(sar.status).toBe(201);
    expect(sar.json<{ status: { allowed: boolean } }>().status.allowed).toBe(true);
    const metricsReview = await cluster.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'someone', nonResourceAttributes: { path: '/metrics', verb: 'get' } } },
    });
    expect(metricsReview.json<{ status: { allowed: boolean } }>().status.allowed).toBe(false);
    const tokenReview = await cluster.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: robot } } });
    expect(tokenReview.status).toBe(201);
    expect(tokenReview.json<{ status: { authenticated: boolean; user: { username: string } } }>().status).toMatchObject({ authenticated: true, user: { username: `system:serviceaccount:${ns()}:robot` } });
    const bad = await cluster.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: 'nope' } } });
    expect(bad.json<{ status: { authenticated?: boolean } }>().status.authenticated).not.toBe(true);
  });

  it('gives a kubeconfig for a ServiceAccount token that a client acts under', async () => {
    const path = cluster.kubeconfigForToken(robot);
    const client = KubeClient.fromFile(path);
    try {
      await expect(client.list(builtinResources.namespaces)).rejects.toSatisfy(isForbidden);
      const review = (await client.request({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } })) as { status: { userInfo: { username: string } } };
      expect(review.status.userInfo.username).toBe(`system:serviceaccount:${ns()}:robot`);
    } finally {
      client.close();
    }
  });

  it('lets an authenticated user read discovery through the bootstrap roles', async () => {
    expect((await cluster.request('GET', '/api', { token: robot })).status).toBe(200);
    expect((await cluster.request('GET', '/apis', { token: robot })).status).toBe(200);
    expect((await cluster.request('GET', '/version', { token: robot })).status).toBe(200);
  });
});
