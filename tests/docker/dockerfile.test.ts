import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { DockerfileParser, type Copy, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/config.ts';
import { REPO_ROOT } from '../support/kustomize.ts';

const dockerfileText = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignoreText = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8');
const dockerfile = DockerfileParser.parse(dockerfileText);
// A CommonJS module whose types declare an ES default export: under Node's ESM interop the default is the function.
const ignore = dockerignore as unknown as typeof dockerignore.default;
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };

interface Stage {
  readonly name: string;
  readonly image: string;
  readonly instructions: Instruction[];
}

/** The build stages in order, with their base image's ARG defaults substituted. */
function stages(): Stage[] {
  const defaults = new Map(dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName() ?? '', arg.getProperty()?.getValue() ?? '']));
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image = '', , name = ''] = instruction.getArguments().map((argument) => argument.getValue());
      result.push({ name, image: image.replace(/^\$\{(\w+)\}$/, (_, arg: string) => defaults.get(arg) ?? image), instructions: [] });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

function stage(name: string): Stage {
  const found = stages().find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage ${name}`);
  return found;
}

/** Each COPY of a stage as "source from" pairs: the build context, or another stage. */
function copies(of: Stage): { from: string; sources: string[] }[] {
  return of.instructions
    .filter((instruction) => instruction.getKeyword() === 'COPY')
    .map((instruction) => {
      const values = instruction.getArguments().map((argument) => argument.getValue());
      return { from: (instruction as Copy).getFromFlag()?.getValue() ?? 'context', sources: values.slice(0, -1) };
    });
}

const run = (of: Stage) => of.instructions.filter((instruction) => instruction.getKeyword() === 'RUN').map((instruction) => instruction.getArgumentsContent() ?? '');
const json = (of: Stage, keyword: string) => {
  const found = of.instructions.filter((instruction) => instruction.getKeyword() === keyword);
  return found.length === 1 ? (found[0] as JSONInstruction).getJSONStrings().map((part) => part.getJSONValue()) : undefined;
};

/** The files `docker build .` would send: every file git knows of (tracked or not ignored) that .dockerignore lets through. */
function buildContext(extraFiles: readonly string[] = []): string[] {
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const files = [...listed.stdout.split('\n').filter((file) => file !== ''), ...extraFiles];
  return ignore().add(dockerignoreText).filter(files);
}

describe('Dockerfile', () => {
  it('builds in Node 24 stages and runs on distroless Node 24, the last stage', () => {
    expect(stages().map((candidate) => candidate.name)).toEqual(['build', 'deps', 'runtime']);
    expect(stage('build').image).toMatch(/^node:24[.-]/);
    expect(stage('deps').image).toMatch(/^node:24[.-]/);
    expect(stage('runtime').image).toMatch(/^gcr\.io\/distroless\/nodejs24-debian1\d(:nonroot)?(@sha256:[0-9a-f]{64})?$/);
  });

  it('runs as the non-root UID and GID 65532 that the manifests expect', () => {
    const users = stage('runtime').instructions.filter((instruction) => instruction.getKeyword() === 'USER');
    expect(users.map((instruction) => instruction.getArgumentsContent())).toEqual(['65532:65532']);
    for (const other of ['build', 'deps']) expect(stage(other).instructions.some((instruction) => instruction.getKeyword() === 'USER')).toBe(false);
  });

  it('installs production dependencies alone for the image, from the lock file, without install scripts', () => {
    expect(run(stage('deps'))).toEqual(['npm ci --omit=dev --ignore-scripts --no-audit --no-fund']);
    expect(run(stage('build'))[0]).toMatch(/^npm ci --ignore-scripts\b/);
    expect(run(stage('runtime'))).toEqual([]);
  });

  it('puts only node_modules from deps, dist from build, package.json, crds and agent-catalog in the image', () => {
    expect(copies(stage('runtime'))).toEqual([
      { from: 'deps', sources: ['/app/node_modules'] },
      { from: 'build', sources: ['/app/dist'] },
      { from: 'context', sources: ['package.json'] },
      { from: 'context', sources: ['crds'] },
      { from: 'context', sources: ['agent-catalog'] },
    ]);
    const workdirs = stage('runtime').instructions.filter((instruction) => instruction.getKeyword() === 'WORKDIR');
    expect(workdirs.map((instruction) => instruction.getArgumentsContent())).toEqual(['/app']);
    // The default agent catalog path is relative to the working directory.
    expect(OPTIONS.agentCatalog.default).toBe('agent-catalog/agents.yaml');
  });

  it('starts `node dist/cli/main.js run`, the package bin, in exec form', () => {
    expect(json(stage('runtime'), 'ENTRYPOINT')?.at(0)).toBe('/nodejs/bin/node');
    expect(json(stage('runtime'), 'ENTRYPOINT')?.at(-1)).toBe(packageJson.bin['blackroad-operator']);
    expect(packageJson.bin['blackroad-operator']).toBe('dist/cli/main.js');
    expect(json(stage('runtime'), 'CMD')).toEqual(['run']);
  });

  it('runs node with the V8 memory flags the runtime memory benchmark measures, and node accepts them', () => {
    const flags = json(stage('runtime'), 'ENTRYPOINT')?.slice(1, -1) ?? [];
    expect(flags).toEqual(['--max-semi-space-size=1', '--optimize-for-size']);
    const started = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
  });

  it('passes the V8 flags as arguments because node refuses --optimize-for-size in NODE_OPTIONS', () => {
    const names = stage('runtime').instructions.filter((instruction) => instruction.getKeyword() === 'ENV').flatMap((instruction) => instruction.getArguments().map((argument) => argument.getValue().split('=')[0]));
    expect(names).not.toContain('NODE_OPTIONS');
    const refused = spawnSync(process.execPath, ['-e', 'process.exit(0)'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '--max-semi-space-size=1 --optimize-for-size' } });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('--optimize-for-size is not allowed in NODE_OPTIONS');
  });

  it('uses no ADD, no HEALTHCHECK (Kubernetes probes /healthz and /readyz) and no secret in ARG or ENV', () => {
    const keywords = dockerfile.getInstructions().map((instruction) => instruction.getKeyword());
    expect(keywords).not.toContain('ADD');
    expect(keywords).not.toContain('HEALTHCHECK');
    const names = dockerfile
      .getInstructions()
      .filter((instruction) => instruction.getKeyword() === 'ARG' || instruction.getKeyword() === 'ENV')
      .flatMap((instruction) => instruction.getArguments().map((argument) => argument.getValue().split('=')[0] ?? ''));
    expect(names.filter((name) => /token|secret|password|passwd|credential|key|auth/i.test(name))).toEqual([]);
  });

  it('exposes the default metrics and probe ports', () => {
    const exposed = stage('runtime').instructions.filter((instruction) => instruction.getKeyword() === 'EXPOSE').flatMap((instruction) => instruction.getArguments().map((argument) => argument.getValue()));
    expect(exposed).toEqual([OPTIONS.metricsAddr.default, OPTIONS.probeAddr.default].map((address) => address.replace(/^:/, '')));
  });
});

describe('.dockerignore', () => {
  it('sends exactly what the Dockerfile copies from the build context', () => {
    const copied = stages().flatMap((candidate) => copies(candidate).filter((copy) => copy.from === 'context').flatMap((copy) => copy.sources));
    const context = buildContext();
    for (const source of copied) expect(context.some((file) => file === source || file.startsWith(`${source}/`)), source).toBe(true);
    for (const file of context) expect(copied.some((source) => file === source || file.startsWith(`${source}/`)), file).toBe(true);
  });

  it('keeps secrets, local state, dependencies and tests out of the build context, even inside allowed folders', () => {
    const canaries = [
      '.env',
      '.env.production',
      'src/.env.local',
      '.npmrc',
      '.git/config',
      '.devcluster/kubeconfig',
      'kubeconfig',
      'agent-catalog/kubeconfig.yaml',
      'crds/tls.key',
      'src/config/server.pem',
      'node_modules/ioredis/package.json',
      '.toolchain/node_modules/.bin/node',
      'dist/cli/main.js',
      'tests/fixtures/secret.yaml',
      'manifests/overlays/prod/kustomization.yaml',
      'bench/results/run.json',
      'coverage/index.html',
    ];
    expect(buildContext(canaries).filter((file) => canaries.includes(file))).toEqual([]);
  });
});

const hadolint = spawnSync('hadolint', ['--version'], { encoding: 'utf8' });
if (hadolint.status !== 0) console.warn('SKIPPED hadolint: the hadolint binary is not installed (Debian does not package it); the Dockerfile is checked by the tests above only');

describe.skipIf(hadolint.status !== 0)('hadolint', () => {
  it('finds nothing to report in the Dockerfile', () => {
    const result = spawnSync('hadolint', ['--no-color', 'Dockerfile'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
