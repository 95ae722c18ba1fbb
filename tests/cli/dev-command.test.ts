import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { runCli } from '../../src/cli/cli.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { startCli } from '../support/cli-process.ts';
import { captureIo } from '../support/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'dev-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('blackroad-operator dev', () => {
  it('writes a kubeconfig, prints it once ready, serves the API and exits 0 on SIGTERM', async () => {
    const kubeconfig = join(dir, 'nested', 'kubeconfig');
    const child = spawn(process.execPath, ['src/cli/main.ts', 'dev', '--port', '0', '--kubeconfig', kubeconfig, '--no-operator', '--demo-port', '0'], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.includes('demo services: ') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(stdout.split('\n')[0]).toBe(`kubeconfig: ${kubeconfig}`);
      const demo = /^demo services: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1];
      expect(demo, stdout).toBeDefined();
      expect(await (await fetch(`${demo ?? ''}/health/api`)).text()).toBe('ok');
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kubeconfig);
      const client = KubeClient.fromKubeConfig(kubeConfig);
      const namespace = await client.request({ method: 'GET', path: '/api/v1/namespaces/default' });
      const deploys = await client.request({ method: 'GET', path: '/apis/operator.blackroad.io/v1alpha1/namespaces/default/deploys' });
      client.close();
      expect(deploys).toMatchObject({ kind: 'DeployList', items: [] });
      expect(namespace).toMatchObject({ kind: 'Namespace', metadata: { name: 'default' } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('shuts down gracefully when the stop signal arrives twice (a Ctrl-C under npm run), exiting 0', async () => {
    const dev = startCli(['dev', '--port', '0', '--kubeconfig', join(dir, 'twice', 'kubeconfig'), '--no-demo'], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, LOG_LEVEL: 'info', METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0' },
    });
    await dev.waitForOutput(/^kubeconfig: /m, 30_000);
    dev.signal('SIGINT');
    // The copy npm forwards comes a little later than the one the terminal sent to the whole group: while it stops.
    while (!dev.stderr.includes('devcluster stopping') && dev.exitSignal === null) await new Promise((resolve) => setTimeout(resolve, 1));
    dev.signal('SIGINT');
    expect(await dev.exited, dev.stderr.slice(-2000)).toBe(0);
    expect(dev.stderr).toContain('"reason":"SIGINT","msg":"devcluster stopping"');
    expect(dev.stderr).toContain('"msg":"operator stopped"');
  }, 60_000);

  it('rejects a bad port with exit code 2 and one line', async () => {
    const io = captureIo();
    expect(await runCli(['dev', '--port', 'http'], io, COMMANDS)).toBe(2);
    expect(io.stderrText()).toBe('blackroad-operator dev: --port: "http" is not a port; a whole number from 0 to 65535\n');
  });

  it('stops with exit code 1 and one line when the demo services cannot have their port, before starting anything', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const io = captureIo({ LOG_LEVEL: 'silent' });
    try {
      expect(await runCli(['dev', '--port', '0', '--kubeconfig', join(dir, 'taken'), '--demo-port', String(port)], io, COMMANDS)).toBe(1);
    } finally {
      taken.close();
    }
    expect(io.stderrText()).toBe(`blackroad-operator dev: demo services cannot listen on 127.0.0.1:${port}: the address is in use; --demo-port PORT serves them elsewhere, --no-demo not at all\n`);
    expect(io.stdoutText()).toBe('');
    expect(existsSync(join(dir, 'taken'))).toBe(false);
  });

  it('says in its help that it runs the operator unless --no-operator is given', async () => {
    const io = captureIo();
    expect(await runCli(['dev', '--help'], io, COMMANDS)).toBe(0);
    expect(io.stdoutText()).toContain('It also runs the operator against that server, unless --no-operator is given.');
  });

  it('runs a plugged-in operator until stopped', async () => {
    const { devCommand } = await import('../../src/cli/dev-command.ts');
    let sawKubeconfig = '';
    let stopped = false;
    let stop: (reason: string) => void = () => undefined;
    const command = devCommand({
      operator: {
        name: 'operator',
        async run(context, signal) {
          sawKubeconfig = context.kubeconfigPath;
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
          stopped = true;
        },
      },
      stopSignal: () => new Promise((resolve) => (stop = resolve)),
    });
    const io = captureIo({ LOG_LEVEL: 'silent' });
    const done = command.run(['--port', '0', '--kubeconfig', join(dir, 'plugged'), '--no-demo'], io);
    const deadline = Date.now() + 10_000;
    while (sawKubeconfig === '' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    stop('test');
    expect(await done).toBe(0);
    expect(sawKubeconfig).toBe(join(dir, 'plugged'));
    expect(stopped).toBe(true);
  });
});
