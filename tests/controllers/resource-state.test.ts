import { describe, expect, it } from 'vitest';
import { CONTRACTS, conditionsFor, type PhaseContract } from '../gitops/status-fixtures.ts';
import { kstatusConditions, withState, type ResourceState, type StatusSummary } from '../../src/controllers/resource-state.ts';

const T0 = Date.parse('2026-11-27T12:00:00Z');

function stateOf(phase: string, contract: PhaseContract): ResourceState {
  const kind = contract.ready === 'True' ? 'ready' : contract.reconciling ? 'progressing' : contract.stalled ? 'stalled' : 'suspended';
  return { kind, phase, reason: contract.reason, message: contract.message };
}

describe('kstatusConditions', () => {
  for (const [kind, contracts] of Object.entries(CONTRACTS)) {
    for (const [phase, contract] of Object.entries(contracts)) {
      it(`writes the conditions the GitOps health contract expects for a ${kind} in phase ${phase}`, () => {
        expect(kstatusConditions(undefined, stateOf(phase, contract), 3, T0)).toEqual(conditionsFor(contract, 3));
      });
    }
  }

  it('keeps lastTransitionTime while a condition keeps its status, and moves it when the status changes', () => {
    const verifying: ResourceState = { kind: 'progressing', phase: 'Verifying', reason: 'Verifying', message: '1 of 3 healthy probes' };
    const first = kstatusConditions(undefined, verifying, 1, T0);
    const later = kstatusConditions(first, { ...verifying, message: '2 of 3 healthy probes' }, 1, T0 + 60_000);
    expect(later.map((c) => c.lastTransitionTime)).toEqual(first.map((c) => c.lastTransitionTime));
    const done = kstatusConditions(later, { kind: 'ready', phase: 'Succeeded', reason: 'Succeeded', message: 'running' }, 1, T0 + 120_000);
    expect(done.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2026-11-27T12:02:00Z' });
    expect(done.find((c) => c.type === 'Reconciling')).toMatchObject({ status: 'False', reason: 'Idle', lastTransitionTime: '2026-11-27T12:02:00Z' });
    expect(done.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'False', lastTransitionTime: '2026-11-27T12:00:00Z' });
  });

  it('never has Reconciling and Stalled True together, and always has Ready', () => {
    for (const kind of ['progressing', 'ready', 'stalled', 'suspended'] as const) {
      const conditions = kstatusConditions(undefined, { kind, phase: 'P', reason: 'Because', message: '' }, 1, T0);
      expect(conditions.map((c) => c.type)).toEqual(['Ready', 'Reconciling', 'Stalled']);
      expect(conditions.filter((c) => c.type !== 'Ready' && c.status === 'True').length).toBeLessThanOrEqual(1);
    }
  });
});

describe('withState', () => {
  it('sets phase, observedGeneration and conditions and keeps every other status field', () => {
    const status = withState<StatusSummary & { revision: number }>({ revision: 4, phase: 'Deploying' }, { kind: 'stalled', phase: 'Failed', reason: 'InvalidSpec', message: 'Secret prod/railway not found' }, 7, T0);
    expect(status).toMatchObject({ revision: 4, phase: 'Failed', observedGeneration: 7 });
    expect(status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec', message: 'Secret prod/railway not found', observedGeneration: 7 });
  });
});
