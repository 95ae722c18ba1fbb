// The house rules of DESIGN.md §2 as lint rules, so layer boundaries stay true without anyone remembering them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** Every top-level folder of src/ with what it may never import. */
const layers = ['agents', 'api', 'cli', 'config', 'controllers', 'devcluster', 'events', 'kube', 'observability', 'providers', 'resilience', 'runtime', 'workflow'];
const forbidden = {
  // The API schemas are the bottom layer: pure data definitions.
  api: layers.filter((layer) => layer !== 'api'),
  resilience: ['runtime', 'controllers', 'providers', 'cli', 'devcluster'],
  events: ['runtime', 'controllers', 'providers', 'cli', 'devcluster'],
  workflow: ['runtime', 'controllers', 'providers', 'cli', 'devcluster'],
  kube: ['runtime', 'controllers', 'providers', 'cli', 'devcluster', 'workflow', 'events'],
  runtime: ['controllers', 'providers', 'cli', 'api', 'devcluster'],
  providers: ['controllers', 'cli', 'devcluster', 'runtime'],
  controllers: ['cli', 'devcluster'],
  observability: ['runtime', 'controllers', 'providers', 'cli', 'devcluster', 'workflow'],
  config: layers.filter((layer) => layer !== 'config'),
  agents: ['controllers', 'providers', 'cli', 'devcluster', 'runtime'],
};

const zones = [
  ...Object.entries(forbidden).flatMap(([target, froms]) =>
    froms.map((from) => ({
      target: `./src/${target}`,
      from: `./src/${from}`,
      message: `src/${target}/ must not import src/${from}/ (DESIGN.md §2, layer boundaries).`,
    })),
  ),
  // devcluster is imported only by the CLI (the `dev` subcommand) and by tests.
  ...layers
    .filter((layer) => layer !== 'cli' && layer !== 'devcluster')
    .map((target) => ({
      target: `./src/${target}`,
      from: './src/devcluster',
      message: 'src/devcluster/ is imported only by src/cli/ and by tests.',
    })),
  // Test code (fakes, fixtures, harnesses) never ships: the executable must not depend on it.
  { target: './src', from: './tests', message: 'src/ must not import tests/: what dev or the executable needs lives in src/.' },
  // Controllers never import each other.
  { target: './src/controllers/deploy', from: './src/controllers/sweep', message: 'Controllers never import each other.' },
  { target: './src/controllers/sweep', from: './src/controllers/deploy', message: 'Controllers never import each other.' },
];

export default tseslint.config(
  {
    ignores: ['dist/', 'node_modules/', '.toolchain/', 'coverage/', '.devcluster/', 'tests/fixtures/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['src/*/lint-fixture.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'process.env is read only in src/config/; take configuration as a parameter.' },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
