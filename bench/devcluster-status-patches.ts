// Benchmark: status patches per second the devcluster answers at concurrency 1, 16 and 64, against a trivial node:http
// server answering the same client in the same run. Target: at least 5,000 patches/s at concurrency 16.
// Run: node bench/devcluster-status-patches.ts
import { client, createMany, figure, leanClient, load, startBaseline, startDevcluster } from './devcluster-child.ts';
import { publish, size, type Figure } from './report.ts';

const DURATION_MS = size(3000, 1000);
const OBJECTS = 64;
const CONCURRENCY = [1, 16, 64];
const GROUP = 'bench.blackroad.io';

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer', minimum: 0 }, image: { type: 'string' } } },
              status: {
                type: 'object',
                properties: {
                  observedGeneration: { type: 'integer' },
                  phase: { type: 'string', enum: ['Pending', 'Running', 'Ready'] },
                  conditions: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'], items: { type: 'object', required: ['type', 'status'], properties: { type: { type: 'string' }, status: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' }, lastTransitionTime: { type: 'string', format: 'date-time' } } } },
                },
                'x-kubernetes-validations': [{ rule: "self.phase != 'Ready' || self.observedGeneration >= 1", message: 'a Ready widget has an observed generation' }],
              },
            },
          },
        },
      },
    ],
  },
};

const server = await startDevcluster();
const baseline = await startBaseline();
const setup = client(server.url, 32);
await setup.send('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', JSON.stringify(crd));
for (let i = 0; i < 100 && (await setup.send('GET', `/apis/${GROUP}/v1/namespaces/default/widgets`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 20));
await createMany(setup.send, `/apis/${GROUP}/v1/namespaces/default/widgets`, OBJECTS, (i) => ({ apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: `w-${i}`, labels: { bench: 'status' } }, spec: { size: i, image: 'ghcr.io/acme/api:1.42.0' } }));
setup.close();

const patch = (i: number): string =>
  JSON.stringify({ status: { observedGeneration: 1, phase: i % 2 === 0 ? 'Running' : 'Ready', conditions: [{ type: 'Ready', status: i % 2 === 0 ? 'False' : 'True', reason: 'Bench', message: `iteration ${i}`, lastTransitionTime: '2026-01-01T00:00:00Z' }] } });

const figures: Figure[] = [];
for (const concurrency of CONCURRENCY) {
  const ours = leanClient(server.url, concurrency);
  const theirs = leanClient(baseline.url, concurrency);
  await load(concurrency, 300, (worker, i) => ours.send(worker, 'PATCH', `/apis/${GROUP}/v1/namespaces/default/widgets/w-${worker % OBJECTS}/status`, patch(i), 'application/merge-patch+json'));
  const measured = await load(concurrency, DURATION_MS, (worker, i) => ours.send(worker, 'PATCH', `/apis/${GROUP}/v1/namespaces/default/widgets/w-${worker % OBJECTS}/status`, patch(i), 'application/merge-patch+json'));
  const base = await load(concurrency, DURATION_MS, (worker, i) => theirs.send(worker, 'PATCH', '/anything', patch(i), 'application/merge-patch+json'));
  ours.close();
  theirs.close();
  figures.push({
    name: `status patches/s at concurrency ${concurrency}`,
    value: measured.perSecond,
    unit: '/s',
    ...(concurrency === 16 ? { target: 5000, comparator: '>=' as const } : {}),
    baseline: base.perSecond,
    baselineLabel: 'a trivial node:http server answering a fixed 1 KB object to the same client',
    note: `merge patch on /status of ${OBJECTS} custom resources (schema + CEL rule), ${DURATION_MS / 1000} s, server in its own process, lean keep-alive client; p50 ${figure(measured.p50Ms, 2)} ms, p99 ${figure(measured.p99Ms, 2)} ms, ${measured.failures} failures`,
  });
}
publish('devcluster-status-patches', figures);
await server.stop();
await baseline.stop();
