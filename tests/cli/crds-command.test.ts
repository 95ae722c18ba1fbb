import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { customResourceDefinition } from '../../src/api/crd.ts';
import { KINDS } from '../../src/api/kinds.ts';
import { runCli } from '../../src/cli/cli.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { captureIo } from '../support/io.ts';

describe('blackroad-operator crds', () => {
  it('prints every CRD as one multi-document YAML stream and exits 0', async () => {
    const io = captureIo();
    expect(await runCli(['crds'], io, COMMANDS)).toBe(0);
    const documents = parseAllDocuments(io.stdoutText()).map((document) => document.toJS() as unknown);
    expect(documents).toEqual(KINDS.map(customResourceDefinition));
    expect(io.stderrText()).toBe('');
  });

  it('rejects arguments with exit code 2', async () => {
    const io = captureIo();
    expect(await runCli(['crds', 'deploys'], io, COMMANDS)).toBe(2);
    expect(io.stderrText()).toContain('unexpected argument "deploys"');
  });

  it('explains itself with --help', async () => {
    const io = captureIo();
    expect(await runCli(['crds', '--help'], io, COMMANDS)).toBe(0);
    expect(io.stdoutText()).toContain('kubectl apply');
  });
});
