// Model-based test of the runtime's cache against a real API server: random creates, updates and deletes interleaved
// with dropped watches, forced relists (410), failing lists and watches and server restarts from the devcluster's
// fault injection. Whenever the reflector has caught up, its store, its label index and what its subscribers were
// told all equal the server's state, as the model (built from the server's own answers) has it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinResources, KubeClient, type KubeObject } from '../../src/kube/client.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { Reflector } from '../../src/runtime/reflector.ts';
import { LABEL_INDEX } from '../../src/runtime/store.ts';
import { FAULTS_AVAILABLE, startCluster, type ClusterHarness } from '../support/cluster.ts';
import { propertyRuns, propertyTimeoutMs } from './property-runs.ts';

const configMaps = builtinResources.configMaps;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const TIERS = ['web', 'db', 'cache'] as const;
/** How long the cache may take to catch up after the last change before the test calls it lost. */
const CATCH_UP_MS = 10_000;

/** The server's state as its answers to our writes describe it: name → resourceVersion and tier label. */
class Model {
  readonly objects = new Map<string, { resourceVersion: string; tier: string }>();
}

/** One run: its namespace, the reflector under test and what its subscribers were told. */
interface Real {
  readonly namespace: string;
  readonly client: KubeClient;
  readonly reflector: Reflector;
  /** name → resourceVersion, from onApply/onDelete alone. */
  readonly told: Map<string, string>;
}

let cluster: ClusterHarness;
let client: KubeClient;
let runs = 0;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'store-model' });
  client = KubeClient.fromFile(cluster.kubeconfigPath, { requestTimeoutMs: 30_000 });
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

const versions = (objects: Iterable<KubeObject>): Map<string, string> => new Map([...objects].map((object) => [object.metadata.name ?? '', object.metadata.resourceVersion ?? '']));

/** Waits until the cache and the subscribers' view equal the model, then checks the label index too. */
async function expectCaughtUp(model: Model, real: Real): Promise<void> {
  const expected = new Map([...model.objects].map(([name, { resourceVersion }]) => [name, resourceVersion]));
  const deadline = Date.now() + CATCH_UP_MS;
  while (Date.now() < deadline) {
    const cached = versions(real.reflector.store.list());
    if (real.reflector.store.hasSynced && equal(cached, expected) && equal(real.told, expected)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(versions(real.reflector.store.list()), 'the cache differs from the server').toEqual(expected);
  expect(real.told, 'the subscribers were told another state than the server has').toEqual(expected);
  for (const tier of TIERS) {
    const indexed = real.reflector.store.byIndex(LABEL_INDEX, `tier=${tier}`).map((object) => object.metadata.name);
    const labelled = [...model.objects].filter(([, object]) => object.tier === tier).map(([name]) => name);
    expect(indexed.sort(), `label index tier=${tier}`).toEqual(labelled.sort());
  }
}

function equal(left: ReadonlyMap<string, string>, right: ReadonlyMap<string, string>): boolean {
  if (left.size !== right.size) return false;
  for (const [key, value] of left) if (right.get(key) !== value) return false;
  return true;
}

type Command = fc.AsyncCommand<Model, Real>;

function command(name: string, check: (model: Readonly<Model>) => boolean, run: (model: Model, real: Real) => Promise<void>): Command {
  return { check, run, toString: () => name };
}

const name = fc.constantFrom(...NAMES);
const tier = fc.constantFrom(...TIERS);

const writes = [
  fc.tuple(name, tier).map(([object, label]) =>
    command(
      `create(${object}, tier=${label})`,
      (model) => !model.objects.has(object),
      async (model, real) => {
        const created = await client.create<KubeObject>(configMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: object, namespace: real.namespace, labels: { tier: label } }, data: { revision: '0' } } as KubeObject);
        model.objects.set(object, { resourceVersion: created.metadata.resourceVersion ?? '', tier: label });
      },
    ),
  ),
  fc.tuple(name, tier, fc.nat(1000)).map(([object, label, revision]) =>
    command(
      `update(${object}, tier=${label})`,
      (model) => model.objects.has(object),
      async (model, real) => {
        const updated = await client.patch(configMaps, object, { metadata: { labels: { tier: label } }, data: { revision: String(revision) } }, { namespace: real.namespace });
        model.objects.set(object, { resourceVersion: updated.metadata.resourceVersion ?? '', tier: label });
      },
    ),
  ),
  name.map((object) =>
    command(
      `delete(${object})`,
      (model) => model.objects.has(object),
      async (model, real) => {
        await client.delete(configMaps, object, { namespace: real.namespace });
        model.objects.delete(object);
      },
    ),
  ),
];

const faults = [
  fc.constant(command('close every watch', () => true, async () => void cluster.faults?.closeWatches())),
  fc.constant(
    command('drop the history and every watch (resumes answer 410: relist)', () => true, async () => {
      cluster.faults?.compactHistory();
      cluster.faults?.closeWatches();
    }),
  ),
  fc.constantFrom(500, 503, 429).map((code) =>
    command(`fail the next watches with ${code}, then close every watch`, () => true, async (_model, real) => {
      cluster.faults?.failNext({ verb: 'watch', resource: 'configmaps', namespace: real.namespace, code: code as 500 | 503 | 429, count: 2, retryAfterSeconds: 0 });
      cluster.faults?.closeWatches();
    }),
  ),
  fc.constant(
    command('fail the next list with 500, then force a relist', () => true, async (_model, real) => {
      cluster.faults?.failNext({ verb: 'list', resource: 'configmaps', namespace: real.namespace, code: 500 });
      cluster.faults?.compactHistory();
      cluster.faults?.closeWatches();
    }),
  ),
  fc.constant(command('restart the API server, keeping its state', () => true, async () => void (await cluster.faults?.restart({ keepState: true, downMs: 20 })))),
];

const catchUp = fc.constant(command('wait for the cache to catch up, and compare', () => true, (model, real) => expectCaughtUp(model, real)));

// Writes are listed twice so that most sequences change the server between faults and catch-ups.
const commands = [...writes, ...writes, catchUp, ...(FAULTS_AVAILABLE ? faults : [])];

/** Starts a reflector over a fresh namespace; lists in pages of 2 so that relists paginate. */
async function startRun(): Promise<{ real: Real; stop: () => Promise<void> }> {
  runs += 1;
  const namespace = `${cluster.namespace}-${runs}`;
  await client.create(builtinResources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const reflector = new Reflector({
    source: KubeClient.fromFile(cluster.kubeconfigPath),
    resource: configMaps,
    namespace,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    pageSize: 2,
    // Reconnect at once: the test is about what the cache ends up holding, not about backoff timing.
    backoff: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  const told = new Map<string, string>();
  reflector.subscribe({
    onApply: (object) => void told.set(object.metadata.name ?? '', object.metadata.resourceVersion ?? ''),
    onDelete: (object) => void told.delete(object.metadata.name ?? ''),
  });
  const controller = new AbortController();
  const running = reflector.start(controller.signal);
  await reflector.store.waitForSync();
  return {
    real: { namespace, client, reflector, told },
    stop: async () => {
      controller.abort();
      await running;
      cluster.faults?.reset();
      await client.delete(builtinResources.namespaces, namespace).catch(() => undefined);
    },
  };
}

describe('the runtime cache against a real API server and its faults', () => {
  it(
    'equals the server state whenever it has caught up, through any sequence of writes, dropped watches, relists, failing requests and restarts',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: 30, size: 'max' }), async (sequence) => {
          const { real, stop } = await startRun();
          try {
            const model = new Model();
            await fc.asyncModelRun(() => ({ model, real }), sequence);
            await expectCaughtUp(model, real);
          } finally {
            await stop();
          }
        }),
        // No shrinking: each shrink step replays a sequence against the server and waits out the catch-up time, so a
        // failure is reported as found (at most 30 commands).
        { ...propertyRuns(12, 300), endOnFailure: true },
      );
    },
    propertyTimeoutMs(60_000, 1_800_000),
  );
});
