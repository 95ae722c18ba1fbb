import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { StatusWriter } from '../../src/runtime/status-writer.ts';
import { until } from '../kube/http-test-server.ts';
import { gizmo, gizmos } from './fake-list-watch.ts';
import { FakeStatusClient } from './fake-status-client.ts';

interface Status {
  phase?: string;
  count?: number;
}
type Gizmo = KubeObject & { status?: Status };

function setup(): { client: FakeStatusClient; writer: StatusWriter<Status>; clock: ManualClock; object: Gizmo } {
  const client = new FakeStatusClient();
  const clock = new ManualClock();
  const object = client.put({ ...gizmo('g', '1'), status: { phase: 'Pending', count: 1 } } as Gizmo) as Gizmo;
  return { client, clock, object, writer: new StatusWriter<Status>({ client, resource: gizmos, clock, random: () => 0.5 }) };
}

describe('StatusWriter', () => {
  it('writes nothing when the status is unchanged', async () => {
    const { client, writer, object } = setup();
    const result = await writer.update(object, (status) => ({ ...status, phase: 'Pending' }));
    expect(result).toBe(object);
    expect(client.calls).toEqual([]);
  });

  it('sends a merge patch of only the difference to /status with the resourceVersion precondition', async () => {
    const { client, writer, object } = setup();
    const written = await writer.update(object, (status) => ({ ...status, phase: 'Ready' }));
    expect(client.patches).toEqual([{ verb: 'patch', name: 'g', subresource: 'status', body: { metadata: { resourceVersion: object.metadata.resourceVersion }, status: { phase: 'Ready' } } }]);
    expect(written.status).toEqual({ phase: 'Ready', count: 1 });
    expect(written.metadata.resourceVersion).not.toBe(object.metadata.resourceVersion);
  });

  it('on conflict re-reads the object and re-applies the mutation to the fresh status', async () => {
    const { client, writer, object, clock } = setup();
    client.put({ ...object, status: { phase: 'Pending', count: 5 } } as Gizmo);
    const pending = writer.update(object, (status) => ({ ...status, count: (status?.count ?? 0) + 1 }));
    await until(() => clock.pendingTimers === 1);
    clock.advance(10);
    const written = await pending;
    expect(written.status).toEqual({ phase: 'Pending', count: 6 });
    expect(client.calls.map((c) => `${c.verb}${c.subresource === undefined ? '' : `/${c.subresource}`}`)).toEqual(['patch/status', 'get/status', 'patch/status']);
  });

  it('gives up after five attempts with the conflict', async () => {
    const { client, writer, object, clock } = setup();
    client.conflicts = 10;
    const pending = writer.update(object, (status) => ({ ...status, phase: 'Ready' })).catch((error: unknown) => error);
    for (let i = 0; i < 4; i += 1) {
      await until(() => clock.pendingTimers === 1);
      clock.advance(11);
    }
    const error = await pending;
    expect((error as { reason?: string }).reason).toBe('Conflict');
    expect(client.patches).toHaveLength(5);
  });

  it('skips the retry when the fresh status already has what the mutation wants', async () => {
    const { client, writer, object, clock } = setup();
    client.put({ ...object, status: { phase: 'Ready', count: 1 } } as Gizmo);
    const pending = writer.update(object, (status) => ({ ...status, phase: 'Ready' }));
    await until(() => clock.pendingTimers === 1);
    clock.advance(10);
    await pending;
    expect(client.patches).toHaveLength(1);
  });
});
