import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../../src/cli/cli.ts';
import { COMMANDS } from '../../src/cli/commands.ts';
import { captureIo } from '../support/io.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'validate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const VALID_DEPLOY = `apiVersion: operator.blackroad.io/v1alpha1
kind: Deploy
metadata: {name: api}
spec:
  service: api
  version: "1.42.0"
  provider:
    kubernetes: {deployment: api, container: api, image: "ghcr.io/acme/api:1.42.0"}
`;

/** The same Deploy with a second provider, which the schema forbids. */
const TWO_PROVIDERS = `${VALID_DEPLOY}    webhook: {url: "https://hooks.example/deploy", secretRef: {name: hook, key: hmac}}\n`;

async function validate(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = { ...captureIo(), ...(stdin === undefined ? {} : { stdin: Readable.from([stdin]) }) };
  const code = await runCli(['validate', ...args], io, COMMANDS);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('blackroad-operator validate', () => {
  it('exits 0 and says so for a valid file', async () => {
    const path = file('valid.yaml', VALID_DEPLOY);
    expect(await validate(['-f', path])).toEqual({ code: 0, stdout: `${path}: Deploy "api" is valid\n`, stderr: '' });
  });

  it('exits 1 with kube-style field errors for an invalid document, naming the document', async () => {
    const path = file('mixed.yaml', `${VALID_DEPLOY}---\n${TWO_PROVIDERS}`);
    const result = await validate(['--filename', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`${path} (document 1): Deploy "api" is valid\n`);
    expect(result.stderr).toBe(
      `${path} (document 2): The Deploy "api" is invalid:\n* spec.provider: Invalid value: "object": exactly one of kubernetes, railway, webhook must be set\n`,
    );
  });

  it('reads documents from stdin with -f -', async () => {
    expect((await validate(['-f', '-'], TWO_PROVIDERS)).code).toBe(1);
    expect(await validate(['-f', '-'], VALID_DEPLOY)).toMatchObject({ code: 0, stdout: '<stdin>: Deploy "api" is valid\n' });
  });

  it('skips objects of other API groups without failing', async () => {
    const path = file('with-deployment.yaml', `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\n---\n${VALID_DEPLOY}`);
    const result = await validate(['-f', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`${path} (document 1): Deployment "api" skipped: apps/v1 is not operator.blackroad.io\n`);
  });

  it('checks each item of a v1 List, as kubectl get -o yaml prints one', async () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [parse(VALID_DEPLOY), parse(TWO_PROVIDERS)] });
    const result = await validate(['-f', '-'], list);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('<stdin> (item 1): Deploy "api" is valid\n');
    expect(result.stderr).toMatch(/^<stdin> \(item 2\): The Deploy "api" is invalid:\n\* spec\.provider: /);
  });

  it('exits 1 on broken YAML and on a file without objects', async () => {
    const broken = await validate(['-f', file('broken.yaml', 'spec: [\n')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.yaml: invalid YAML: .*line 2, column 1/);
    const empty = await validate(['-f', file('empty.yaml', '# nothing\n')]);
    expect(empty).toMatchObject({ code: 1, stderr: `${join(dir, 'empty.yaml')}: no objects\n` });
  });

  it('exits 2 without -f, with an unknown flag, or with an unreadable file', async () => {
    expect(await validate([])).toMatchObject({ code: 2, stderr: 'blackroad-operator validate: -f FILE is required; run "blackroad-operator validate --help"\n' });
    expect((await validate(['--strict'])).code).toBe(2);
    const missing = await validate(['-f', join(dir, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read ${join(dir, 'missing.yaml')}: ENOENT`);
  });

  it('validates every manifest of a directory, such as examples/', async () => {
    const result = await validate(['-f', join(root, 'examples')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.filter((line) => line.endsWith(' is valid'))).toHaveLength(4);
    // What an example brings along (the Deployment a Deploy targets, the Secrets it reads) is not ours to validate.
    const skipped = lines.filter((line) => !line.endsWith(' is valid'));
    expect(skipped.map((line) => /: (\w+) "[^"]+" skipped: (\S+) is not operator\.blackroad\.io$/.exec(line)?.slice(1, 3).join(' ')).sort()).toEqual(['Deployment apps/v1', 'Secret v1', 'Secret v1', 'Secret v1']);
  });

  it('runs as the real executable: exit codes and output of node src/cli/main.ts', async () => {
    const run = (args: string[], input?: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        const child = execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: root }, (error, stdout, stderr) => {
          done({ code: error === null ? 0 : Number(error.code), stdout, stderr });
        });
        child.stdin?.end(input ?? '');
      });
    const [valid, invalid] = await Promise.all([run(['validate', '-f', 'examples/sweep.yaml']), run(['validate', '-f', '-'], TWO_PROVIDERS)]);
    expect(valid).toEqual({ code: 0, stdout: 'examples/sweep.yaml (document 1): Secret "checker" skipped: v1 is not operator.blackroad.io\nexamples/sweep.yaml (document 2): Sweep "nightly" is valid\n', stderr: '' });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('* spec.provider: Invalid value: "object": exactly one of kubernetes, railway, webhook must be set');
  });
});
