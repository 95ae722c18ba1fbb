import { describe, expect, it } from 'vitest';
import { cloneJson, jsonEqual, mergePatchDiff } from '../../src/runtime/merge-patch.ts';

describe('cloneJson', () => {
  it('copies a JSON document deeply: changing the copy leaves the original as it was', () => {
    const original = { conditions: [{ type: 'Ready', status: 'True' }], observedGeneration: 3, nested: { list: [1, [2, 3]], none: null, flag: false } };
    const copy = cloneJson(original);
    expect(copy).toEqual(original);
    copy.conditions[0]!.status = 'False';
    copy.nested.list.push(4);
    (copy.nested.list[1] as number[]).push(5);
    expect(original).toEqual({ conditions: [{ type: 'Ready', status: 'True' }], observedGeneration: 3, nested: { list: [1, [2, 3]], none: null, flag: false } });
  });

  it('keeps a __proto__ member a member, as JSON.parse made it', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    const copy = cloneJson(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(jsonEqual(copy, parsed)).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('copies values that are not plain JSON as structuredClone does', () => {
    const when = new Date(0);
    const copy = cloneJson({ when });
    expect(copy.when).toBeInstanceOf(Date);
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(0);
    expect(() => cloneJson({ run: () => 1 })).toThrow();
  });
});

describe('mergePatchDiff', () => {
  it('is undefined for equal documents and holds only the changes otherwise', () => {
    expect(mergePatchDiff({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })).toBeUndefined();
    expect(mergePatchDiff({ a: 1, b: { c: 1, d: 2 } }, { a: 1, b: { c: 2 } })).toEqual({ b: { c: 2, d: null } });
  });
});
