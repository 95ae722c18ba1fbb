import { describe, expect, it } from 'vitest';
import { packageVersion, runCli } from '../../src/cli/cli.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { captureIo } from '../support/io.ts';

describe('blackroad-operator executable', () => {
  it('prints its version from package.json', async () => {
    const io = captureIo();
    expect(await runCli(['--version'], io, COMMANDS)).toBe(0);
    expect(io.stdoutText()).toBe(`blackroad-operator ${packageVersion()}\n`);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints help with --help and exits 0, and exits 2 without a command', async () => {
    const help = captureIo();
    expect(await runCli(['--help'], help, COMMANDS)).toBe(0);
    expect(help.stdoutText()).toContain('Usage:');
    const bare = captureIo();
    expect(await runCli([], bare, COMMANDS)).toBe(2);
    expect(bare.stdoutText()).toContain('Usage:');
  });

  it('lists every shipped command in the help', async () => {
    const io = captureIo();
    await runCli(['--help'], io, COMMANDS);
    for (const command of COMMANDS) expect(io.stdoutText()).toContain(command.name);
  });

  it('rejects an unknown command with exit code 2 and one line', async () => {
    const io = captureIo();
    expect(await runCli(['frobnicate'], io, COMMANDS)).toBe(2);
    expect(io.stderrText()).toBe('blackroad-operator: unknown command "frobnicate"; run "blackroad-operator --help" for the list\n');
  });
});
