import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderApiReference } from '../../src/api/api-reference.ts';
import { KINDS } from '../../src/api/kinds.ts';

describe('docs/API.md', () => {
  const committed = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');

  it('is what the schemas generate (run `npm run docs:api` when this fails)', () => {
    expect(committed, 'docs/API.md is stale: run `npm run docs:api` and commit the result').toBe(renderApiReference(KINDS));
  });

  it('documents every spec field, its default and every cross-field rule', () => {
    for (const path of ['spec.provider.railway.tokenSecretRef', 'spec.healthCheck.failureThreshold', 'spec.checks[].secretRef', 'status.results[].jobName', 'status.history[].summary.skipped']) {
      expect(committed).toContain(`| \`${path}\` |`);
    }
    expect(committed).toContain('exactly one of kubernetes, railway, webhook must be set');
    expect(committed).toContain('repositories × checks must not exceed 1000 units');
    expect(committed).toMatch(/\| `spec.concurrency` \| integer \| {2}\| `5` \|/);
  });
});
