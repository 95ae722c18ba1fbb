// The long-running npm scripts hand their process to node, so a signal sent to `npm` alone (a supervisor, a CI step
// that times out) reaches the operator instead of leaving it running without a parent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startProcess } from '../support/cli-process.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'e2e-npm-scripts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run dev', () => {
  it('stops, with the process it started, when only npm is sent SIGTERM', async () => {
    const kubeconfig = join(dir, 'kubeconfig');
    const dev = startProcess('npm', ['run', '--silent', 'dev', '--', '--port', '0', '--kubeconfig', kubeconfig, '--no-operator', '--no-demo'], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'silent' },
    });
    await dev.waitForOutput(/^kubeconfig: /m, 60_000);
    // `exited` settles once every process holding npm's output pipes has gone: a node left running keeps it waiting.
    const closed = await Promise.race([dev.stop('SIGTERM').then(() => 'closed'), new Promise((resolve) => setTimeout(resolve, 15_000, 'still running'))]);
    expect(closed).toBe('closed');
  }, 90_000);
});
