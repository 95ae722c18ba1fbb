import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../src/config/config.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration setting with its flag and environment variable', () => {
    for (const option of Object.values(OPTIONS)) {
      expect(readme).toContain(`| \`--${option.flag}\` | \`${option.env}\` |`);
    }
  });

  it('gives the test command that CI runs', () => {
    const quickstart = /Run the tests[^\n]*\n\n```sh\n([^\n]+)\n```/.exec(readme)?.[1];
    expect(quickstart).toBe('npm ci && npm test');
    expect(ci).toMatch(/^REQUIRE_REDIS=1 npm test$/m);
    expect(ci).toMatch(/^npm ci /m);
  });
});
