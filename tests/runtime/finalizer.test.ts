import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { finalizer } from '../../src/runtime/finalizer.ts';
import { Action } from '../../src/runtime/reconciler.ts';
import { gizmo, gizmos } from './fake-list-watch.ts';
import { FakeStatusClient } from './fake-status-client.ts';

const NAME = 'operator.blackroad.io/cleanup';

function recorder(cleanupAction: Action = Action.done()): { log: string[]; handlers: { apply: (o: KubeObject) => Promise<Action>; cleanup: (o: KubeObject) => Promise<Action> } } {
  const log: string[] = [];
  return {
    log,
    handlers: {
      apply: (o) => {
        log.push(`apply finalizers=${(o.metadata.finalizers ?? []).join(',')}`);
        return Promise.resolve(Action.requeueAfter(1000));
      },
      cleanup: (o) => {
        log.push(`cleanup ${o.metadata.name ?? ''}`);
        return Promise.resolve(cleanupAction);
      },
    },
  };
}

describe('finalizer', () => {
  it('adds the finalizer before apply runs, keeping other finalizers', async () => {
    const client = new FakeStatusClient();
    const object = client.put(gizmo('g', '1', { finalizers: ['other'] }));
    const { log, handlers } = recorder();
    const action = await finalizer(client, gizmos, NAME, object, handlers);
    expect(log).toEqual([`apply finalizers=other,${NAME}`]);
    expect(action).toEqual(Action.requeueAfter(1000));
    expect(client.objects.get('ns/g')?.metadata.finalizers).toEqual(['other', NAME]);
    expect(client.patches[0]?.body).toEqual({ metadata: { resourceVersion: object.metadata.resourceVersion, finalizers: ['other', NAME] } });
  });

  it('just applies when the finalizer is already there', async () => {
    const client = new FakeStatusClient();
    const object = client.put(gizmo('g', '1', { finalizers: [NAME] }));
    const { log, handlers } = recorder();
    await finalizer(client, gizmos, NAME, object, handlers);
    expect(log).toEqual([`apply finalizers=${NAME}`]);
    expect(client.calls).toEqual([]);
  });

  it('on deletion runs cleanup, then removes only its own finalizer', async () => {
    const client = new FakeStatusClient();
    const object = client.put(gizmo('g', '1', { finalizers: ['other', NAME], deletionTimestamp: '2026-01-01T00:00:00Z' }));
    const { log, handlers } = recorder();
    expect(await finalizer(client, gizmos, NAME, object, handlers)).toEqual(Action.done());
    expect(log).toEqual(['cleanup g']);
    expect(client.objects.get('ns/g')?.metadata.finalizers).toEqual(['other']);
  });

  it('keeps the finalizer while cleanup asks to come back later', async () => {
    const client = new FakeStatusClient();
    const object = client.put(gizmo('g', '1', { finalizers: [NAME], deletionTimestamp: '2026-01-01T00:00:00Z' }));
    const { handlers } = recorder(Action.requeueAfter(5000));
    expect(await finalizer(client, gizmos, NAME, object, handlers)).toEqual(Action.requeueAfter(5000));
    expect(client.calls).toEqual([]);
  });

  it('leaves an object being deleted without its finalizer alone', async () => {
    const client = new FakeStatusClient();
    const object = client.put(gizmo('g', '1', { deletionTimestamp: '2026-01-01T00:00:00Z' }));
    const { log, handlers } = recorder();
    expect(await finalizer(client, gizmos, NAME, object, handlers)).toEqual(Action.done());
    expect(log).toEqual([]);
    expect(client.calls).toEqual([]);
  });

  it('a stale copy fails with a conflict instead of overwriting newer finalizers', async () => {
    const client = new FakeStatusClient();
    const stale = client.put(gizmo('g', '1'));
    client.put({ ...stale, metadata: { ...stale.metadata, finalizers: ['newer'] } });
    const { log, handlers } = recorder();
    await expect(finalizer(client, gizmos, NAME, stale, handlers)).rejects.toMatchObject({ reason: 'Conflict' });
    expect(log).toEqual([]);
    expect(client.objects.get('ns/g')?.metadata.finalizers).toEqual(['newer']);
  });
});
