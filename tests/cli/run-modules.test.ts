import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customResourceDefinition } from '../../src/api/crd.ts';
import { KINDS } from '../../src/api/kinds.ts';
import { startCli, type CliProcess } from '../support/cli-process.ts';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { REPO_ROOT } from '../support/kustomize.ts';

// `blackroad-operator run` loads what it uses and nothing else: not the embedded API server of `dev` (DESIGN.md §2:
// the devcluster is imported only by `dev` and tests) and not @kubernetes/client-node (src/kube reads kubeconfigs
// itself and loads client-node only for exec plugins and auth providers). The operator runs as a child process with
// a hook that records every module it loads, until it has reconciled a Deploy; then the list is read.
const dir = mkdtempSync(join(tmpdir(), 'run-modules-'));
const hook = fileURLToPath(new URL('../support/loaded-modules.ts', import.meta.url));
let cluster: ClusterHarness;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'run-modules', crds: KINDS.map((kind) => customResourceDefinition(kind) as unknown as Record<string, unknown>) });
}, 30_000);
afterAll(async () => {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `blackroad-operator ARGS` under the hook until `ready` resolves, stops it, and returns the modules it loaded. */
async function modulesLoadedBy(args: readonly string[], env: NodeJS.ProcessEnv, ready: (cli: CliProcess) => Promise<void>): Promise<string[]> {
  const file = join(dir, `${args[0] ?? 'cli'}-modules.txt`);
  const cli = startCli(args, { cwd: REPO_ROOT, env: { ...process.env, ...env, LOADED_MODULES_FILE: file, NODE_OPTIONS: `--import=${hook}` } });
  try {
    await ready(cli);
  } finally {
    await cli.stop('SIGTERM');
  }
  expect(await cli.exited, `ended by ${cli.exitSignal ?? 'no signal'}\n${cli.stdout.slice(-1000)}\n${cli.stderr.slice(-2000)}`).toBe(0);
  return readFileSync(file, 'utf8').split('\n');
}

/** The modules of the repository's src/ folder `folder`, and of the package `name`, among `modules`. */
const ofSource = (modules: readonly string[], folder: string) => modules.filter((url) => url.includes(`/src/${folder}/`));
const ofPackage = (modules: readonly string[], name: string) => modules.filter((url) => url.includes(`/node_modules/${name}/`));

describe('the modules blackroad-operator run loads', () => {
  it('include neither the devcluster nor @kubernetes/client-node, up to a reconciled Deploy', async () => {
    const deploy = {
      apiVersion: 'operator.blackroad.io/v1alpha1',
      kind: 'Deploy',
      metadata: { name: 'api', namespace: cluster.namespace },
      spec: { service: 'api', version: '1.0.0', provider: { webhook: { url: 'https://hooks.example/deploy', secretRef: { name: 'absent', key: 'hmac' } } } },
    };
    const modules = await modulesLoadedBy(
      ['run', '--kubeconfig', cluster.kubeconfigPath, '--watch-namespace', cluster.namespace, '--leader-elect=false'],
      { LOG_LEVEL: 'info', METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0' },
      async (cli) => {
        await cli.waitForOutput(/"msg":"operator started"/);
        const deadline = Date.now() + 20_000;
        const created = await cluster.request('POST', `/apis/operator.blackroad.io/v1alpha1/namespaces/${cluster.namespace}/deploys`, { body: deploy });
        expect(created.status, created.text).toBe(201);
        // The Deploy stalls on its missing Secret: a reconcile, a workflow step and a status write have run.
        for (;;) {
          const current = (await cluster.request('GET', `/apis/operator.blackroad.io/v1alpha1/namespaces/${cluster.namespace}/deploys/api`)).json<{ status?: { conditions?: { type: string; status: string }[] } }>();
          if (current.status?.conditions?.some((condition) => condition.type === 'Stalled' && condition.status === 'True') === true) break;
          if (Date.now() > deadline) throw new Error(`the Deploy did not stall within 20 s: ${JSON.stringify(current.status)}\n${cli.stdout.slice(-3000)}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
    );
    // The hook saw the operator itself, so an empty list cannot pass.
    expect(ofSource(modules, 'controllers').length).toBeGreaterThan(10);
    expect(ofPackage(modules, 'prom-client').length).toBeGreaterThan(0);
    expect(ofSource(modules, 'devcluster')).toEqual([]);
    expect(ofPackage(modules, '@kubernetes/client-node')).toEqual([]);
    // Without REDIS_URL, Redis's client is not loaded either.
    expect(ofPackage(modules, 'ioredis')).toEqual([]);
  }, 60_000);

  it('while dev, which needs it, loads the devcluster (the check sees a module that is there)', async () => {
    const modules = await modulesLoadedBy(['dev', '--port', '0', '--kubeconfig', join(dir, 'dev.kubeconfig'), '--no-operator', '--no-demo'], { LOG_LEVEL: 'info' }, (cli) => cli.waitForOutput(/^kubeconfig: /m).then(() => undefined));
    expect(ofSource(modules, 'devcluster')).toContainEqual(expect.stringMatching(/\/src\/devcluster\/dev-cluster\.ts$/));
  }, 60_000);
});
