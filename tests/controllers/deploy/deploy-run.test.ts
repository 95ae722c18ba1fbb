import { describe, expect, it } from 'vitest';
import { deploySpecSchema, type DeploySpec } from '../../../src/api/deploy.ts';
import { deployRunId, deployRunOf, deploySpecHash } from '../../../src/controllers/deploy/deploy-run.ts';

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
