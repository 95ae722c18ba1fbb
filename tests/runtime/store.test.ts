import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { LABEL_INDEX, OWNER_UID_INDEX, Store } from '../../src/runtime/store.ts';
import { gizmo } from './fake-list-watch.ts';

const owned = (name: string, ownerUid: string, labels: Record<string, string> = {}): KubeObject =>
  gizmo(name, '1', { ownerReferences: [{ apiVersion: 'v1', kind: 'Owner', name: 'o', uid: ownerUid, controller: true }], labels, managedFields: [{ manager: 'x' }] });

describe('Store', () => {
  it('keys objects by namespace/name and strips managedFields', () => {
    const store = new Store();
    const { stored, previous } = store.apply(owned('a', 'u1'));
    expect(previous).toBeUndefined();
    expect(store.get('ns/a')).toBe(stored);
    expect(stored.metadata.managedFields).toBeUndefined();
    expect(store.apply(owned('a', 'u1')).previous).toBe(stored);
    expect(store.size).toBe(1);
  });

  it('finds objects by owner uid and by label, and keeps the indexes right across updates and deletes', () => {
    const store = new Store();
    store.apply(owned('a', 'u1', { tier: 'web' }));
    store.apply(owned('b', 'u1', { tier: 'db' }));
    store.apply(owned('c', 'u2', { tier: 'web' }));
    expect(store.byIndex(OWNER_UID_INDEX, 'u1').map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
    expect(store.byIndex(LABEL_INDEX, 'tier=web').map((o) => o.metadata.name).sort()).toEqual(['a', 'c']);
    store.apply(owned('a', 'u2', { tier: 'db' }));
    expect(store.byIndex(OWNER_UID_INDEX, 'u1').map((o) => o.metadata.name)).toEqual(['b']);
    expect(store.byIndex(LABEL_INDEX, 'tier=web').map((o) => o.metadata.name)).toEqual(['c']);
    store.delete('ns/c');
    expect(store.byIndex(LABEL_INDEX, 'tier=web')).toEqual([]);
    expect(store.byIndex(OWNER_UID_INDEX, 'u2').map((o) => o.metadata.name)).toEqual(['a']);
  });

  it('supports custom indexes, also over objects stored before the index was added', () => {
    const store = new Store();
    store.apply(gizmo('a', '1', { annotations: { team: 'blue' } }));
    store.addIndex('team', (o) => (o.metadata.annotations?.['team'] === undefined ? [] : [o.metadata.annotations['team']]));
    expect(store.byIndex('team', 'blue')).toHaveLength(1);
  });

  it('replaces its content at once and reports what it held', () => {
    const store = new Store();
    store.apply(gizmo('a', '1', { labels: { x: '1' } }));
    const next = new Map([['ns/b', gizmo('b', '2', { labels: { x: '1' } })]]);
    const previous = store.replace(next);
    expect([...previous.keys()]).toEqual(['ns/a']);
    expect(store.get('ns/a')).toBeUndefined();
    expect(store.byIndex(LABEL_INDEX, 'x=1').map((o) => o.metadata.name)).toEqual(['b']);
  });

  it('waitForSync resolves at the first complete list and rejects when its signal aborts first', async () => {
    const store = new Store();
    const controller = new AbortController();
    const aborted = store.waitForSync(controller.signal);
    controller.abort(new Error('stopping'));
    await expect(aborted).rejects.toThrow('stopping');
    expect(store.hasSynced).toBe(false);
    const synced = store.waitForSync();
    store.replace(new Map());
    await expect(synced).resolves.toBeUndefined();
    expect(store.hasSynced).toBe(true);
    await expect(store.waitForSync()).resolves.toBeUndefined();
  });
});
