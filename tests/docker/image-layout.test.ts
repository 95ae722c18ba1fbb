import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../support/kustomize.ts';

/**
 * The runtime stage's layout without Docker: dist/ compiled from src/ with tsconfig.build.json, next to
 * package.json, crds/ and agent-catalog/, started the way the image's ENTRYPOINT and CMD start it.
 */
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
let app = '';

function jsFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return jsFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}

/** The node flags of the image's ENTRYPOINT (tests/docker/dockerfile.test.ts holds the Dockerfile to them). */
const IMAGE_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];

function operator(...args: string[]) {
  return spawnSync(process.execPath, [...IMAGE_NODE_FLAGS, 'dist/cli/main.js', ...args], { cwd: app, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production' } });
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'blackroad-image-'));
  // The build stage's `tsc -p tsconfig.build.json`, file by file: with isolatedModules each file compiles alone,
  // and type errors are `npm run typecheck`'s business. A lone file cannot see package.json's "type": "module",
  // which makes NodeNext emit ES modules, so the module format is given.
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO_ROOT, 'tsconfig.build.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (diagnostic) => { throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')); } });
  if (config === undefined || config.errors.length > 0) throw new Error('tsconfig.build.json does not parse');
  expect(config.options.isolatedModules).toBe(true);
  const rootDir = config.options.rootDir ?? join(REPO_ROOT, 'src');
  for (const file of config.fileNames) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions: { ...config.options, module: ts.ModuleKind.ESNext, sourceMap: false }, fileName: file });
    const target = join(app, 'dist', relative(rootDir, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  for (const entry of ['package.json', 'crds', 'agent-catalog']) cpSync(join(REPO_ROOT, entry), join(app, entry), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
}, 120_000);

afterAll(() => {
  if (app !== '') rmSync(app, { recursive: true, force: true });
});

describe('the image layout (dist, package.json, crds, agent-catalog)', () => {
  it('starts the compiled executable: --version names the package version', () => {
    const result = operator('--version');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`blackroad-operator ${packageJson.version}\n`);
    expect(result.status).toBe(0);
  });

  it('prints the same CRDs as crds/ from the compiled code', () => {
    const result = operator('crds');
    expect(result.status).toBe(0);
    const printed = parseAllDocuments(result.stdout).map((document) => document.toJS() as { metadata: { name: string } });
    const committed = readdirSync(join(REPO_ROOT, 'crds')).map((file) => parseAllDocuments(readFileSync(join(REPO_ROOT, 'crds', file), 'utf8'))[0]?.toJS() as { metadata: { name: string } });
    const byName = (a: { metadata: { name: string } }, b: { metadata: { name: string } }) => a.metadata.name.localeCompare(b.metadata.name);
    expect(printed.sort(byName)).toEqual(committed.sort(byName));
  });

  it('imports no package that `npm ci --omit=dev` leaves out', () => {
    const builtins = new Set(builtinModules);
    const imported = new Set(
      jsFiles(join(app, 'dist')).flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)]
          .map((match) => match[1] ?? match[2] ?? match[3] ?? '')
          .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtins.has(specifier))
          .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? ''))),
      ),
    );
    expect(imported.size).toBeGreaterThan(0);
    expect([...imported].filter((name) => !(name in packageJson.dependencies))).toEqual([]);
  });
});
