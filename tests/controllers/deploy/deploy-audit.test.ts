import { describe, expect, it } from 'vitest';
import { auditEntries } from '../../../src/controllers/deploy/deploy-audit.ts';
import type { WorkflowSnapshot } from '../../../src/workflow/workflow-status-store.ts';

const run = {
  resource: { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'billing', uid: 'uid', resource: 'deploys' },
  generation: 2,
  actor: 'operator-0',
  details: { version: '2.3.1', provider: 'railway' },
};

function snapshot(id: string, steps: [string, string, number][], finished = false): WorkflowSnapshot {
  return { workflow: { id, ...(finished ? { finishedAt: '2026-11-27T12:05:00Z' } : {}), steps: steps.map(([name, state, attempts]) => ({ name, state: state as 'Pending', attempts })) }, units: {} };
}

describe('auditEntries', () => {
  it('records the start of a run and each step that moved, not the steps still pending', () => {
    const entries = auditEntries(run, undefined, snapshot('uid/2', [['validate', 'Running', 1], ['deploy', 'Pending', 0]]));
    expect(entries.map((entry) => `${entry.action} ${entry.outcome}`)).toEqual(['workflow.started Started', 'step.validate Running']);
    expect(entries[1]).toMatchObject({ actor: 'operator-0', step: 'validate', correlationId: 'uid/2', generation: 2, details: { version: '2.3.1', provider: 'railway', attempt: 1 } });
  });

  it('records a new attempt and a new state, but not a poll of a waiting step', () => {
    const waiting = snapshot('uid/2', [['verify', 'Waiting', 1]]);
    expect(auditEntries(run, waiting, snapshot('uid/2', [['verify', 'Waiting', 1]]))).toEqual([]);
    expect(auditEntries(run, waiting, snapshot('uid/2', [['verify', 'Running', 2]])).map((entry) => entry.outcome)).toEqual(['Running']);
    expect(auditEntries(run, waiting, snapshot('uid/2', [['verify', 'Failed', 1]])).map((entry) => entry.outcome)).toEqual(['Failed']);
  });

  it('records the end of a run once, with its outcome', () => {
    const before = snapshot('uid/2', [['verify', 'Failed', 1], ['rollback', 'Succeeded', 1]]);
    const finished = snapshot('uid/2', [['verify', 'Failed', 1], ['rollback', 'Succeeded', 1]], true);
    expect(auditEntries(run, before, finished).map((entry) => `${entry.action} ${entry.outcome}`)).toEqual(['workflow.finished Failed']);
    expect(auditEntries(run, finished, finished)).toEqual([]);
  });
});
