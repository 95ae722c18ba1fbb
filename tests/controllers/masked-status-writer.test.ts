// Status writes of the controllers pass through the SecretMask: a provider answer quoting a secret never reaches status.
import { describe, expect, it } from 'vitest';
import { MaskedStatusWriter } from '../../src/controllers/masked-status-writer.ts';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { REDACTED, SecretMask } from '../../src/observability/redact.ts';
import { excerpt } from '../../src/providers/excerpt.ts';
import { systemClock } from '../../src/resilience/clock.ts';
import { FakeStatusClient } from '../runtime/fake-status-client.ts';

interface Status {
  results?: { message: string }[];
  conditions?: { type: string; message: string }[];
}
type Thing = KubeObject & { status?: Status };

const SECRET = 'cnry5d1e0b7a-checker-hmac-value';
const resource = { group: 'operator.blackroad.io', version: 'v1alpha1', plural: 'sweeps', kind: 'Sweep', namespaced: true } as const;

function setUp() {
  const client = new FakeStatusClient();
  const object = client.put({ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Sweep', metadata: { name: 'fleet', namespace: 'ci', generation: 1, uid: 'uid-1' } }) as Thing;
  const mask = new SecretMask();
  mask.add(SECRET);
  return { client, object, writer: new MaskedStatusWriter<Status>({ client, resource, clock: systemClock, secretMask: mask }) };
}

describe('MaskedStatusWriter', () => {
  it('writes no secret a provider answer carried into a message, whole or cut short', async () => {
    const { client, object, writer } = setUp();
    const answer = `checker answered HTTP 500: ${'x'.repeat(180)} key ${SECRET}`;
    await writer.update(object, () => ({ results: [{ message: excerpt(answer) }], conditions: [{ type: 'Stalled', message: `failed: ${SECRET}` }] }));
    const stored = JSON.stringify(client.objects.get('ci/fleet'));
    expect(stored).not.toContain(SECRET.slice(0, 8));
    expect(stored).toContain(`failed: ${REDACTED}`);
  });

  it('keeps a message within its limit when a secret cut short near the end is masked', async () => {
    const { client, object, writer } = setUp();
    for (const kept of [4, 6, 9]) {
      // 256 characters, the API's limit for a result message, ending in the first characters of the secret.
      const message = `${'x'.repeat(256 - kept - 2)} ${SECRET.slice(0, kept)}…`;
      expect(message.length).toBe(256);
      await writer.update(object, () => ({ results: [{ message }] }));
      const stored = (client.objects.get('ci/fleet') as Thing).status?.results?.[0]?.message ?? '';
      expect(stored).not.toContain(SECRET.slice(0, kept));
      expect(stored.length).toBeLessThanOrEqual(256);
    }
  });

  it('writes nothing when the masked status is what is stored already', async () => {
    const { client, object, writer } = setUp();
    const written = await writer.update(object, () => ({ conditions: [{ type: 'Stalled', message: `failed: ${SECRET}` }] }));
    await writer.update(written, () => ({ conditions: [{ type: 'Stalled', message: `failed: ${SECRET}` }] }));
    expect(client.patches).toHaveLength(1);
  });
});
