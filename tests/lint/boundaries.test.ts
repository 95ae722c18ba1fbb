import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** Lints source text as if it were the file at `filePath` (relative to the repository), which need not exist. */
async function lint(filePath: string, code: string): Promise<{ ruleId: string | null; message: string }[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return (result?.messages ?? []).map(({ ruleId, message }) => ({ ruleId, message }));
}

describe('layer boundaries are lint errors', () => {
  // Each row: a file in one layer importing a real module of a layer it must not import.
  const forbidden: [string, string, RegExp][] = [
    ['src/config/lint-fixture.ts', "import { createLogger } from '../observability/logger.ts';\nexport const f = createLogger;\n", /src\/config\/ must not import src\/observability\//],
    ['src/observability/lint-fixture.ts', "import { runCli } from '../cli/cli.ts';\nexport const f = runCli;\n", /src\/observability\/ must not import src\/cli\//],
    ['src/providers/lint-fixture.ts', "import { WorkQueue } from '../runtime/work-queue.ts';\nexport const f = WorkQueue;\n", /src\/providers\/ must not import src\/runtime\//],
    ['src/providers/lint-fixture.ts', "import { DevCluster } from '../devcluster/dev-cluster.ts';\nexport const f = DevCluster;\n", /src\/providers\/ must not import src\/devcluster\//],
  ];

  for (const [file, code, expected] of forbidden) {
    it(`rejects ${file} importing src/${/'\.\.\/([\w-]+)\//.exec(code)?.[1] ?? '?'}/`, async () => {
      const messages = await lint(file, code);
      expect(messages).toContainEqual({ ruleId: 'import-x/no-restricted-paths', message: expect.stringMatching(expected) as unknown as string });
    });
  }

  it('rejects src/ importing tests/ (a fake used by dev belongs in src/)', async () => {
    const messages = await lint('src/devcluster/lint-fixture.ts', "import { startFakeChecker } from '../../tests/support/fakes/fake-checker.ts';\nexport const f = startFakeChecker;\n");
    expect(messages).toContainEqual({ ruleId: 'import-x/no-restricted-paths', message: expect.stringMatching(/src\/ must not import tests\//) as unknown as string });
  });

  it('rejects process.env outside src/config/', async () => {
    const messages = await lint('src/observability/lint-fixture.ts', "export const level = process.env['LOG_LEVEL'];\n");
    expect(messages.map((m) => m.ruleId)).toContain('no-restricted-properties');
  });

  it('allows process.env inside src/config/', async () => {
    expect(await lint('src/config/lint-fixture.ts', "export const level = process.env['LOG_LEVEL'];\n")).toEqual([]);
  });

  it('accepts an import that respects the layers', async () => {
    const messages = await lint('src/observability/lint-fixture.ts', "import type { ListenAddress } from '../config/config.ts';\nexport const a: ListenAddress = { host: '', port: 0 };\n");
    expect(messages).toEqual([]);
  });

  it('rejects a floating promise (async work must be awaited or handled)', async () => {
    const messages = await lint('src/observability/lint-fixture.ts', 'async function work(): Promise<void> {}\nexport function f(): void {\n  work();\n}\n');
    expect(messages.map((m) => m.ruleId)).toContain('@typescript-eslint/no-floating-promises');
  });
});

describe('import cycles are lint errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lint-cycle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('rejects two modules that import each other', async () => {
    mkdirSync(join(dir, 'src', 'workflow'), { recursive: true });
    writeFileSync(join(dir, 'src', 'workflow', 'a.ts'), "import { b } from './b.ts';\nexport const a = (): number => b() + 1;\n");
    writeFileSync(join(dir, 'src', 'workflow', 'b.ts'), "import { a } from './a.ts';\nexport const b = (): number => a() + 1;\n");
    // The project's own config, without type-aware rules (the fixture lives outside the TypeScript project).
    const untyped = new ESLint({
      cwd: dir,
      overrideConfigFile: join(root, 'eslint.config.js'),
      overrideConfig: {
        languageOptions: { parserOptions: { projectService: false, project: null } },
        rules: {
          '@typescript-eslint/no-floating-promises': 'off',
          '@typescript-eslint/no-misused-promises': 'off',
          '@typescript-eslint/await-thenable': 'off',
          '@typescript-eslint/only-throw-error': 'off',
        },
      },
    });
    const [result] = await untyped.lintFiles([join(dir, 'src', 'workflow', 'a.ts')]);
    expect(result?.messages.map((m) => m.ruleId)).toContain('import-x/no-cycle');
  });
});

describe('the layer table of docs/OPERATOR_ENGINE.md', () => {
  /** What each top-level folder of src/ may never import, as the lint rule's zones say. */
  async function lintedBoundaries(): Promise<Map<string, string[]>> {
    const config = (await eslint.calculateConfigForFile(join(root, 'src/cli/main.ts'))) as { rules: Record<string, [unknown, { zones: { target: string; from: string }[] }]> };
    const zones = config.rules['import-x/no-restricted-paths']?.[1].zones ?? [];
    const folders = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    const layer = (path: string) => /^\.\/src\/([\w-]+)$/.exec(path)?.[1];
    return new Map(folders.map((folder) => [folder, [...new Set(zones.filter((zone) => layer(zone.target) === folder).flatMap((zone) => layer(zone.from) ?? []))].sort()]));
  }

  /** The "Never imports" column: backquoted folders before any `;`, every other folder for "anything of ours", none for "—". */
  function documentedBoundaries(folders: readonly string[]): Map<string, string[]> {
    const text = readFileSync(join(root, 'docs/OPERATOR_ENGINE.md'), 'utf8');
    const rows = [...text.matchAll(/^\| `src\/([\w-]+)\/` \| [^|]* \| ([^|]*) \|$/gm)];
    return new Map(
      rows.map(([, folder = '', cell = '']) => {
        if (cell.startsWith('anything of ours')) return [folder, folders.filter((other) => other !== folder).sort()];
        if (cell.startsWith('—')) return [folder, []];
        return [folder, [...(cell.split(';')[0] ?? '').matchAll(/`([\w-]+)`/g)].map((match) => match[1] ?? '').sort()];
      }),
    );
  }

  it('lists every folder of src/ with exactly the imports the lint rules forbid it', async () => {
    const linted = await lintedBoundaries();
    expect(documentedBoundaries([...linted.keys()])).toEqual(linted);
  });
});
