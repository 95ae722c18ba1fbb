// Benchmark: resident memory of the devcluster holding 10,000 and 100,000 stored ~1 KB objects, against the stored
// JSON size plus the process baseline measured in the same run. Two baselines are printed: cold (just started) and
// warm (after creating and deleting 10,000 objects, so the process holds the buffers and young generation any
// serving process has); the target is checked against the warm one, and the cold ratio is printed beside it.
// Target: RSS under 2.5 × stored JSON + warm baseline.
// Run: node bench/devcluster-memory.ts
import { client, createMany, figure, startDevcluster } from './devcluster-child.ts';

const STEPS = [10_000, 100_000];
const MiB = 1024 * 1024;

const server = await startDevcluster();
const api = client(server.url, 64);
await api.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'memory' } }));
const cold = await server.memory();
await api.send('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'warm-up' } }));
await createMany(api.send, '/api/v1/namespaces/warm-up/configmaps', 10_000, (i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` }, data: { payload: 'x'.repeat(640) } }));
await api.send('DELETE', '/api/v1/namespaces/warm-up/configmaps');
// The deleted objects' last states are still in the watch history: drop them, so the baseline holds no object.
await fetch(`${server.adminUrl}/devcluster/faults/compact`, { method: 'POST' });
const baseline = await server.memory();
console.log(`devcluster memory: ConfigMaps of ~1 KB stored JSON each; baselines after GC: cold RSS ${figure(cold.rss / MiB, 1)} MiB, warm RSS ${figure(baseline.rss / MiB, 1)} MiB (heap ${figure(baseline.heapUsed / MiB, 1)} MiB)`);
console.log('objects  stored JSON MiB  RSS MiB  heap MiB  (RSS - warm) / JSON  (RSS - cold) / JSON  limit (2.5 x JSON + warm) MiB  verdict');
let created = 0;
let jsonBytes = 0;
let met = true;
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
  met &&= usage.rss < limit;
  console.log(
    `${figure(target).padStart(7)}  ${figure(jsonBytes / MiB, 1).padStart(15)}  ${figure(usage.rss / MiB, 1).padStart(7)}  ${figure(usage.heapUsed / MiB, 1).padStart(8)}  ${figure((usage.rss - baseline.rss) / jsonBytes, 2).padStart(19)}  ${figure((usage.rss - cold.rss) / jsonBytes, 2).padStart(19)}  ${figure(limit / MiB, 1).padStart(29)}  ${usage.rss < limit ? 'under' : 'OVER'}`,
  );
}
console.log(`target: RSS < 2.5 x stored JSON + warm baseline at every step: ${met ? 'MET' : 'NOT MET'}`);
api.close();
await server.stop();
