import { describe, expect, it } from 'vitest';
import { conditionReason, findCondition, isConditionTrue, kubeTime, removeCondition, setCondition } from '../../src/runtime/conditions.ts';
import { jsonEqual, mergePatchDiff } from '../../src/runtime/merge-patch.ts';

const t0 = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

describe('conditions', () => {
  it('formats Kubernetes times in whole seconds', () => {
    expect(kubeTime(t0)).toBe('2026-01-01T12:00:00Z');
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status changes', () => {
    let conditions = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Progressing', message: 'deploying', observedGeneration: 1 }, t0);
    conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Verifying', message: 'checking health', observedGeneration: 2 }, t0 + 60_000);
    expect(findCondition(conditions, 'Ready')).toEqual({ type: 'Ready', status: 'False', reason: 'Verifying', message: 'checking health', lastTransitionTime: '2026-01-01T12:00:00Z', observedGeneration: 2 });
    conditions = setCondition(conditions, { type: 'Ready', status: 'True', reason: 'Succeeded', message: 'done' }, t0 + 120_000);
    expect(findCondition(conditions, 'Ready')?.lastTransitionTime).toBe('2026-01-01T12:02:00Z');
    expect(isConditionTrue(conditions, 'Ready')).toBe(true);
  });

  it('setting the same condition again changes nothing', () => {
    const once = setCondition(undefined, { type: 'Stalled', status: 'False', reason: 'Fine', message: '' }, t0);
    const twice = setCondition(once, { type: 'Stalled', status: 'False', reason: 'Fine', message: '' }, t0 + 3_600_000);
    expect(twice).toEqual(once);
  });

  it('adds new types after existing ones and removes by type', () => {
    let conditions = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'A', message: '' }, t0);
    conditions = setCondition(conditions, { type: 'Stalled', status: 'False', reason: 'B', message: '' }, t0);
    expect(conditions.map((c) => c.type)).toEqual(['Ready', 'Stalled']);
    expect(removeCondition(conditions, 'Ready').map((c) => c.type)).toEqual(['Stalled']);
  });

  it('turns free text into a valid CamelCase reason', () => {
    expect(conditionReason('InvalidSpec')).toBe('InvalidSpec');
    expect(conditionReason('invalid spec!')).toBe('invalidspec');
    expect(conditionReason('42 problems')).toBe('R42problems');
    expect(conditionReason('')).toBe('R');
  });
});

describe('merge patch', () => {
  it('is undefined for equal documents whatever their key order', () => {
    expect(mergePatchDiff({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
    expect(jsonEqual({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
  });

  it('holds only what changed, nulls what was removed, and replaces arrays whole', () => {
    const before = { phase: 'Running', conditions: [{ type: 'Ready' }], workflow: { id: 'x', steps: [1] }, gone: 'yes' };
    const after = { phase: 'Done', conditions: [{ type: 'Ready' }, { type: 'Stalled' }], workflow: { id: 'x', steps: [1], finishedAt: 't' } };
    expect(mergePatchDiff(before, after)).toEqual({ phase: 'Done', conditions: [{ type: 'Ready' }, { type: 'Stalled' }], workflow: { finishedAt: 't' }, gone: null });
  });
});
