import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deploySpecSchema, type DeploySpec } from '../../../src/api/deploy.ts';
import { structuralSchema } from '../../../src/api/structural-schema.ts';
import { deployRunId, deployRunOf, deploySpecHash } from '../../../src/controllers/deploy/deploy-run.ts';
import { canonicalJson } from '../../../src/events/canonical-json.ts';

const UID = '5f0c1e2a-7b3d-4c5e-9f60-1a2b3c4d5e6f';
const spec = (overrides: Record<string, unknown> = {}): DeploySpec =>
  deploySpecSchema.parse({ service: 'web', version: '1.0.0', provider: { webhook: { url: 'https://hooks.example/deploy', secretRef: { name: 'hook', key: 'hmac' } } }, ...overrides });

describe('the run of a Deploy', () => {
  it('is labelled with a hash of the spec that ignores suspend and nothing else', () => {
    expect(deploySpecHash(spec())).toMatch(/^[0-9a-f]{10}$/);
    expect(deploySpecHash(spec({ suspend: true }))).toBe(deploySpecHash(spec()));
    expect(deploySpecHash(spec({ version: '1.0.1' }))).not.toBe(deploySpecHash(spec()));
    expect(deploySpecHash(spec({ retryPolicy: 'critical' }))).not.toBe(deploySpecHash(spec()));
  });

  it('keeps its hash when a later schema adds fields with defaults, and when the spec spells defaults out', () => {
    const written = { service: 'web', version: '1.0.0', provider: { webhook: { url: 'https://hooks.example/deploy', secretRef: { name: 'hook', key: 'hmac' } } } };
    // A later operator's schema: a field with a default, and an object whose fields all have one.
    const later = deploySpecSchema.extend({
      maxSurge: z.number().int().default(1).describe('Extra instances during a rollout.'),
      canary: z
        .object({ percent: z.number().int().default(0).describe('Traffic share.'), pauseSeconds: z.number().int().default(30).describe('Pause.') })
        .prefault({})
        .describe('Canary settings.'),
    });
    const hashLater = (extra: Record<string, unknown> = {}) => deploySpecHash(later.parse({ ...written, ...extra }) as unknown as DeploySpec, structuralSchema(later));
    expect(hashLater()).toBe(deploySpecHash(spec()));
    expect(hashLater({ canary: { percent: 0 } })).toBe(deploySpecHash(spec()));
    expect(hashLater({ maxSurge: 2 })).not.toBe(deploySpecHash(spec()));
    expect(hashLater({ canary: { percent: 10 } })).not.toBe(deploySpecHash(spec()));
    const spelledOut = spec({ rollback: { enabled: true, onDelete: false }, compliance: { sensitive: false, category: 'none', requireApproval: false }, retryPolicy: 'default' });
    expect(deploySpecHash(spelledOut)).toBe(deploySpecHash(spec()));
    expect(deploySpecHash(spec({ healthCheck: { url: 'https://web.example/healthz', expectStatus: 200, intervalSeconds: 10 } }))).toBe(deploySpecHash(spec({ healthCheck: { url: 'https://web.example/healthz' } })));
    expect(deploySpecHash(spec({ rollback: { enabled: false } }))).not.toBe(deploySpecHash(spec()));
  });

  it('stays the run in status for its own generation whatever hash labels it (an operator that hashed the spec otherwise)', () => {
    expect(deployRunOf(UID, 1, spec(), `${UID}/1/0123456789`)).toEqual({ generation: 1, label: '0123456789' });
    expect(deployRunOf(UID, 2, spec(), `${UID}/1/0123456789`)).toEqual({ generation: 2, label: deploySpecHash(spec()) });
  });

  it('carries on a run labelled before hashes left defaults out across generations that only toggled suspend', () => {
    const { suspend: _suspend, ...work } = spec();
    const labelled = createHash('sha256').update(canonicalJson(work), 'utf8').digest('hex').slice(0, 10);
    expect(labelled).not.toBe(deploySpecHash(spec()));
    expect(deployRunOf(UID, 3, spec(), `${UID}/1/${labelled}`)).toEqual({ generation: 1, label: labelled });
  });

  it('stays the run in status across generations that only toggled suspend', () => {
    const first = deployRunOf(UID, 1, spec(), undefined);
    expect(first).toEqual({ generation: 1, label: deploySpecHash(spec()) });
    const id = deployRunId(UID, first);
    expect(id).toBe(`${UID}/1/${deploySpecHash(spec())}`);
    expect(deployRunOf(UID, 2, spec({ suspend: true }), id)).toEqual(first);
    expect(deployRunOf(UID, 3, spec(), id)).toEqual(first);
  });

  it('is a new run of the current generation when the spec changed, or the status is another object’s', () => {
    const id = deployRunId(UID, deployRunOf(UID, 1, spec(), undefined));
    expect(deployRunOf(UID, 2, spec({ version: '2.0.0' }), id)).toEqual({ generation: 2, label: deploySpecHash(spec({ version: '2.0.0' })) });
    expect(deployRunOf('another-uid', 2, spec(), id)).toEqual({ generation: 2, label: deploySpecHash(spec()) });
  });

  it('carries on a run an earlier operator started under <uid>/<generation> while the generation is the same', () => {
    expect(deployRunOf(UID, 4, spec(), `${UID}/4`)).toEqual({ generation: 4, label: undefined });
    expect(deployRunId(UID, { generation: 4, label: undefined })).toBe(`${UID}/4`);
    expect(deployRunOf(UID, 5, spec(), `${UID}/4`)).toEqual({ generation: 5, label: deploySpecHash(spec()) });
  });
});
