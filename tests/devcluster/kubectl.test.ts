import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startCluster, type ClusterHarness } from '../support/cluster.ts';
import { transcript } from './transcripts.ts';

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    console.warn('SKIPPED kubectl suite: kubectl is not installed');
    return false;
  }
}
const AVAILABLE = kubectlAvailable();

const GROUP = 'kubectl.transcripts.dev';
const baseCrd = transcript('07').request.body as { spec: Record<string, unknown> };
const crd = { ...baseCrd, metadata: { name: `gizmos.${GROUP}` }, spec: { ...baseCrd.spec, group: GROUP } };

let cluster: ClusterHarness;
let dir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: readonly string[], options: { token?: string } = {}): Promise<Run> {
  const extra = options.token === undefined ? [] : [`--token=${options.token}`];
  return new Promise((resolve) => {
    execFile('kubectl', [...args, ...extra], { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  return path;
}

const gizmo = (name: string, size: number) => ({ apiVersion: `${GROUP}/v1`, kind: 'Gizmo', metadata: { name, labels: { tier: 'frontend' } }, spec: { size, color: 'blue' } });

beforeAll(async () => {
  cluster = await startCluster({ suite: 'kubectl', rbac: true });
  dir = mkdtempSync(join(tmpdir(), 'kubectl-test-'));
});
afterAll(async () => {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!AVAILABLE)('the real kubectl against the cluster', () => {
  it('applies a CRD and waits for it to be Established', async () => {
    const applied = await kubectl(['apply', '-f', file('crd.yaml', crd)]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(new RegExp(`customresourcedefinition.apiextensions.k8s.io/gizmos.${GROUP.replaceAll('.', '\\.')} (created|configured|unchanged)`));
    const waited = await kubectl(['wait', '--for=condition=Established', `crd/gizmos.${GROUP}`, '--timeout=30s']);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toContain('condition met');
  });

  it('applies custom resources and shows their printer columns', async () => {
    const created = await kubectl(['apply', '-n', cluster.namespace, '-f', file('gizmo.yaml', gizmo('gizmo-k', 2))]);
    expect(created.stdout.trim()).toBe(`gizmo.${GROUP}/gizmo-k created`);
    const changed = await kubectl(['apply', '-n', cluster.namespace, '-f', file('gizmo.yaml', gizmo('gizmo-k', 3))]);
    expect(changed.stdout.trim()).toBe(`gizmo.${GROUP}/gizmo-k configured`);
    const unchanged = await kubectl(['apply', '-n', cluster.namespace, '-f', file('gizmo.yaml', gizmo('gizmo-k', 3))]);
    expect(unchanged.stdout.trim()).toBe(`gizmo.${GROUP}/gizmo-k unchanged`);
    const table = await kubectl(['get', `gizmos.${GROUP}`, '-n', cluster.namespace]);
    const [header, row] = table.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'SIZE', 'COLOR', 'PHASE', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 3)).toEqual(['gizmo-k', '3', 'blue']);
    const wide = await kubectl(['get', `gizmos.${GROUP}`, '-n', cluster.namespace, '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]?.split(/\s+/)).toContain('IMAGE');
  });

  it('patches the status subresource with kubectl patch --subresource=status', async () => {
    const patched = await kubectl(['patch', `gizmos.${GROUP}`, 'gizmo-k', '-n', cluster.namespace, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready","observedGeneration":2}}']);
    expect(patched.stdout.trim()).toBe(`gizmo.${GROUP}/gizmo-k patched`);
    const phase = await kubectl(['get', `gizmos.${GROUP}`, 'gizmo-k', '-n', cluster.namespace, '-o', 'jsonpath={.status.phase} {.metadata.generation}']);
    expect(phase.stdout).toBe('Ready 2');
  });

  it('sees changes with kubectl get -w', async () => {
    const child = spawn('kubectl', ['get', `gizmos.${GROUP}`, '-n', cluster.namespace, '-w', '--request-timeout=20s'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      const deadline = Date.now() + 15_000;
      while (!output.includes('gizmo-k') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      await cluster.request('PATCH', `/apis/${GROUP}/v1/namespaces/${cluster.namespace}/gizmos/gizmo-k/status`, { body: { status: { phase: 'Busy' } }, contentType: 'application/merge-patch+json' });
      while (!output.includes('Busy') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toMatch(/gizmo-k\s+3\s+blue\s+Busy/);
    } finally {
      child.kill();
    }
  });

  it('waits in kubectl delete until the last finalizer is removed', async () => {
    await kubectl(['apply', '-n', cluster.namespace, '-f', file('fin.yaml', { ...gizmo('gizmo-fin', 1), metadata: { name: 'gizmo-fin', finalizers: ['demo.transcripts.dev/cleanup'] } })]);
    let exited: number | null = null;
    let stdout = '';
    const child = spawn('kubectl', ['delete', `gizmos.${GROUP}`, 'gizmo-fin', '-n', cluster.namespace, '--timeout=30s'], { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const done = new Promise<void>((resolve) => child.on('exit', (code) => ((exited = code), resolve())));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(exited).toBeNull();
    const terminating = await cluster.request('GET', `/apis/${GROUP}/v1/namespaces/${cluster.namespace}/gizmos/gizmo-fin`);
    expect(terminating.json<{ metadata: { deletionTimestamp?: string } }>().metadata.deletionTimestamp).toBeDefined();
    await cluster.request('PATCH', `/apis/${GROUP}/v1/namespaces/${cluster.namespace}/gizmos/gizmo-fin`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
    await done;
    expect(exited).toBe(0);
    expect(stdout.trim()).toBe(`gizmo.${GROUP} "gizmo-fin" deleted`);
  });

  it('applies a Deployment twice, merging containers by name', async () => {
    const deployment = (image: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', labels: { app: 'api' } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image, ports: [{ containerPort: 80 }] }, { name: 'log-shipper', image: 'busybox:1.36', command: ['sleep', 'infinity'] }] } },
      },
    });
    const first = await kubectl(['apply', '-n', cluster.namespace, '-f', file('deploy.yaml', deployment('nginx:1.25'))]);
    expect(first.stdout.trim()).toBe('deployment.apps/api created');
    const second = await kubectl(['apply', '-n', cluster.namespace, '-f', file('deploy.yaml', deployment('nginx:1.27'))]);
    expect(second.stdout.trim()).toBe('deployment.apps/api configured');
    expect(second.stderr).toBe('');
    const images = await kubectl(['get', 'deployment', 'api', '-n', cluster.namespace, '-o', 'jsonpath={.spec.template.spec.containers[*].image} {.metadata.generation}']);
    expect(images.stdout).toBe('nginx:1.27 busybox:1.36 2');
  });

  it('answers kubectl auth can-i from RBAC', async () => {
    const token = await cluster.serviceAccountToken('reader');
    const before = await kubectl(['auth', 'can-i', 'list', `gizmos.${GROUP}`, '-n', cluster.namespace], { token });
    expect(before.stdout.trim()).toBe('no');
    expect(before.code).toBe(1);
    await cluster.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${cluster.namespace}/roles`, { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader' }, rules: [{ apiGroups: [GROUP], resources: ['gizmos'], verbs: ['get', 'list', 'watch'] }] } });
    await cluster.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${cluster.namespace}/rolebindings`, {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: cluster.namespace }] },
    });
    const after = await kubectl(['auth', 'can-i', 'list', `gizmos.${GROUP}`, '-n', cluster.namespace], { token });
    expect(after.stdout.trim()).toBe('yes');
    const create = await kubectl(['auth', 'can-i', 'create', `gizmos.${GROUP}`, '-n', cluster.namespace], { token });
    expect(create.stdout.trim()).toBe('no');
  });

  it('explains a custom resource field from the CRD schema', async () => {
    const explained = await kubectl(['explain', `gizmos.${GROUP}.spec`]);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('Desired state of the gizmo.');
    expect(explained.stdout).toMatch(/size\s+<integer> -required-/);
    expect(explained.stdout).toContain('enum: red, green, blue');
  });

  it('deletes the CRD', async () => {
    const deleted = await kubectl(['delete', 'crd', `gizmos.${GROUP}`, '--timeout=60s']);
    expect(deleted.code).toBe(0);
  });
});
