// Benchmark: resident memory of the devcluster holding 10,000 and 100,000 stored ~1 KB objects, against the stored
// JSON size plus the process baseline measured in the same run. Two baselines are printed: cold (just started) and
// warm (after creating and deleting 10,000 objects, so the process holds the buffers and young generation any
// serving process has); the target is checked against the warm one, and the cold ratio is printed beside it.
// Target: RSS under 2.5 × stored JSON + warm baseline.
// Run: node bench/devcluster-memory.ts
import { client, createMany, figure, startDevcluster } from './devcluster-child.ts';
import { publish, quick, size, type Figure } from './report.ts';

const STEPS = quick ? [2_000, 10_000] : [10_000, 100_000];
const WARM_UP_OBJECTS = size(10_000, 2_000);
const MiB = 1024 * 1024;

const server = await startDevcluster();
const api = client(server.url, 64);
await api.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'memory' } }));
const cold = await server.memory();
await api.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'warm-up' } }));
await createMany(api.send, '/api/v1/namespaces/warm-up/configmaps', WARM_UP_OBJECTS, (i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { payload: 'x'.repeat(640) } }));
await api.send('DELETE', '/api/v1/namespaces/warm-up/configmaps');
// The deleted objects' last states are still in the watch history: drop them, so the baseline holds no object.
await fetch(`${server.adminUrl}/devcluster/faults/compact`, { method: 'POST' });
const baseline = await server.memory();
let created = 0;
let jsonBytes = 0;
const figures: Figure[] = [];
for (const target of STEPS) {
  const offset = created;
  jsonBytes += await createMany(api.send, '/api/v1/namespaces/memory/configmaps', target - created, (i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${offset + i}`, labels: { app: 'memory-bench', shard: String((offset + i) % 16) }, annotations: { 'bench.blackroad.io/owner': 'memory' } },
    data: { payload: 'x'.repeat(640), index: String(offset + i) },
  }));
  created = target;
  const usage = await server.memory();
  const limit = 2.5 * jsonBytes + baseline.rss;
  figures.push({
    name: `RSS with ${figure(target)} stored ~1 KB ConfigMaps (${figure(jsonBytes / MiB, 1)} MiB of JSON)`,
    value: usage.rss / MiB,
    unit: 'MiB',
    target: limit / MiB,
    comparator: '<',
    baseline: baseline.rss / MiB,
    baselineLabel: `the warm process holding no object (created and deleted ${figure(WARM_UP_OBJECTS)} objects, history compacted); cold baseline ${figure(cold.rss / MiB, 1)} MiB`,
    note: `target = 2.5 x stored JSON + warm baseline; (RSS - warm) / JSON = ${figure((usage.rss - baseline.rss) / jsonBytes, 2)}, (RSS - cold) / JSON = ${figure((usage.rss - cold.rss) / jsonBytes, 2)}; heap ${figure(usage.heapUsed / MiB, 1)} MiB; memory after full GCs in the server process`,
  });
}
publish('devcluster-memory', figures);
api.close();
await server.stop();
