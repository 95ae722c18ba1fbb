// Benchmark: resident memory of an operator process caching 10,000 ~1 KB objects, steady and at the peak of a relist.
// The measured process is a child running the manager with one controller, measured twice: as the image runs it
// (compiled JavaScript, the node flags of the Dockerfile's ENTRYPOINT and its ENV) and from source (TypeScript,
// V8's default settings).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type JSONInstruction } from 'dockerfile-ast';
import { Registry } from 'prom-client';
import { KubeClient } from '../src/kube/client.ts';
import { createLogger } from '../src/observability/logger.ts';
import { systemClock } from '../src/resilience/clock.ts';
import { Manager } from '../src/runtime/manager.ts';
import { Action } from '../src/runtime/reconciler.ts';
import { RuntimeMetrics } from '../src/runtime/runtime-metrics.ts';
import { publish, size } from './report.ts';
import { createWidgets, startBenchCluster, widgets, type Widget } from './runtime-bench-cluster.ts';

const OBJECTS = size(10_000, 2_000);
const TARGET_MIB = 100;
const TARGET_PEAK_RATIO = 1.5;
const MiB = 1024 * 1024;
const repository = fileURLToPath(new URL('..', import.meta.url));
// Inside node_modules so the compiled modules resolve their dependencies from the repository's node_modules.
const buildDir = join(repository, 'node_modules', '.cache', 'blackroad-runtime-bench');

/** How the image starts node: the flags between node and the script in its ENTRYPOINT, and its ENV. */
function imageRuntime(): { flags: string[]; env: Record<string, string> } {
  const instructions = DockerfileParser.parse(readFileSync(join(repository, 'Dockerfile'), 'utf8')).getInstructions();
  const runtimeStage = instructions.slice(instructions.map((instruction) => instruction.getKeyword()).lastIndexOf('FROM'));
  const entrypoint = runtimeStage.find((instruction) => instruction.getKeyword() === 'ENTRYPOINT') as JSONInstruction | undefined;
  const words = entrypoint?.getJSONStrings().map((word) => word.getJSONValue()) ?? [];
  const env = Object.fromEntries(
    runtimeStage
      .filter((instruction) => instruction.getKeyword() === 'ENV')
      .flatMap((instruction) => instruction.getArguments().map((argument) => argument.getValue().split('=')))
      .map(([name = '', ...value]) => [name, value.join('=').replace(/^"(.*)"$/, '$1')]),
  );
  return { flags: words.slice(1, -1), env };
}

/** How the measured process is started. */
interface Launch {
  readonly label: string;
  readonly command: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
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
  const image = imageRuntime();
  // NODE_OPTIONS from the environment would add flags the image does not have.
  return { label: `built JavaScript, node ${image.flags.join(' ')} (the image's ENTRYPOINT)`, command: [...image.flags, child], env: { NODE_OPTIONS: '', ...image.env } };
}

interface Sample {
  readonly rss: number;
  /** V8's used heap: the JavaScript objects themselves, without the code, stacks and reserves RSS also counts. */
  readonly heap: number;
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
      const usage = process.memoryUsage();
      const sample: Sample = { rss: usage.rss, heap: usage.heapUsed, synced: reflector.store.hasSynced, relists, cached: reflector.store.size };
      process.stdout.write(`${JSON.stringify(sample)}\n`);
    });
  }, 25);
}

/** Runs the measured process against `namespace`; `during` runs once it has been steady for a while. */
async function measure(launch: Launch, kubeconfig: string, namespace: string, during?: () => Promise<void>): Promise<{ steady: number; steadyHeap: number; peak: number; cached: number }> {
  const child = spawn(process.execPath, [...launch.command, kubeconfig, namespace], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...launch.env } });
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
    const quiet = samples.slice(from);
    const mean = (values: readonly number[]): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    const steady = mean(quiet.map((sample) => sample.rss));
    const steadyHeap = mean(quiet.map((sample) => sample.heap));
    let peak = Math.max(...quiet.map((sample) => sample.rss));
    if (during !== undefined) {
      const start = samples.length;
      await during();
      await wait(() => (samples.at(-1)?.relists ?? 0) >= 1, 'to relist');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      peak = Math.max(...samples.slice(start).map((sample) => sample.rss));
    }
    return { steady, steadyHeap, peak, cached: samples.at(-1)?.cached ?? 0 };
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
    const [image, source] = results as [(typeof results)[number], (typeof results)[number]];
    const cached = `${image.loaded.cached.toLocaleString('en-US')} cached Widgets of ${sampleSize} B of JSON`;
    const samples = 'steady = mean of 25 ms RSS samples over 5 s of quiet, from 5 s after the cache synced; peak = highest sample from the forced 410 to 3 s after the relist';
    publish('runtime-memory', [
      {
        name: `RSS steady, ${cached}, as the image runs it`,
        value: image.loaded.steady / MiB,
        unit: 'MiB',
        target: TARGET_MIB,
        comparator: '<=',
        baseline: image.baseline.steady / MiB,
        baselineLabel: 'the same process caching nothing',
        note: `${image.launch.label}; cache cost ${((image.loaded.steady - image.baseline.steady) / image.loaded.cached).toFixed(0)} bytes of RSS per object; ${samples}`,
      },
      {
        name: `V8 heap used, ${cached}, as the image runs it`,
        value: image.loaded.steadyHeap / MiB,
        unit: 'MiB',
        baseline: image.baseline.steadyHeap / MiB,
        baselineLabel: 'the same process caching nothing',
        note: `${((image.loaded.steadyHeap - image.baseline.steadyHeap) / image.loaded.cached).toFixed(0)} bytes of heap per cached object; RSS beyond the heap: ${((image.baseline.steady - image.baseline.steadyHeap) / MiB).toFixed(1)} MiB caching nothing, ${((image.loaded.steady - image.loaded.steadyHeap) / MiB).toFixed(1)} MiB caching`,
      },
      { name: 'RSS at the peak of a relist (410 forced), as the image runs it', value: image.loaded.peak / MiB, unit: 'MiB', target: TARGET_PEAK_RATIO, comparator: '<=', judge: 'ratio', baseline: image.loaded.steady / MiB, baselineLabel: 'the steady RSS just before' },
      {
        name: `RSS steady, ${cached}, from source`,
        value: source.loaded.steady / MiB,
        unit: 'MiB',
        baseline: source.baseline.steady / MiB,
        note: `${source.launch.label}: relist peak ${(source.loaded.peak / MiB).toFixed(1)} MiB (${(source.loaded.peak / source.loaded.steady).toFixed(2)} x steady); shown to explain why the image sets its V8 flags`,
      },
    ]);
  } finally {
    await cluster.stop();
  }
}
