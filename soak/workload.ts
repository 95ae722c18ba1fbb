// What the soak creates and what each resource must end as: Deploys and Sweeps with scripted outcomes, drawn from the seed.
import { SeededRandom } from './seeded-random.ts';

export type DeployProviderName = 'webhook' | 'railway' | 'kubernetes';
/** What the provider does with a deploy: roll it out, fail the rollout, or refuse it outright (4xx). */
export type DeployOutcome = 'succeed' | 'fail' | 'reject';
/** How the service's health endpoint answers: not checked, always healthy (flips aside), unhealthy once then healthy, never healthy. */
export type HealthScript = 'none' | 'healthy' | 'flaky' | 'unhealthy';

export interface DeployGeneration {
  readonly version: string;
  readonly image: string;
  readonly deploy: DeployOutcome;
  readonly health: HealthScript;
  /** How the provider handles the rollback of this generation, when one runs. */
  readonly rollback: 'succeed' | 'fail';
}

export interface ExpectedDeploy {
  readonly phase: 'Succeeded' | 'RolledBack' | 'Failed';
  /** The `Stalled` condition's reason, for RolledBack and Failed. */
  readonly reason?: string;
}

export interface DeployPlan {
  readonly name: string;
  readonly provider: DeployProviderName;
  /** When it is created, from the start of the fault phase. */
  readonly createAtMs: number;
  /** When its spec changes to the second generation (a new version), if it does. */
  readonly updateAtMs?: number;
  /** When the approval annotation is set, for a Deploy that requires one. */
  readonly approveAtMs?: number;
  readonly rollbackEnabled: boolean;
  readonly sensitive: boolean;
  readonly requireApproval: boolean;
  readonly retryPolicy: 'default' | 'critical';
  /** A spec naming what does not exist: its validate step fails. */
  readonly invalid?: 'missing-secret' | 'missing-deployment';
  /** What runs before the first deploy (kubernetes and railway). */
  readonly initialImage: string;
  /** One or two generations; the last one decides the final state. */
  readonly generations: readonly DeployGeneration[];
  readonly expected: ExpectedDeploy;
}

export type CheckVerdict = 'pass' | 'fail' | 'error';
export type UnitState = 'Passed' | 'Failed' | 'Errored' | 'Skipped';

export interface CheckPlan {
  readonly name: string;
  readonly runner: 'job' | 'http';
  /** job: every repository's Job ends this way, after `jobDelayMs`. */
  readonly jobOutcome?: 'succeed' | 'fail';
  readonly jobDelayMs?: number;
  /** http: the checker's verdict per repository; `error` is a 400 answer. */
  readonly verdicts?: Readonly<Record<string, CheckVerdict>>;
}

export interface ExpectedSweep {
  /** In spec order: repositories, then checks. */
  readonly results: readonly { readonly repository: string; readonly check: string; readonly state: UnitState }[];
  readonly summary: { readonly passed: number; readonly failed: number; readonly errored: number; readonly skipped: number };
  readonly phase: 'Succeeded' | 'Failed';
}

export interface SweepPlan {
  readonly name: string;
  readonly createAtMs: number;
  readonly concurrency: number;
  readonly failFast: boolean;
  /** Repository names, unique across the whole soak (the checker's verdicts are keyed by them). */
  readonly repositories: readonly string[];
  readonly checks: readonly CheckPlan[];
  readonly expected: ExpectedSweep;
}

export interface Workload {
  readonly deploys: readonly DeployPlan[];
  readonly sweeps: readonly SweepPlan[];
}

export interface WorkloadSize {
  readonly deploys: number;
  readonly sweeps: number;
}

/** The numbers for a 10-minute run. */
export const FULL_SIZE: WorkloadSize = { deploys: 1000, sweeps: 100 };

/**
 * The workload of a run of `minutes` of faults: the full size from 10 minutes on; shorter runs keep the full
 * run's creation rate (resources per minute) with at least a tenth of it, so each resource meets as many faults
 * as in a 10-minute run and the settle phase is not a backlog of resources created in the last seconds.
 */
export function workloadSize(minutes: number): WorkloadSize {
  const share = Math.min(1, Math.max(0.1, minutes / 10));
  return { deploys: Math.round(FULL_SIZE.deploys * share), sweeps: Math.round(FULL_SIZE.sweeps * share) };
}

/** Health checks of the soak: a probe a second; 2 healthy in a row verify, 5 unhealthy in a row fail. */
export const HEALTH_CHECK = { intervalSeconds: 1, timeoutSeconds: 300, successThreshold: 2, failureThreshold: 5 } as const;

type Scenario = 'healthy' | 'flaky' | 'no-health' | 'unhealthy-rollback' | 'fail-rollback' | 'fail-no-rollback' | 'unhealthy-no-rollback' | 'rollback-fails' | 'rejected' | 'invalid';

const SCENARIOS: readonly (readonly [Scenario, number])[] = [
  ['healthy', 34],
  ['flaky', 10],
  ['no-health', 15],
  ['unhealthy-rollback', 10],
  ['fail-rollback', 10],
  ['fail-no-rollback', 5],
  ['unhealthy-no-rollback', 3],
  ['rollback-fails', 6],
  ['rejected', 4],
  ['invalid', 3],
];

/** The final state a plan must reach, from its last generation's script (ADR 010's phase table). */
export function expectedDeploy(plan: Pick<DeployPlan, 'provider' | 'invalid' | 'generations' | 'rollbackEnabled'>): ExpectedDeploy {
  if (plan.invalid !== undefined) return { phase: 'Failed', reason: 'InvalidSpec' };
  const last = plan.generations[plan.generations.length - 1];
  if (last === undefined) throw new RangeError('a Deploy plan needs a generation');
  if (last.deploy === 'reject') return { phase: 'Failed', reason: 'DeployFailed' };
  const failure = last.deploy === 'fail' ? (plan.provider === 'kubernetes' ? 'RolloutDeadlineExceeded' : 'ProviderFailed') : last.health === 'unhealthy' ? 'HealthCheckFailed' : undefined;
  if (failure === undefined) return { phase: 'Succeeded' };
  if (!plan.rollbackEnabled) return { phase: 'Failed', reason: failure };
  return last.rollback === 'fail' ? { phase: 'Failed', reason: 'RollbackFailed' } : { phase: 'RolledBack', reason: 'RolledBack' };
}

function generation(name: string, index: number, serial: number, scenario: Scenario): DeployGeneration {
  const version = `${index + 1}.${serial}.0`;
  const unhealthy = scenario === 'unhealthy-rollback' || scenario === 'unhealthy-no-rollback';
  const failing = scenario === 'fail-rollback' || scenario === 'fail-no-rollback' || scenario === 'rollback-fails';
  return {
    version,
    image: `registry.soak.invalid/${name}:${version}`,
    deploy: scenario === 'rejected' ? 'reject' : failing ? 'fail' : 'succeed',
    health: scenario === 'no-health' || scenario === 'rejected' || scenario === 'invalid' ? 'none' : unhealthy ? 'unhealthy' : scenario === 'flaky' ? 'flaky' : failing ? 'none' : 'healthy',
    rollback: scenario === 'rollback-fails' ? 'fail' : 'succeed',
  };
}

function deployPlan(random: SeededRandom, serial: number, createAtMs: number): DeployPlan {
  const name = `deploy-${String(serial).padStart(4, '0')}`;
  const provider = random.weighted<DeployProviderName>([
    ['webhook', 4],
    ['railway', 3],
    ['kubernetes', 3],
  ]);
  let scenario = random.weighted(SCENARIOS);
  if (provider === 'kubernetes' && scenario === 'rejected') scenario = 'fail-no-rollback';
  const sensitive = random.chance(0.15);
  const requireApproval = sensitive && scenario !== 'invalid' && random.chance(0.3);
  // A spec change mid-run: the first generation deploys a good version without a health check, the second
  // follows the scenario. Never with an approval (each generation needs its own) or an invalid spec.
  const updated = !requireApproval && scenario !== 'invalid' && random.chance(0.12);
  const generations = updated ? [generation(name, 0, serial, 'no-health'), generation(name, 1, serial, scenario)] : [generation(name, 0, serial, scenario)];
  const rollbackEnabled = !(scenario === 'fail-no-rollback' || scenario === 'unhealthy-no-rollback') && (scenario !== 'healthy' || random.chance(0.8));
  const invalid: DeployPlan['invalid'] = scenario === 'invalid' ? (provider === 'kubernetes' ? 'missing-deployment' : 'missing-secret') : undefined;
  const plan = {
    name,
    provider,
    createAtMs,
    ...(updated ? { updateAtMs: createAtMs + random.int(500, 8_000) } : {}),
    ...(requireApproval ? { approveAtMs: createAtMs + random.int(1_000, 6_000) } : {}),
    rollbackEnabled,
    sensitive,
    requireApproval,
    retryPolicy: random.chance(0.2) ? ('critical' as const) : ('default' as const),
    ...(invalid === undefined ? {} : { invalid }),
    initialImage: `registry.soak.invalid/${name}:0.${serial}.0`,
    generations,
  };
  return { ...plan, expected: expectedDeploy(plan) };
}

const CHECK_POOL: readonly { name: string; runner: 'job' | 'http' }[] = [
  { name: 'lint', runner: 'job' },
  { name: 'test', runner: 'job' },
  { name: 'audit', runner: 'http' },
  { name: 'merge-ready', runner: 'http' },
  { name: 'license', runner: 'http' },
];

/** Unit outcomes in spec order; with failFast (always at concurrency 1) the units after the first failure are Skipped. */
export function expectedSweep(plan: Pick<SweepPlan, 'repositories' | 'checks' | 'failFast'>): ExpectedSweep {
  const results: { repository: string; check: string; state: UnitState }[] = [];
  let stopped = false;
  for (const repository of plan.repositories) {
    for (const check of plan.checks) {
      let state: UnitState;
      if (stopped) state = 'Skipped';
      else if (check.runner === 'job') state = check.jobOutcome === 'fail' ? 'Failed' : 'Passed';
      else state = { pass: 'Passed', fail: 'Failed', error: 'Errored' }[check.verdicts?.[repository] ?? 'pass'] as UnitState;
      if (plan.failFast && state !== 'Passed' && state !== 'Skipped') stopped = true;
      results.push({ repository, check: check.name, state });
    }
  }
  const count = (state: UnitState): number => results.filter((result) => result.state === state).length;
  const summary = { passed: count('Passed'), failed: count('Failed'), errored: count('Errored'), skipped: count('Skipped') };
  return { results, summary, phase: summary.passed === results.length ? 'Succeeded' : 'Failed' };
}

function sweepPlan(random: SeededRandom, serial: number, createAtMs: number): SweepPlan {
  const name = `sweep-${String(serial).padStart(3, '0')}`;
  const repositories = Array.from({ length: random.int(2, 6) }, (_, i) => `${name}-repo-${i}`);
  const pool = [...CHECK_POOL];
  const checks: CheckPlan[] = [];
  for (let i = random.int(1, 3); i > 0; i--) {
    const picked = pool.splice(random.int(0, pool.length - 1), 1)[0];
    if (picked === undefined) break;
    if (picked.runner === 'job') checks.push({ name: picked.name, runner: 'job', jobOutcome: random.chance(0.75) ? 'succeed' : 'fail', jobDelayMs: random.int(300, 2_500) });
    else checks.push({ name: picked.name, runner: 'http', verdicts: Object.fromEntries(repositories.map((repository) => [repository, random.weighted<CheckVerdict>([['pass', 75], ['fail', 18], ['error', 7]])])) });
  }
  const failFast = random.chance(0.1);
  const plan = { name, createAtMs, concurrency: failFast ? 1 : random.int(2, 5), failFast, repositories, checks };
  return { ...plan, expected: expectedSweep(plan) };
}

/** Creation times spread evenly over `[firstMs, lastMs]`, jittered, in order. */
function creationTimes(random: SeededRandom, count: number, firstMs: number, lastMs: number): number[] {
  const step = count <= 1 ? 0 : (lastMs - firstMs) / count;
  return Array.from({ length: count }, (_, i) => Math.round(firstMs + step * (i + random.next())));
}

/**
 * The workload of a seed: `size` Deploys and Sweeps created over the first `spreadMs` of the fault phase, each
 * with scripted provider, health and checker behaviour and the final state that script implies.
 */
export function planWorkload(seed: string | number, size: WorkloadSize, spreadMs: number): Workload {
  const random = new SeededRandom(seed).derive('workload');
  const deployTimes = creationTimes(random.derive('deploy-times'), size.deploys, 1_000, spreadMs);
  const sweepTimes = creationTimes(random.derive('sweep-times'), size.sweeps, 1_000, spreadMs);
  const deploys = deployTimes.map((atMs, i) => deployPlan(random.derive(`deploy-${i}`), i, atMs));
  const sweeps = sweepTimes.map((atMs, i) => sweepPlan(random.derive(`sweep-${i}`), i, atMs));
  return { deploys, sweeps };
}
