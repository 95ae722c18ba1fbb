import { describe, expect, it } from 'vitest';
import { OwnWrites } from '../../src/controllers/own-writes.ts';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { FakeStatusClient } from '../runtime/fake-status-client.ts';

const resource = { group: 'operator.blackroad.io', version: 'v1alpha1', plural: 'deploys', kind: 'Deploy', namespaced: true } as const;

function setUp() {
  const client = new FakeStatusClient();
  const created = client.put({ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', metadata: { name: 'api', namespace: 'prod', uid: 'uid-1' } });
  return { client, created, writes: new OwnWrites<KubeObject>({ client, resource }) };
}

const gets = (client: FakeStatusClient) => client.calls.filter((call) => call.verb === 'get').length;

describe('OwnWrites', () => {
  it('hands back the cached copy without a request when nothing was written, or the last write is what the cache shows', async () => {
    const { client, created, writes } = setUp();
    expect(await writes.latest(created)).toBe(created);
    writes.remember(created);
    expect(await writes.latest(created)).toBe(created);
    expect(gets(client)).toBe(0);
  });

  it('reads the object again when the cache shows a copy from before the last write, and from then on trusts the cache that caught up', async () => {
    const { client, created, writes } = setUp();
    const written = client.put({ ...created, status: { phase: 'Verifying' } } as KubeObject);
    writes.remember(written);
    expect(await writes.latest(created)).toEqual(written);
    expect(gets(client)).toBe(1);
    expect(await writes.latest(written)).toBe(written);
    expect(gets(client)).toBe(1);
  });

  it('answers undefined for an object gone from the API server, and forgets it', async () => {
    const { client, created, writes } = setUp();
    writes.remember(client.put(created));
    client.objects.clear();
    expect(await writes.latest(created)).toBeUndefined();
    expect(await writes.latest(created)).toBe(created);
    expect(gets(client)).toBe(1);
  });

  it('trusts the cache again for an object it was told to forget (deleted)', async () => {
    const { client, created, writes } = setUp();
    writes.remember(client.put(created));
    writes.forget(created);
    expect(await writes.latest(created)).toBe(created);
    expect(gets(client)).toBe(0);
  });
});
