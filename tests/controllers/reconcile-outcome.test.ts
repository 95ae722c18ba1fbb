import { describe, expect, it } from 'vitest';
import { finishedNow, outcomeAction } from '../../src/controllers/reconcile-outcome.ts';
import type { ResourceState } from '../../src/controllers/resource-state.ts';
import { isTerminalError } from '../../src/runtime/reconciler.ts';
import type { RunResult } from '../../src/workflow/workflow-engine.ts';
import type { WorkflowSnapshot } from '../../src/workflow/workflow-status-store.ts';

const running: WorkflowSnapshot = { workflow: { id: 'u/1', startedAt: '2026-11-27T12:00:00Z', steps: [] }, units: {} };
const finished: WorkflowSnapshot = { workflow: { ...running.workflow, finishedAt: '2026-11-27T12:01:00Z' }, units: {} };
const rolledBack: ResourceState = { kind: 'stalled', phase: 'RolledBack', reason: 'RolledBack', message: 'Rolled back to 1.41.2: health check failed' };

describe('outcomeAction', () => {
  it('requeues a running run when its next step is due, never with a zero delay', () => {
    expect(outcomeAction(running, { state: 'running', requeueAfterMs: 2500, snapshot: running }, rolledBack)).toEqual({ requeueAfterMs: 2500 });
    expect(outcomeAction(running, { state: 'running', requeueAfterMs: 0, snapshot: running }, rolledBack)).toEqual({ requeueAfterMs: 1 });
  });

  it('throws a TerminalError with the state’s reason when the run failed during this reconcile', () => {
    const result: RunResult = { state: 'failed', failedStep: 'verify', message: 'health check failed', snapshot: finished };
    let thrown: unknown;
    try {
      outcomeAction(running, result, rolledBack);
    } catch (error) {
      thrown = error;
    }
    expect(isTerminalError(thrown) && thrown.reason).toBe('RolledBack');
    expect((thrown as Error).message).toBe(rolledBack.message);
  });

  it('is done for a run that had already failed or that succeeded', () => {
    expect(outcomeAction(finished, { state: 'failed', failedStep: 'verify', message: 'x', snapshot: finished }, rolledBack)).toEqual({});
    expect(outcomeAction(running, { state: 'succeeded', snapshot: finished }, rolledBack)).toEqual({});
  });
});

describe('finishedNow', () => {
  it('tells a run that finished in this reconcile from one that had finished before, or from another generation', () => {
    const result: RunResult = { state: 'succeeded', snapshot: finished };
    expect(finishedNow(running, result)).toBe(true);
    expect(finishedNow(undefined, result)).toBe(true);
    expect(finishedNow(finished, result)).toBe(false);
    expect(finishedNow({ workflow: { ...finished.workflow, id: 'u/0' }, units: {} }, result)).toBe(true);
    expect(finishedNow(running, { state: 'running', requeueAfterMs: 1, snapshot: running })).toBe(false);
  });
});
