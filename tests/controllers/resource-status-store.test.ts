import { describe, expect, it } from 'vitest';
import type { WorkflowStatus } from '../../src/api/status.ts';
import { presentedWorkflow, ResourceStatusStore } from '../../src/controllers/resource-status-store.ts';
import { isConflict } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { ManualClock, systemClock } from '../../src/resilience/clock.ts';
import { StatusWriter } from '../../src/runtime/status-writer.ts';
import type { WorkflowSnapshot } from '../../src/workflow/workflow-status-store.ts';
import { FakeStatusClient } from '../runtime/fake-status-client.ts';

interface Status {
  observedGeneration?: number;
  workflow?: WorkflowStatus;
  composed?: number;
  note?: string;
}
type Thing = KubeObject & { status?: Status };

const resource = { group: 'operator.blackroad.io', version: 'v1alpha1', plural: 'deploys', kind: 'Deploy', namespaced: true } as const;

function snapshot(state: 'Pending' | 'Running' | 'Succeeded', finished = false): WorkflowSnapshot {
  return {
    workflow: { id: 'uid-1/1', startedAt: '2026-11-27T12:00:00.000Z', ...(finished ? { finishedAt: '2026-11-27T12:01:00.000Z' } : {}), steps: [{ name: 'validate', state, attempts: state === 'Pending' ? 0 : 1 }] },
    units: {},
  };
}

function setUp() {
  const client = new FakeStatusClient();
  const object = client.put({ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', metadata: { name: 'api', namespace: 'prod', generation: 1, uid: 'uid-1' } }) as Thing;
  const writer = new StatusWriter<Status>({ client, resource, clock: systemClock, retryDelayMs: 1 });
  let composed = 0;
  const store = new ResourceStatusStore<Thing, Status>({
    writer,
    object,
    compose: (current, next) => ({ ...current, observedGeneration: 1, workflow: next.workflow, composed: ++composed }),
  });
  return { client, store, object };
}

describe('ResourceStatusStore', () => {
  it('writes each snapshot as one status patch, chaining the resourceVersion each write returned', async () => {
    const { client, store } = setUp();
    await store.save(snapshot('Running'));
    await store.save(snapshot('Succeeded'));
    expect(client.patches).toHaveLength(2);
    expect(client.calls.filter((call) => call.verb === 'get')).toHaveLength(0);
    const stored = client.objects.get('prod/api') as Thing;
    expect(stored.status?.workflow?.steps[0]?.state).toBe('Succeeded');
    expect(store.object.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
    expect(store.lastSnapshot?.workflow.steps[0]?.state).toBe('Succeeded');
  });

  it('composes again after a conflict that came from metadata or spec, the status being the one it read', async () => {
    const { client, store } = setUp();
    const current = client.objects.get('prod/api') as Thing;
    client.put({ ...current, metadata: { ...current.metadata, annotations: { 'operator.blackroad.io/approved-by': 'alice' } } } as Thing);
    await store.save(snapshot('Running'));
    const stored = client.objects.get('prod/api') as Thing;
    expect(client.patches).toHaveLength(2);
    expect(stored.status).toMatchObject({ workflow: { id: 'uid-1/1', steps: [{ state: 'Running' }] } });
    expect(stored.metadata.annotations).toEqual({ 'operator.blackroad.io/approved-by': 'alice' });
  });

  it('refuses to write over a status another writer changed since it was read: the save fails with a 409', async () => {
    const { client, store } = setUp();
    const current = client.objects.get('prod/api') as Thing;
    // Another reconcile (a stale cache's, a former leader's) got further with the run meanwhile.
    client.put({ ...current, status: { observedGeneration: 1, workflow: snapshot('Succeeded').workflow } } as Thing);
    const failure = await store.save(snapshot('Running')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isConflict(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/changed by another writer/);
    const stored = client.objects.get('prod/api') as Thing;
    expect(stored.status?.workflow?.steps[0]?.state).toBe('Succeeded');
    expect(store.lastSnapshot).toBeUndefined();
  });

  it('writes nothing when beforeSave rejects, and hands it the previous and the next snapshot', async () => {
    const { client, object } = setUp();
    const seen: [string | undefined, string][] = [];
    const writer = new StatusWriter<Status>({ client, resource, clock: new ManualClock(0) });
    const store = new ResourceStatusStore<Thing, Status>({
      writer,
      object,
      persisted: snapshot('Pending'),
      compose: (current, next) => ({ ...current, workflow: next.workflow }),
      beforeSave: async (previous, next) => {
        seen.push([previous?.workflow.steps[0]?.state, next.workflow.steps[0]?.state ?? '']);
        if (next.workflow.steps[0]?.state === 'Succeeded') throw new Error('audit store down');
      },
    });
    await store.save(snapshot('Running'));
    await expect(store.save(snapshot('Succeeded'))).rejects.toThrow('audit store down');
    expect(seen).toEqual([
      ['Pending', 'Running'],
      ['Running', 'Succeeded'],
    ]);
    expect(client.patches).toHaveLength(1);
    expect((client.objects.get('prod/api') as Thing).status?.workflow?.steps[0]?.state).toBe('Running');
  });

  it('refresh writes the status again from the last snapshot', async () => {
    const { client, store } = setUp();
    await store.save(snapshot('Running'));
    await store.refresh();
    expect((client.objects.get('prod/api') as Thing).status?.composed).toBe(2);
  });
});

describe('presentedWorkflow', () => {
  it('shows the steps a finished run never reached as Skipped, and leaves a running run alone', () => {
    expect(presentedWorkflow(snapshot('Pending', true).workflow).steps[0]?.state).toBe('Skipped');
    expect(presentedWorkflow(snapshot('Pending').workflow).steps[0]?.state).toBe('Pending');
    expect(presentedWorkflow(snapshot('Succeeded', true).workflow).steps[0]?.state).toBe('Succeeded');
  });
});
