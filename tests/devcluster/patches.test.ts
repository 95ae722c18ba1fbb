import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/devcluster/json.ts';
import { applyJsonPatch, applyMergePatch } from '../../src/devcluster/patches.ts';
import { parseFieldSelector, parseLabelSelector } from '../../src/devcluster/selectors.ts';
import { isStatusError } from '../../src/devcluster/status-error.ts';
import { applyStrategicMergePatch, type PatchMeta } from '../../src/devcluster/strategic-merge-patch.ts';

const meta: PatchMeta = { fields: { spec: { fields: { containers: { strategy: 'merge', mergeKey: 'name', fields: { env: { strategy: 'merge', mergeKey: 'name' } } }, finalizers: { strategy: 'merge' } } } } };

describe('merge patch', () => {
  it('replaces lists, deletes keys set to null and shares untouched subtrees', () => {
    const target: JsonObject = { a: { b: 1, c: 2 }, list: [1, 2], keep: { deep: true } };
    const result = applyMergePatch(target, { a: { c: null, d: 3 }, list: [3] }) as JsonObject;
    expect(result).toEqual({ a: { b: 1, d: 3 }, list: [3], keep: { deep: true } });
    expect(result['keep']).toBe(target['keep']);
    expect(target).toEqual({ a: { b: 1, c: 2 }, list: [1, 2], keep: { deep: true } });
  });
});

describe('JSON patch', () => {
  it('applies add, remove, replace, move, copy and test without touching the target', () => {
    const target: JsonObject = { a: [1, 2], b: { c: 'x' } };
    const result = applyJsonPatch(target, [
      { op: 'add', path: '/a/1', value: 9 },
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'replace', path: '/b/c', value: 'y' },
      { op: 'copy', from: '/b/c', path: '/d' },
      { op: 'move', from: '/d', path: '/e' },
      { op: 'remove', path: '/a/0' },
      { op: 'test', path: '/e', value: 'y' },
    ]);
    expect(result).toEqual({ a: [9, 2, 3], b: { c: 'y' }, e: 'y' });
    expect(target).toEqual({ a: [1, 2], b: { c: 'x' } });
  });

  it('rejects the whole patch with the generic 422 when an operation fails', () => {
    for (const patch of [[{ op: 'test', path: '/a', value: 2 }], [{ op: 'remove', path: '/missing' }], [{ op: 'replace', path: '/missing', value: 1 }], [{ op: 'bogus', path: '/a' }]]) {
      try {
        applyJsonPatch({ a: 1 }, patch);
        expect.unreachable();
      } catch (error) {
        expect(isStatusError(error) && error.code).toBe(422);
      }
    }
  });
});

describe('strategic merge patch', () => {
  const target: JsonObject = { spec: { containers: [{ name: 'a', image: 'x', env: [{ name: 'E', value: '1' }] }, { name: 'b', image: 'y' }], finalizers: ['f1'], other: [1] } };

  it('merges lists by their merge key, recursively, and unions sets', () => {
    const result = applyStrategicMergePatch(target, { spec: { containers: [{ name: 'a', env: [{ name: 'F', value: '2' }] }, { name: 'c', image: 'z' }], finalizers: ['f2'], other: [2] } }, meta);
    expect(result).toEqual({
      spec: {
        containers: [{ name: 'a', image: 'x', env: [{ name: 'E', value: '1' }, { name: 'F', value: '2' }] }, { name: 'b', image: 'y' }, { name: 'c', image: 'z' }],
        finalizers: ['f1', 'f2'],
        other: [2],
      },
    });
  });

  it('honours $patch delete and replace, $setElementOrder and $deleteFromPrimitiveList', () => {
    const deleted = applyStrategicMergePatch(target, { spec: { containers: [{ name: 'a', $patch: 'delete' }] } }, meta);
    expect((deleted['spec'] as JsonObject)['containers']).toEqual([{ name: 'b', image: 'y' }]);
    const replaced = applyStrategicMergePatch(target, { spec: { $patch: 'replace', containers: [] } }, meta);
    expect(replaced).toEqual({ spec: { containers: [] } });
    const ordered = applyStrategicMergePatch(target, { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }], containers: [{ name: 'a', image: 'x2' }] } }, meta);
    expect(((ordered['spec'] as JsonObject)['containers'] as JsonObject[]).map((c) => [c['name'], c['image']])).toEqual([
      ['b', 'y'],
      ['a', 'x2'],
    ]);
    const pruned = applyStrategicMergePatch(target, { spec: { '$deleteFromPrimitiveList/finalizers': ['f1'] } }, meta);
    expect((pruned['spec'] as JsonObject)['finalizers']).toEqual([]);
  });

  it('refuses a list item without its merge key with a 400', () => {
    expect(() => applyStrategicMergePatch(target, { spec: { containers: [{ image: 'q' }] } }, meta)).toThrow(/does not contain declared merge key: name/);
  });
});

describe('selectors', () => {
  it('match equality, inequality, set-based and existence requirements', () => {
    const selector = parseLabelSelector('tier in (a, b),env!=prod,!legacy,app');
    expect(selector.matches({ tier: 'a', env: 'dev', app: 'x' })).toBe(true);
    expect(selector.matches({ tier: 'c', env: 'dev', app: 'x' })).toBe(false);
    expect(selector.matches({ tier: 'a', env: 'prod', app: 'x' })).toBe(false);
    expect(selector.matches({ tier: 'a', app: 'x', legacy: 'y' })).toBe(false);
    expect(selector.matches({ tier: 'a' })).toBe(false);
    expect(parseLabelSelector('tier notin (a)').matches({})).toBe(true);
  });

  it('reject what kube-apiserver rejects with 400', () => {
    expect(() => parseLabelSelector('a in b')).toThrow();
    expect(() => parseFieldSelector('spec.size=3', (label) => label === 'metadata.name')).toThrow('field label not supported: spec.size');
    expect(parseFieldSelector('metadata.name==x', (label) => label === 'metadata.name').matches({ 'metadata.name': 'x' })).toBe(true);
  });
});
