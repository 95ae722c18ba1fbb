// Benchmark: resident memory of an operator process caching 10,000 ~1 KB objects, steady and at the peak of a relist.
// The measured process is a child running the manager with one controller, measured twice: from source (TypeScript,
// default V8 settings) and as a built image runs it (compiled JavaScript with the container's V8 memory flags).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { KubeClient } from '../src/kube/client.ts';
import { createLogger } from '../src/observability/logger.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { Manager } from '../src/runtime/manager.ts';
import { Action } from '../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../src/runtime/runtime-metrics.ts';
import { createWidgets, report, startBenchCluster, widgets, type Widget } from './runtime-bench-cluster.ts';

const OBJECTS = 10_000;
const TARGET_MIB = 100;
const TARGET_PEAK_RATIO = 1.5;
const MiB = 1024 * 1024;
/** V8 settings for a memory-budgeted container: a 1 MiB young generation and size-over-speed heuristics. */
const CONTAINER_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];
const repository = fileURLToPath(new URL('..', import.meta.url));
// Inside node_modules so the compiled modules resolve their dependencies from the repository's node_modules.
const buildDir = join(repository, 'node_modules', '.cache', 'blackroad-runtime-bench');

/** How the measured process is started. */
interface Launch {
  readonly label: string;
  readonly command: readonly string[];
}

/** Compiles src/ as the image build does and writes the measured process as JavaScript next to it. */
function buildImageLaunch(): Launch {
  execFileSync(process.execPath, [join(repository, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repository, 'tsconfig.build.json'), '--outDir', join(buildDir, 'dist'), '--sourceMap', 'false'], { stdio: 'inherit' });
  mkdirSync(buildDir, { recursive: true });
  const child = join(buildDir, 'dist', 'measured-cache.mjs');
  writeFileSync(
    child,
    `import { Registry } from 'prom-client';
import { KubeClient } from './kube/client.js';
import { createLogger } from './observability/logger.js';
import { systemClock } from './resilience/clock.js';
import { Manager } from './runtime/manager.js';
import { Action } from './runtime/reconciler.js';
import { RuntimeMetrics } from './runtime/runtime-metrics.js';
const widgets = ${JSON.stringify(widgets)};
// Node runs this file's TypeScript with its types blanked out, so the function's text is plain JavaScript.
${cache.toString()}
await cache(process.argv[2], process.argv[3]);
`,
  );
  return { label: `built JavaScript, node ${CONTAINER_FLAGS.join(' ')}`, command: [...CONTAINER_FLAGS, child] };
}

interface Sample {
  readonly rss: number;
  readonly synced: boolean;
  readonly relists: number;
  readonly cached: number;
}

/** The measured process: caches the namespace's Widgets and prints a sample every 25 ms. */
async function cache(kubeconfig: string, namespace: string): Promise<void> {
  const registry = new Registry();
  const metrics = new RuntimeMetrics(registry);
  const manager = new Manager({ client: KubeClient.fromFile(kubeconfig, { registry }), clock: systemClock, logger: createLogger({ level: 'warn' }), metrics, namespace });
  const reflector = manager.reflector<Widget>(widgets);
  manager.controller<Widget>({ name: 'widget', for: reflector, reconciler: { reconcile: () => Promise.resolve(Action.done()) } });
  void manager.start(new AbortController().signal);
  setInterval(() => {
    void registry.getSingleMetricAsString('blackroad_watch_relists_total').then((text) => {
      const relists = Number(/ (\d+)$/m.exec(text)?.[1] ?? 0);
      const sample: Sample = { rss: process.memoryUsage().rss, synced: reflector.store.hasSynced, relists, cached: reflector.store.size };
      process.stdout.write(`${JSON.stringify(sample)}\n`);
    });
  }, 25);
}

/** Runs the measured process against `namespace`; `during` runs once it has been steady for a while. */
async function measure(launch: Launch, kubeconfig: string, namespace: string, during?: () => Promise<void>): Promise<{ steady: number; peak: number; cached: number }> {
  const child = spawn(process.execPath, [...launch.command, kubeconfig, namespace], { stdio: ['ignore', 'pipe', 'inherit'] });
  const samples: Sample[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      samples.push(JSON.parse(buffered.slice(0, newline)) as Sample);
      buffered = buffered.slice(newline + 1);
    }
  });
  const wait = async (condition: () => boolean, what: string): Promise<void> => {
    const deadline = Date.now() + 120_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`the measured process never got ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  try {
    await wait(() => samples.at(-1)?.synced === true, 'synced');
    // Steady state: once the list and the first reconcile of every object are digested, over five seconds of quiet.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const from = samples.length;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const quiet = samples.slice(from).map((sample) => sample.rss);
    const steady = quiet.reduce((sum, rss) => sum + rss, 0) / quiet.length;
    let peak = Math.max(...quiet);
    if (during !== undefined) {
      const start = samples.length;
      await during();
      await wait(() => (samples.at(-1)?.relists ?? 0) >= 1, 'to relist');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      peak = Math.max(...samples.slice(start).map((sample) => sample.rss));
    }
    return { steady, peak, cached: samples.at(-1)?.cached ?? 0 };
  } finally {
    child.kill('SIGKILL');
  }
}

if (process.argv[2] === 'cache') {
  await cache(process.argv[3] ?? '', process.argv[4] ?? '');
} else {
  const cluster = await startBenchCluster();
  try {
    const empty = await cluster.namespace('bench-memory-empty');
    const full = await cluster.namespace('bench-memory');
    await createWidgets(cluster.client, full, 'w', OBJECTS, 1024);
    const sampleSize = JSON.stringify((await cluster.client.list<Widget>(widgets, { namespace: full, limit: 1 })).items[0]).length;
    const fromSource: Launch = { label: 'TypeScript from source, default V8 settings', command: [fileURLToPath(import.meta.url), 'cache'] };
    const launches = [buildImageLaunch(), fromSource];
    const relist = async (): Promise<void> => {
      // A write the cache does not watch moves the revision past what it has seen; dropping the history and every
      // watch then makes its resume answer 410, and it relists.
      await createWidgets(cluster.client, empty, `elsewhere-${Date.now()}`, 1, 64);
      await cluster.fault('compact');
      await cluster.fault('close-watches');
    };
    const results = [];
    for (const launch of launches) {
      const baseline = await measure(launch, cluster.kubeconfigPath, empty);
      const loaded = await measure(launch, cluster.kubeconfigPath, full, relist);
      results.push({ launch, baseline, loaded });
    }
    const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
    const [image, source] = results as [(typeof results)[number], (typeof results)[number]];
    report(`runtime memory: resident set of an operator process caching ${image.loaded.cached.toLocaleString('en-US')} Widgets of ${sampleSize} bytes of JSON each`, {
      figure: `${mib(image.loaded.steady)} steady, ${mib(image.loaded.peak)} at the peak of a relist (410 forced); ${image.launch.label}`,
      target: `steady <= ${TARGET_MIB} MiB and relist peak <= ${TARGET_PEAK_RATIO} x steady`,
      met: image.loaded.steady / MiB <= TARGET_MIB && image.loaded.peak / image.loaded.steady <= TARGET_PEAK_RATIO,
      baseline: `${mib(image.baseline.steady)} for the same process caching nothing (same run)`,
      ratio: `relist peak / steady ${(image.loaded.peak / image.loaded.steady).toFixed(2)}; cache cost ${((image.loaded.steady - image.baseline.steady) / image.loaded.cached).toFixed(0)} bytes per object`,
      notes: [
        `${source.launch.label}: ${mib(source.loaded.steady)} steady, ${mib(source.loaded.peak)} relist peak (${(source.loaded.peak / source.loaded.steady).toFixed(2)} x), ${mib(source.baseline.steady)} caching nothing`,
        'steady = mean of 25 ms samples over 5 s of quiet, from 5 s after the cache synced; peak = highest sample from the forced 410 to 3 s after the relist',
      ],
    });
  } finally {
    await cluster.stop();
  }
}
