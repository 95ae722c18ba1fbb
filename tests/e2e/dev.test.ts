import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.ts';
import { startHealthEndpoint } from '../support/fakes/health-endpoint.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'e2e-dev-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function manifest(healthUrl: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: default
  annotations:
    devcluster.blackroad.io/delay-ms: "150"
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
        - name: shop
          image: ghcr.io/acme/shop:1.0.0
---
apiVersion: operator.blackroad.io/v1alpha1
kind: Deploy
metadata:
  name: shop
  namespace: default
spec:
  service: shop
  version: "1.1.0"
  provider:
    kubernetes: {deployment: shop, container: shop, image: "ghcr.io/acme/shop:1.1.0"}
  healthCheck: {url: "${healthUrl}", intervalSeconds: 1, successThreshold: 2}
`;
}

describe('blackroad-operator dev, end to end', () => {
  it('runs the API server, the simulator and the operator: a Deploy applied with kubectl becomes Ready, and SIGTERM exits 0', async () => {
    const health = await startHealthEndpoint();
    const kubeconfig = join(dir, 'kubeconfig');
    const dev = startCli(['dev', '--port', '0', '--kubeconfig', kubeconfig, '--no-demo'], {
      cwd: repoRoot,
      env: { ...process.env, METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0', LOG_LEVEL: 'info' },
    });
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
    try {
      await dev.waitForOutput(/\n/);
      expect(dev.stdout.split('\n')[0], dev.stderr).toBe(`kubeconfig: ${kubeconfig}`);

      const file = join(dir, 'shop.yaml');
      writeFileSync(file, manifest(health.url));
      await kubectl('apply', '-f', file);
      const waited = await kubectl('wait', '--for=condition=Ready', 'deploys.operator.blackroad.io/shop', '-n', 'default', '--timeout=60s');
      expect(waited.stdout).toContain('condition met');

      const listed = await kubectl('get', 'blackroad', '-n', 'default');
      expect(listed.stdout).toMatch(/deploy\.operator\.blackroad\.io\/shop\s+shop\s+1\.1\.0\s+Succeeded\s+True/);
      const image = await kubectl('get', 'deployment', 'shop', '-n', 'default', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
      expect(image.stdout).toBe('ghcr.io/acme/shop:1.1.0');
      expect(health.probes).toBeGreaterThanOrEqual(2);
    } finally {
      await dev.stop();
      await health.close();
    }
    expect(await dev.exited, dev.stderr.slice(-2000)).toBe(0);
    expect(dev.stderr).toContain('"msg":"operator stopped"');
  }, 60_000);
});
