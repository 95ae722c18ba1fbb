import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICES_PORT } from '../../src/devcluster/demo-services.ts';
import { startProcess } from '../support/cli-process.ts';

// The newcomer's path, as the README's quickstart gives it and with its own commands: a fresh clone of the committed
// tree, `npm run dev`, then the README's kubectl session (`kubectl apply -f examples/`, the approval the Railway
// example asks for), and every Deploy and Sweep Ready.
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
function approvalLine(): string {
  const example = readFileSync(join(repoRoot, 'examples/deploy-railway.yaml'), 'utf8');
  const line = /^#\s+(kubectl annotate .+)$/m.exec(example)?.[1];
  if (line === undefined) throw new Error('examples/deploy-railway.yaml does not say how to approve it with kubectl annotate');
  return line.trim();
}

/** The README's quickstart: the command that runs the operator, and the shell session that follows it. */
function quickstart(): { readonly run: string; readonly session: string } {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quickstart\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const [runBlock, sessionBlock] = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => (match[1] ?? '').trim());
  if (start < 0 || runBlock === undefined || sessionBlock === undefined) throw new Error('README.md has no "## Quickstart" with a run command and a kubectl session');
  return { run: runBlock, session: sessionBlock };
}

describe('a newcomer on a fresh clone', () => {
  it("runs the README's quickstart: npm run dev, its kubectl session (examples applied, the Railway Deploy approved), every Deploy and Sweep Ready; Ctrl-C stops it", async () => {
    const { run: runCommand, session } = quickstart();
    // One command to run: `npm ci` installs the packages, `npm run dev` the rest.
    expect(runCommand).toBe('npm ci && npm run dev');
    // The session approves the Railway Deploy as the example's own comments say.
    expect(session.split('\n')).toContain(approvalLine());

    const clone = join(dir, 'blackroad-os-operator');
    const { stdout: head } = await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot });
    await run('git', ['clone', '--quiet', '--no-checkout', repoRoot, clone]);
    await run('git', ['-C', clone, 'checkout', '--quiet', '--detach', head.trim()]);
    // `npm ci`: the test reuses this checkout's installed packages instead of installing them again.
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');

    expect(await demoPortFree(60_000), `127.0.0.1:${DEMO_SERVICES_PORT} stayed in use: another dev process holds the demo services' port`).toBe(true);
    // `npm run dev` as written, but on a free API port (other work on the machine may hold 6443) and with the
    // operator's metrics and probes off; the kubeconfig stays where the README's session expects it.
    const dev = startProcess('npm', ['run', 'dev', '--', '--port', '0'], {
      cwd: clone,
      env: { ...process.env, METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0', LOG_LEVEL: 'info' },
      processGroup: true,
    });
    const kubeconfig = join(clone, '.devcluster', 'kubeconfig');
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, '-n', 'default', ...args], { cwd: clone });
    try {
      await dev.waitForOutput(/^demo services: .*$/m, 60_000);
      const printed = dev.stdout.split('\n').filter((line) => /^(kubeconfig|demo services): /.test(line));
      expect(printed, dev.stderr.slice(-2000)).toEqual([`kubeconfig: ${kubeconfig}`, `demo services: http://127.0.0.1:${DEMO_SERVICES_PORT}`]);

      // The README's session, line by line as a reader pastes it, stopping at the first failing command.
      const environment = { ...process.env };
      delete environment['KUBECONFIG'];
      const { stdout: transcript } = await run('bash', ['-euo', 'pipefail', '-c', session], { cwd: clone, env: environment, timeout: 120_000 });
      expect(transcript).toContain('sweep.operator.blackroad.io/nightly condition met');

      const phases = await kubectl('get', 'deploys,sweeps', '-o', 'jsonpath={range .items[*]}{.kind}/{.metadata.name}={.status.phase}{"\\n"}{end}');
      expect(phases.stdout.trim().split('\n').sort()).toEqual(['Deploy/api=Succeeded', 'Deploy/billing=Succeeded', 'Deploy/web=Succeeded', 'Sweep/nightly=Succeeded']);
      const summary = await kubectl('get', 'sweeps/nightly', '-o', 'jsonpath={.status.summary}');
      expect(JSON.parse(summary.stdout)).toEqual({ passed: 6, failed: 0, errored: 0, skipped: 0 });
      const approver = await kubectl('get', 'deploys/billing', '-o', 'jsonpath={.status.approval.approvedBy}');
      expect(approver.stdout).toBe(approvalLine().split('=').at(-1));
    } finally {
      await dev.stop('SIGINT');
    }
    // npm ends by the SIGINT itself, as after a Ctrl-C; the operator under it stops gracefully and nothing is left.
    const code = await dev.exited;
    expect(dev.exitSignal ?? `exit code ${code}`, dev.stderr.slice(-2000)).toMatch(/^(SIGINT|exit code 0)$/);
    expect(dev.stderr).toContain('"reason":"SIGINT","msg":"devcluster stopping"');
    expect(dev.stderr).toContain('"msg":"operator stopped"');
  }, 120_000);
});
