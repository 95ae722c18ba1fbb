import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.ts';
import { runCommand } from '../../src/cli/run-command.ts';
import { OPTIONS } from '../../src/config/config.ts';
import { captureIo } from '../support/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'run-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const command = runCommand({ stopSignal: () => AbortSignal.abort() });
const quiet = { LOG_LEVEL: 'silent', METRICS_BIND_ADDRESS: '0', HEALTH_PROBE_BIND_ADDRESS: '0' };

describe('blackroad-operator run', () => {
  it('documents every setting in --help, flag and environment variable', async () => {
    const io = captureIo();
    expect(await runCli(['run', '--help'], io, [command])).toBe(0);
    for (const option of Object.values(OPTIONS)) expect(io.stdoutText()).toContain(`--${option.flag}  [${option.env}]`);
  });

  it('stops with exit code 2 and one line when secure metrics have no readable certificate folder', async () => {
    const io = captureIo({ ...quiet, METRICS_SECURE: 'true', METRICS_CERT_DIR: join(dir, 'no-such-folder') });
    expect(await runCli(['run'], io, [command])).toBe(2);
    expect(io.stderrText()).toMatch(/^invalid configuration: METRICS_CERT_DIR="[^"]+no-such-folder" does not hold a readable tls\.crt and tls\.key[^\n]*\n$/);
  });

  it('stops with exit code 2 and a message naming the field when the agent catalog is invalid', async () => {
    const file = join(dir, 'agents.yaml');
    writeFileSync(file, 'agents:\n  - id: Not A Slug\n    name: x\n');
    const io = captureIo({ ...quiet, AGENT_CATALOG: file });
    expect(await runCli(['run'], io, [command])).toBe(2);
    expect(io.stderrText()).toMatch(new RegExp(`^blackroad-operator run: invalid agent catalog ${file}: agents\\[0\\]\\.id: `));
    expect(io.stderrText().trim().split('\n')).toHaveLength(1);
  });

  it('rejects an unknown flag with exit code 2', async () => {
    const io = captureIo(quiet);
    expect(await runCli(['run', '--no-such-flag=1'], io, [command])).toBe(2);
    expect(io.stderrText()).toContain('invalid configuration');
  });
});
