import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICES_PORT } from '../../src/devcluster/demo-services.ts';
import { startCli } from '../support/cli-process.ts';

// The newcomer's path, as the README gives it: a fresh clone of the committed tree, `blackroad-operator dev`,
// `kubectl apply -f examples/`, the approval the Railway example asks for, and every Deploy and Sweep Ready.
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'e2e-newcomer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * The examples name the demo services on their fixed port, so only one newcomer run at a time can hold it on a
 * shared machine: wait (bounded) for another run's dev process to go before starting ours.
 */
async function demoPortFree(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await listening(DEMO_SERVICES_PORT)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return true;
}

/** The `kubectl annotate ...` line the Railway example's comments tell a reader to run. */
function approvalCommand(): string[] {
  const example = readFileSync(join(repoRoot, 'examples/deploy-railway.yaml'), 'utf8');
  const line = /^#\s+(kubectl annotate .+)$/m.exec(example)?.[1];
  if (line === undefined) throw new Error('examples/deploy-railway.yaml does not say how to approve it with kubectl annotate');
  return line.trim().split(/\s+/).slice(1);
}

describe('a newcomer on a fresh clone', () => {
  it('runs dev, applies examples/, approves the Railway Deploy as its comments say, and sees every Deploy and Sweep Ready; SIGTERM exits 0', async () => {
    const clone = join(dir, 'blackroad-os-operator');
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot });
    await run('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
    await run('git', ['-C', clone, 'checkout', '--quiet', '--detach', head.trim()]);
    // `npm ci` is the README's first step; the test reuses this checkout's installed packages instead.
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');

    expect(await demoPortFree(60_000), `127.0.0.1:${DEMO_SERVICES_PORT} stayed in use: another dev process holds the demo services' port`).toBe(true);
    const kubeconfig = join(dir, 'kubeconfig');
    const dev = startCli(['dev', '--port', '0', '--kubeconfig', kubeconfig], {
      cwd: clone,
      // The operator's metrics and probes on free ports, so the run does not clash with other work on the machine.
      env: { ...process.env, METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0', LOG_LEVEL: 'info' },
    });
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, '-n', 'default', ...args], { cwd: clone });
    try {
      await dev.waitForOutput(/^demo services: .*$/m);
      expect(dev.stdout.split('\n').slice(0, 2), dev.stderr.slice(-2000)).toEqual([`kubeconfig: ${kubeconfig}`, `demo services: http://127.0.0.1:${DEMO_SERVICES_PORT}`]);

      await kubectl('apply', '-f', 'examples/');
      await kubectl('wait', '--for=jsonpath={.status.phase}=AwaitingApproval', 'deploys/billing', '--timeout=20s');
      await kubectl(...approvalCommand());

      const deploys = await kubectl('wait', '--for=condition=Ready', 'deploys', '--all', '--timeout=30s');
      const sweeps = await kubectl('wait', '--for=condition=Ready', 'sweeps', '--all', '--timeout=30s');
      expect(deploys.stdout.trim().split('\n').sort()).toEqual(['api', 'billing', 'web'].map((name) => `deploy.operator.blackroad.io/${name} condition met`));
      expect(sweeps.stdout.trim()).toBe('sweep.operator.blackroad.io/nightly condition met');

      const phases = await kubectl('get', 'deploys,sweeps', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.status.phase}{"\\n"}{end}');
      expect(phases.stdout.trim().split('\n').sort()).toEqual(['Deploy/api=Succeeded', 'Deploy/billing=Succeeded', 'Deploy/web=Succeeded', 'Sweep/nightly=Succeeded']);
      const summary = await kubectl('get', 'sweeps/nightly', '-o', 'jsonpath={.status.summary}');
      expect(JSON.parse(summary.stdout)).toEqual({ passed: 6, failed: 0, errored: 0, skipped: 0 });
      const approver = await kubectl('get', 'deploys/billing', '-o', 'jsonpath={.status.approval.approvedBy}');
      expect(approver.stdout).toBe(approvalCommand().at(-1)?.split('=')[1]);
    } finally {
      await dev.stop();
    }
    expect(await dev.exited, dev.stderr.slice(-2000)).toBe(0);
    expect(dev.stderr).toContain('"msg":"operator stopped"');
  }, 120_000);
});
