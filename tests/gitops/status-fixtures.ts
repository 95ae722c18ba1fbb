// The status the operator writes in each phase of each kind (ADR 008), and fixtures built from it for the health checks.
import { DEPLOY_PHASES, deploySchema, type DeployPhase } from '../../src/api/deploy.ts';
import { GROUP_VERSION } from '../../src/api/group-version.ts';
import type { Condition } from '../../src/api/status.ts';
import { SWEEP_PHASES, sweepSchema, type SweepPhase } from '../../src/api/sweep.ts';
import type { ArgoHealth } from './argocd-lua.ts';
import type { KstatusStatus } from './kstatus.ts';

export type KindName = 'Deploy' | 'Sweep';

/** What the operator writes in a phase, and what each GitOps tool must then report. */
export interface PhaseContract {
  /** Status of Ready; Reconciling and Stalled are True only where named. */
  readonly ready: 'True' | 'False';
  readonly reconciling: boolean;
  readonly stalled: boolean;
  /** Reason of the condition that decides (the True one, else Ready). */
  readonly reason: string;
  readonly message: string;
  readonly argo: ArgoHealth;
  /** kstatus's verdict, which Flux's healthCheckExprs must match. */
  readonly kstatus: KstatusStatus;
}

const progressing = (reason: string, message: string): PhaseContract => ({ ready: 'False', reconciling: true, stalled: false, reason, message, argo: 'Progressing', kstatus: 'InProgress' });
const succeeded = (message: string): PhaseContract => ({ ready: 'True', reconciling: false, stalled: false, reason: 'Succeeded', message, argo: 'Healthy', kstatus: 'Current' });
const stalled = (reason: string, message: string): PhaseContract => ({ ready: 'False', reconciling: false, stalled: true, reason, message, argo: 'Degraded', kstatus: 'Failed' });
const suspended = (message: string): PhaseContract => ({ ready: 'False', reconciling: false, stalled: false, reason: 'Suspended', message, argo: 'Suspended', kstatus: 'Current' });

export const DEPLOY_PHASE_CONTRACT: Record<DeployPhase, PhaseContract> = {
  Pending: progressing('Pending', 'Waiting for the validate step'),
  AwaitingApproval: { ...progressing('AwaitingApproval', 'Waiting for the operator.blackroad.io/approved-by annotation'), argo: 'Suspended' },
  Deploying: progressing('Deploying', 'Rolling out api 1.42.0 on kubernetes'),
  Verifying: progressing('Verifying', 'Health check: 1 of 3 healthy probes'),
  RollingBack: progressing('RollingBack', 'Rolling back to 1.41.2: health check failed'),
  Succeeded: succeeded('api 1.42.0 is running and healthy'),
  RolledBack: stalled('RolledBack', 'Rolled back to 1.41.2: health check failed 3 times'),
  Failed: stalled('DeployFailed', 'The provider rejected the deploy: image not found'),
  Suspended: suspended('spec.suspend is true'),
};

export const SWEEP_PHASE_CONTRACT: Record<SweepPhase, PhaseContract> = {
  Pending: progressing('Pending', 'Waiting for the first units to start'),
  Running: progressing('Running', 'Running 5 units at a time'),
  Succeeded: succeeded('Every check passed'),
  Failed: stalled('ChecksFailed', '2 units failed, 1 errored'),
  Suspended: suspended('spec.suspend is true'),
};

export const PHASES: Record<KindName, readonly string[]> = { Deploy: DEPLOY_PHASES, Sweep: SWEEP_PHASES };
export const CONTRACTS: Record<KindName, Record<string, PhaseContract>> = { Deploy: DEPLOY_PHASE_CONTRACT, Sweep: SWEEP_PHASE_CONTRACT };

const TRANSITION = '2026-11-27T12:00:00Z';
const SPECS: Record<KindName, unknown> = {
  Deploy: { service: 'api', version: '1.42.0', provider: { kubernetes: { deployment: 'api', container: 'api', image: 'ghcr.io/acme/api:1.42.0' } } },
  Sweep: { repositories: [{ name: 'api', url: 'https://github.com/acme/api' }], checks: [{ name: 'lint', runner: 'job', image: 'node:24' }] },
};

export interface FixtureOptions {
  readonly generation?: number;
  /** Leave out Reconciling and Stalled when they are False, as kstatus allows ("abnormal-true" conditions). */
  readonly omitFalse?: boolean;
  /** Write the status for this generation instead of the current one. */
  readonly observedGeneration?: number;
}

/**
 * The kstatus conditions of a phase, each stamped with the generation they were written for. Ready is always
 * written: a suspended resource says so only through Ready's reason.
 */
export function conditionsFor(contract: PhaseContract, observedGeneration: number, omitFalse = false): Condition[] {
  const entries: [string, boolean][] = [
    ['Ready', contract.ready === 'True'],
    ['Reconciling', contract.reconciling],
    ['Stalled', contract.stalled],
  ];
  const deciding = contract.reconciling ? 'Reconciling' : contract.stalled ? 'Stalled' : 'Ready';
  return entries
    .filter(([type, isTrue]) => isTrue || type === 'Ready' || !omitFalse)
    .map(([type, isTrue]) => ({
      type,
      status: isTrue ? 'True' : 'False',
      reason: type === deciding || type === 'Ready' ? contract.reason : 'Idle',
      message: type === deciding || type === 'Ready' ? contract.message : '',
      lastTransitionTime: TRANSITION,
      observedGeneration,
    }));
}

/** A Deploy or Sweep in a phase, valid for the kind's zod schema, as the API server would return it. */
export function resourceIn(kind: KindName, phase: string, options: FixtureOptions = {}): Record<string, unknown> & { metadata: { generation: number }; status?: Record<string, unknown> } {
  const contract = CONTRACTS[kind][phase];
  if (contract === undefined) throw new Error(`no contract for ${kind} phase ${phase}`);
  const generation = options.generation ?? 3;
  const observedGeneration = options.observedGeneration ?? generation;
  const sweepStatus =
    kind === 'Sweep'
      ? {
          progress: { total: 3, completed: contract.kstatus === 'InProgress' ? 1 : 3, text: contract.kstatus === 'InProgress' ? '1/3' : '3/3' },
          summary: contract.kstatus === 'Failed' ? { passed: 0, failed: 2, errored: 1, skipped: 0 } : { passed: contract.kstatus === 'InProgress' ? 1 : 3, failed: 0, errored: 0, skipped: 0 },
        }
      : {};
  const resource = {
    apiVersion: GROUP_VERSION,
    kind,
    metadata: { name: 'nightly', namespace: 'team-a', uid: '2f9a1c3e-0000-4000-8000-000000000001', generation },
    spec: SPECS[kind],
    status: {
      observedGeneration,
      phase,
      conditions: conditionsFor(contract, observedGeneration, options.omitFalse),
      ...sweepStatus,
    },
  };
  (kind === 'Deploy' ? deploySchema : sweepSchema).parse(resource);
  return resource;
}
