import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { customResourceDefinition } from '../../src/api/crd.ts';
import { KINDS } from '../../src/api/kinds.ts';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';

// The operator's own CRDs (generated from src/api) and its examples, through the cluster's validation.
let cluster: ClusterHarness;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'operator-crds', crds: KINDS.map((kind) => customResourceDefinition(kind) as unknown as Record<string, unknown>) });
});
afterAll(() => cluster.stop());

function example(file: string): Record<string, unknown> {
  const docs = parseAllDocuments(readFileSync(new URL(`../../examples/${file}`, import.meta.url), 'utf8')).map((document) => document.toJS() as Record<string, unknown>);
  // An example may bring what it targets (a Deployment) before the resource of ours.
  const doc = docs.find((candidate) => String(candidate['apiVersion']).startsWith('operator.blackroad.io/')) ?? {};
  return { ...doc, metadata: { ...(doc['metadata'] as object), namespace: cluster.namespace } };
}

describe("the operator's CRDs on the cluster", () => {
  it('accepts every example Deploy and Sweep, defaulting what the examples leave out', async () => {
    for (const [file, plural] of [
      ['deploy-kubernetes.yaml', 'deploys'],
      ['deploy-railway.yaml', 'deploys'],
      ['deploy-webhook.yaml', 'deploys'],
      ['sweep.yaml', 'sweeps'],
    ] as const) {
      const res = await cluster.request('POST', `/apis/operator.blackroad.io/v1alpha1/namespaces/${cluster.namespace}/${plural}?fieldValidation=Strict`, { body: example(file) });
      expect(res.status, `${file}: ${res.text}`).toBe(201);
    }
  });

  it('rejects a Deploy with two providers through its schema rules (422)', async () => {
    const deploy = example('deploy-kubernetes.yaml') as { metadata: Record<string, unknown>; spec: { provider: Record<string, unknown> } };
    const both = { ...deploy, metadata: { ...deploy.metadata, name: 'two-providers' }, spec: { ...deploy.spec, provider: { ...deploy.spec.provider, webhook: { url: 'https://hooks.example/deploy', secretRef: { name: 'hook', key: 'hmac' } } } } };
    const res = await cluster.request('POST', `/apis/operator.blackroad.io/v1alpha1/namespaces/${cluster.namespace}/deploys`, { body: both });
    expect(res.status).toBe(422);
    expect(res.json()).toMatchObject({ kind: 'Status', reason: 'Invalid', details: { kind: 'Deploy', group: 'operator.blackroad.io' } });
  });

  it('lists Deploys and Sweeps through their category', async () => {
    const res = await cluster.request('GET', '/apis/operator.blackroad.io/v1alpha1');
    const resources = res.json<{ resources: { name: string; categories?: string[] }[] }>().resources;
    expect(resources.filter((r) => r.categories?.includes('blackroad')).map((r) => r.name).sort()).toEqual(['deploys', 'sweeps']);
  });
});
