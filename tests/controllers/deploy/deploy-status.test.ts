import { describe, expect, it } from 'vitest';
import { deploySpecSchema, deployStatusSchema, type DeploySpec } from '../../../src/api/deploy.ts';
import type { WorkflowStep } from '../../../src/api/status.ts';
import { deployState, deployStatus, draftOf, STEP, stepOf, type DeployDraft } from '../../../src/controllers/deploy/deploy-status.ts';
import { suspendedState, withState } from '../../../src/controllers/resource-state.ts';
import type { WorkflowSnapshot } from '../../../src/workflow/workflow-status-store.ts';

const spec = (extra: Record<string, unknown> = {}): DeploySpec =>
  deploySpecSchema.parse({
    service: 'api',
    version: '1.42.0',
    provider: { kubernetes: { deployment: 'api', container: 'api', image: 'ghcr.io/acme/api:1.42.0' } },
    healthCheck: { url: 'http://api.prod.svc/healthz' },
    ...extra,
  });

/** The time of the reconcile the drafts are made in. */
const NOW = Date.parse('2026-11-27T12:10:00.000Z');

type Progress = Partial<Record<string, WorkflowStep['state']>>;
const ORDER = ['validate', 'approve', 'deploy', 'verify', 'finalize', 'rollback'];

function snapshot(progress: Progress, options: { finished?: boolean; messages?: Record<string, string> } = {}): WorkflowSnapshot {
  const steps = ORDER.filter((name) => progress[name] !== undefined).map((name) => ({
    name,
    state: progress[name] as WorkflowStep['state'],
    attempts: progress[name] === 'Pending' ? 0 : 1,
    ...(options.messages?.[name] === undefined ? {} : { message: options.messages[name] }),
  }));
  return { workflow: { id: 'uid/1', startedAt: '2026-11-27T12:00:00.000Z', ...(options.finished === true ? { finishedAt: '2026-11-27T12:05:00.000Z' } : {}), steps }, units: {} };
}

function draft(changes: Partial<DeployDraft> = {}): DeployDraft {
  return { ...draftOf(undefined, 'uid/1', spec(), NOW), ...changes };
}

const previous = { version: '1.41.2', image: 'ghcr.io/acme/api:1.41.2', recordedAt: '2026-11-27T12:00:01.000Z' };

describe('deployState', () => {
  it('names the phase after the step in progress', () => {
    expect(deployState(snapshot({ validate: 'Running', deploy: 'Pending', verify: 'Pending', finalize: 'Pending' }), draft(), spec()).phase).toBe('Pending');
    expect(deployState(snapshot({ validate: 'Succeeded', approve: 'Waiting', deploy: 'Pending' }), draft(), spec())).toMatchObject({ phase: 'AwaitingApproval', reason: 'AwaitingApproval', kind: 'progressing' });
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Running', verify: 'Pending' }), draft(), spec()).phase).toBe('Deploying');
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Waiting' }, { messages: { verify: 'Health check: 1 of 3 healthy probes' } }), draft(), spec())).toMatchObject({
      phase: 'Verifying',
      message: 'Health check: 1 of 3 healthy probes',
    });
  });

  it('says DependencyUnavailable while a step waits on a dependency that is out, in the phase it is in', () => {
    const blocked = draft({ blocked: { reason: 'DependencyUnavailable', message: 'circuit breaker provider:railway is open; retry in 30000 ms' } });
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Waiting' }), blocked, spec())).toMatchObject({ kind: 'progressing', phase: 'Deploying', reason: 'DependencyUnavailable' });
  });

  it('is RollingBack from the moment verification fails until the rollback ends, then RolledBack and Stalled', () => {
    const failedVerify = { validate: 'Succeeded', deploy: 'Succeeded', verify: 'Failed', finalize: 'Pending' } as const;
    const rollback = { state: 'InProgress' as const, startedAt: '2026-11-27T12:03:00.000Z', reason: 'HealthCheckFailed', message: 'Health check failed 3 times in a row', toVersion: '1.41.2' };
    expect(deployState(snapshot(failedVerify), draft({ previous, rollback }), spec()).phase).toBe('RollingBack');
    expect(deployState(snapshot({ ...failedVerify, rollback: 'Waiting' }), draft({ previous, rollback }), spec()).phase).toBe('RollingBack');
    expect(deployState(snapshot({ ...failedVerify, rollback: 'Succeeded' }, { finished: true }), draft({ previous, rollback }), spec())).toEqual({
      kind: 'stalled',
      phase: 'RolledBack',
      reason: 'RolledBack',
      message: 'Rolled back to 1.41.2: Health check failed 3 times in a row',
    });
  });

  it('is Failed with the failure’s reason when no rollback follows, and RollbackFailed when the rollback failed', () => {
    const noRollback = spec({ rollback: { enabled: false } });
    const failure = { reason: 'HealthCheckFailed', message: 'Health check failed 3 times in a row' };
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Failed' }, { finished: true }), draft({ failure }), noRollback)).toMatchObject({ kind: 'stalled', phase: 'Failed', reason: 'HealthCheckFailed' });
    expect(deployState(snapshot({ validate: 'Failed' }, { finished: true, messages: { validate: 'Secret prod/railway not found' } }), draft(), spec())).toEqual({
      kind: 'stalled',
      phase: 'Failed',
      reason: 'InvalidSpec',
      message: 'validate failed: Secret prod/railway not found',
    });
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Failed', rollback: 'Failed' }, { finished: true }), draft({ previous }), spec())).toMatchObject({ phase: 'Failed', reason: 'RollbackFailed' });
  });

  it('keeps the failure’s reason in a later reconcile of the run, which knows it only from the status written', () => {
    const noRollback = spec({ rollback: { enabled: false } });
    const failed = snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Failed' }, { finished: true, messages: { verify: 'Health check failed 3 times in a row' } });
    const failure = { reason: 'HealthCheckFailed', message: 'Health check failed 3 times in a row' };
    const written = deployStatus(undefined, failed, draft({ failure }), noRollback, 1, Date.parse('2026-11-27T12:05:00.000Z'));
    // A new leader's first pass, or a retried write: the draft is rebuilt from the status alone.
    const later = draftOf(written, 'uid/1', noRollback, NOW);
    expect(deployState(failed, later, noRollback)).toMatchObject({ kind: 'stalled', phase: 'Failed', reason: 'HealthCheckFailed' });
    // Another run's failure says nothing about this one.
    expect(draftOf(written, 'uid/2', noRollback, NOW).recordedFailureReason).toBeUndefined();
  });

  it('is Succeeded and Ready once the run finished without a failure', () => {
    expect(deployState(snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Succeeded', finalize: 'Succeeded' }, { finished: true }), draft(), spec())).toEqual({
      kind: 'ready',
      phase: 'Succeeded',
      reason: 'Succeeded',
      message: 'api 1.42.0 is running and healthy',
    });
  });
});

describe('stepOf', () => {
  it('finds a step of the run by name, and nothing for a step the run does not have (an approve step without approval)', () => {
    const { steps } = snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Waiting' }).workflow;
    expect(stepOf(steps, STEP.deploy)).toMatchObject({ name: 'deploy', state: 'Succeeded' });
    expect(stepOf(steps, STEP.approve)).toBeUndefined();
  });
});

describe('deployStatus', () => {
  it('writes a status the schema accepts, with the rollback’s state and end taken from its step', () => {
    const rolledBack = snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Failed', finalize: 'Pending', rollback: 'Succeeded' }, { finished: true });
    const entry = rolledBack.workflow.steps.find((step) => step.name === 'rollback');
    if (entry !== undefined) Object.assign(entry, { finishedAt: '2026-11-27T12:04:00.000Z' });
    const rollback = { state: 'InProgress' as const, startedAt: '2026-11-27T12:03:00.000Z', reason: 'HealthCheckFailed', message: 'unhealthy', toVersion: '1.41.2' };
    const status = deployStatus(undefined, rolledBack, draft({ previous, rollback, revision: 3 }), spec(), 2, Date.parse('2026-11-27T12:05:00Z'));
    expect(deployStatusSchema.parse(status)).toBeDefined();
    expect(status).toMatchObject({ phase: 'RolledBack', observedGeneration: 2, revision: 3, rollback: { state: 'Succeeded', finishedAt: '2026-11-27T12:04:00.000Z' } });
    expect(status.workflow?.steps.find((step) => step.name === 'finalize')?.state).toBe('Skipped');
    expect(status.conditions?.find((condition) => condition.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
  });

  it('starts the per-run fields afresh for a new generation and keeps them within a run', () => {
    const status = { workflow: { id: 'uid/1', steps: [] }, health: { consecutiveSuccesses: 2, consecutiveFailures: 0 }, approval: { required: true, approvedBy: 'alice' }, revision: 4 };
    expect(draftOf(status, 'uid/1', spec(), NOW)).toMatchObject({ health: status.health, approval: status.approval, revision: 4 });
    const fresh = draftOf(status, 'uid/2', spec({ compliance: { sensitive: true, requireApproval: true } }), NOW);
    expect(fresh.health).toBeUndefined();
    expect(fresh.approval).toEqual({ required: true });
    expect(fresh.revision).toBe(4);
  });

  it('starts a verification in progress afresh in the reconcile that resumes a suspended Deploy, and dates the resume from then on by Reconciling', () => {
    const verifying = snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Waiting', finalize: 'Pending' });
    const health = { consecutiveSuccesses: 2, consecutiveFailures: 0 };
    const startedMs = Date.parse('2026-11-27T12:00:30.000Z');
    const running = deployStatus(undefined, verifying, draft({ health }), spec(), 1, startedMs);
    expect(draftOf(running, 'uid/1', spec(), NOW)).toMatchObject({ health, resumedAtMs: startedMs });

    const suspended = withState(running, suspendedState(), 2, Date.parse('2026-11-27T12:01:00.000Z'));
    expect(draftOf(suspended, 'uid/1', spec(), NOW)).toMatchObject({ health: undefined, resumedAtMs: NOW });
    // The first status written after the resume turns Reconciling True: later reconciles read the resume there.
    const resumed = deployStatus(suspended, verifying, draftOf(suspended, 'uid/1', spec(), NOW), spec(), 3, NOW);
    expect(draftOf(resumed, 'uid/1', spec(), NOW + 60_000).resumedAtMs).toBe(NOW);

    // A finished run resumed keeps what its verification found.
    const finished = deployStatus(undefined, snapshot({ validate: 'Succeeded', deploy: 'Succeeded', verify: 'Succeeded', finalize: 'Succeeded' }, { finished: true }), draft({ health }), spec(), 1, startedMs);
    expect(draftOf(withState(finished, suspendedState(), 2, startedMs), 'uid/1', spec(), NOW).health).toEqual(health);
  });
});
