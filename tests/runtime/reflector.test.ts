import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { Reflector, type ChangeSource } from '../../src/runtime/reflector.ts';
import { until } from '../kube/http-test-server.ts';
import { FakeListWatch, gizmo, gizmos } from './fake-list-watch.ts';

interface Change {
  kind: 'apply' | 'delete';
  name: string;
  source: ChangeSource;
  previous?: string | undefined;
}

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

function run(objects: KubeObject[]): { source: FakeListWatch; reflector: Reflector; changes: Change[] } {
  const source = new FakeListWatch();
  source.objects = objects;
  const reflector = new Reflector({ source, resource: gizmos, clock: new ManualClock(), logger: createLogger({ level: 'silent' }), random: () => 0.5 });
  const changes: Change[] = [];
  reflector.subscribe({
    onApply: (object, previous, from) => changes.push({ kind: 'apply', name: object.metadata.name ?? '', source: from, previous: previous?.metadata.resourceVersion }),
    onDelete: (object, from) => changes.push({ kind: 'delete', name: object.metadata.name ?? '', source: from }),
  });
  const controller = new AbortController();
  const running = reflector.start(controller.signal);
  stop = async () => {
    controller.abort();
    await running;
  };
  return { source, reflector, changes };
}

describe('Reflector', () => {
  it('fills the store from the initial list and reports each object once it is stored', async () => {
    const { reflector, changes, source } = run([gizmo('a', '1', { managedFields: [{}] }), gizmo('b', '2')]);
    await reflector.store.waitForSync();
    expect(reflector.store.size).toBe(2);
    expect(reflector.store.get('ns/a')?.metadata.managedFields).toBeUndefined();
    expect(changes).toEqual([
      { kind: 'apply', name: 'a', source: 'list', previous: undefined },
      { kind: 'apply', name: 'b', source: 'list', previous: undefined },
    ]);
    await until(() => source.watches.length === 1);
  });

  it('applies live events to the store before handlers see them', async () => {
    const { reflector, changes, source } = run([gizmo('a', '1')]);
    await until(() => source.watches.length === 1);
    const seen: (string | undefined)[] = [];
    reflector.subscribe({ onApply: (o) => seen.push(reflector.store.get('ns/a')?.metadata.resourceVersion === o.metadata.resourceVersion ? 'stored' : 'stale') });
    source.current.push({ type: 'MODIFIED', object: gizmo('a', '5') });
    source.current.push({ type: 'DELETED', object: gizmo('a', '6') });
    await until(() => changes.length === 3);
    expect(changes.slice(1)).toEqual([
      { kind: 'apply', name: 'a', source: 'watch', previous: '1' },
      { kind: 'delete', name: 'a', source: 'watch' },
    ]);
    expect(seen).toEqual(['stored']);
    expect(reflector.store.size).toBe(0);
  });

  it('after a relist reports only what changed, including deletions missed while disconnected', async () => {
    const { reflector, changes, source } = run([gizmo('kept', '1'), gizmo('changed', '2'), gizmo('deleted', '3')]);
    await until(() => source.watches.length === 1);
    const keptInstance = reflector.store.get('ns/kept');
    source.objects = [gizmo('kept', '1'), gizmo('changed', '7'), gizmo('added', '8')];
    source.current.error(410, 'Expired');
    await until(() => source.watches.length === 2);
    expect(changes.slice(3)).toEqual([
      { kind: 'apply', name: 'changed', source: 'list', previous: '2' },
      { kind: 'apply', name: 'added', source: 'list', previous: undefined },
      { kind: 'delete', name: 'deleted', source: 'list' },
    ]);
    expect(reflector.store.get('ns/kept')).toBe(keptInstance);
    expect([...reflector.store.keys()].sort()).toEqual(['ns/added', 'ns/changed', 'ns/kept']);
  });
});
