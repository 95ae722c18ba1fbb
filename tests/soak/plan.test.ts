// The soak's plan is a function of its seed: the same seed gives the same faults and the same resources, each
// with the final state its script implies.
import { describe, expect, it } from 'vitest';
import { describeFault, FAULT_KINDS, faultSchedule, MAX_HEALTH_FLIP_MS } from '../../soak/fault-schedule.ts';
import { imageNodeFlags } from '../../soak/operator-fleet.ts';
import { SeededRandom } from '../../soak/seeded-random.ts';
import { expectedDeploy, expectedSweep, planWorkload, workloadSize, type DeployGeneration } from '../../soak/workload.ts';

const TEN_MINUTES = 600_000;

describe('the fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const first = faultSchedule('42', TEN_MINUTES, { redisRestarts: true });
    expect(faultSchedule('42', TEN_MINUTES, { redisRestarts: true })).toEqual(first);
    expect(faultSchedule('43', TEN_MINUTES, { redisRestarts: true })).not.toEqual(first);
    expect(first.map(describeFault).join('\n')).toBe(faultSchedule('42', TEN_MINUTES, { redisRestarts: true }).map(describeFault).join('\n'));
  });

  it('strikes with every kind of fault in ten minutes, in time order, within the fault phase', () => {
    const schedule = faultSchedule('7', TEN_MINUTES, { redisRestarts: true });
    expect(new Set(schedule.map((fault) => fault.kind))).toEqual(new Set(FAULT_KINDS));
    expect(schedule.map((fault) => fault.atMs)).toEqual([...schedule.map((fault) => fault.atMs)].sort((a, b) => a - b));
    expect(schedule.every((fault) => fault.atMs >= 0 && fault.atMs < TEN_MINUTES)).toBe(true);
    expect(schedule.filter((fault) => fault.kind === 'kill-leader').length).toBeGreaterThanOrEqual(6);
  });

  it('keeps health flips short enough never to fail a healthy service, and restarts no Redis it cannot restart', () => {
    for (const seed of ['1', '2', '3', '4', '5']) {
      const schedule = faultSchedule(seed, TEN_MINUTES, { redisRestarts: false });
      expect(schedule.some((fault) => fault.kind === 'redis-restart')).toBe(false);
      for (const fault of schedule) if (fault.kind === 'health-flip') expect(fault.durationMs).toBeLessThanOrEqual(MAX_HEALTH_FLIP_MS);
    }
  });

  it('does not depend on the workload: a 2-minute schedule is the start of the 10-minute one of the same seed', () => {
    const short = faultSchedule('9', 120_000, { redisRestarts: true });
    const long = faultSchedule('9', TEN_MINUTES, { redisRestarts: true }).filter((fault) => fault.atMs < 120_000);
    expect(short).toEqual(long);
  });
});

describe('the workload', () => {
  it('is the same for the same seed, with unique names and repositories', () => {
    const workload = planWorkload('5', { deploys: 300, sweeps: 30 }, 480_000);
    expect(planWorkload('5', { deploys: 300, sweeps: 30 }, 480_000)).toEqual(workload);
    expect(new Set(workload.deploys.map((plan) => plan.name)).size).toBe(300);
    const repositories = workload.sweeps.flatMap((plan) => plan.repositories);
    expect(new Set(repositories).size).toBe(repositories.length);
    expect(workload.deploys.every((plan, i) => i === 0 || plan.createAtMs >= (workload.deploys[i - 1]?.createAtMs ?? 0))).toBe(true);
    expect(workload.deploys.every((plan) => plan.createAtMs <= 480_000)).toBe(true);
  });

  it('covers every provider and every final state the issue names', () => {
    const { deploys, sweeps } = planWorkload('11', workloadSize(10), 480_000);
    expect(new Set(deploys.map((plan) => plan.provider))).toEqual(new Set(['webhook', 'railway', 'kubernetes']));
    expect(new Set(deploys.map((plan) => plan.expected.phase))).toEqual(new Set(['Succeeded', 'RolledBack', 'Failed']));
    expect(new Set(deploys.map((plan) => plan.expected.reason))).toEqual(new Set([undefined, 'RolledBack', 'RollbackFailed', 'InvalidSpec', 'DeployFailed', 'ProviderFailed', 'RolloutDeadlineExceeded', 'HealthCheckFailed']));
    expect(deploys.some((plan) => plan.generations.length === 2)).toBe(true);
    expect(deploys.some((plan) => plan.requireApproval)).toBe(true);
    expect(new Set(sweeps.flatMap((plan) => plan.checks.map((check) => check.runner)))).toEqual(new Set(['job', 'http']));
    expect(sweeps.some((plan) => plan.failFast)).toBe(true);
  });

  it('keeps the full size from 10 minutes on and the creation rate below it', () => {
    expect(workloadSize(10)).toEqual({ deploys: 1000, sweeps: 100 });
    expect(workloadSize(30)).toEqual({ deploys: 1000, sweeps: 100 });
    expect(workloadSize(2)).toEqual({ deploys: 200, sweeps: 20 });
    expect(workloadSize(0.5)).toEqual({ deploys: 100, sweeps: 10 });
  });
});

describe('expected final states', () => {
  const generation = (changes: Partial<DeployGeneration>): DeployGeneration => ({ version: '1.0.0', image: 'img:1', deploy: 'succeed', health: 'healthy', rollback: 'succeed', ...changes });

  it.each([
    ['a healthy deploy', 'webhook', generation({}), true, { phase: 'Succeeded' }],
    ['a flaky health check', 'railway', generation({ health: 'flaky' }), true, { phase: 'Succeeded' }],
    ['an unhealthy deploy with rollback', 'webhook', generation({ health: 'unhealthy' }), true, { phase: 'RolledBack', reason: 'RolledBack' }],
    ['an unhealthy deploy without rollback', 'railway', generation({ health: 'unhealthy' }), false, { phase: 'Failed', reason: 'HealthCheckFailed' }],
    ['a failed rollout on kubernetes without rollback', 'kubernetes', generation({ deploy: 'fail', health: 'none' }), false, { phase: 'Failed', reason: 'RolloutDeadlineExceeded' }],
    ['a failed rollout whose rollback fails', 'webhook', generation({ deploy: 'fail', rollback: 'fail' }), true, { phase: 'Failed', reason: 'RollbackFailed' }],
    ['a refused deploy', 'railway', generation({ deploy: 'reject' }), true, { phase: 'Failed', reason: 'DeployFailed' }],
  ] as const)('%s', (_case, provider, last, rollbackEnabled, expected) => {
    expect(expectedDeploy({ provider, generations: [generation({ version: '0.9.0' }), last], rollbackEnabled })).toEqual(expected);
  });

  it('an invalid spec fails validation whatever its script', () => {
    expect(expectedDeploy({ provider: 'kubernetes', invalid: 'missing-deployment', generations: [generation({})], rollbackEnabled: true })).toEqual({ phase: 'Failed', reason: 'InvalidSpec' });
  });

  it('a fail-fast Sweep skips every unit after the first that did not pass', () => {
    const expected = expectedSweep({
      repositories: ['a', 'b'],
      failFast: true,
      checks: [
        { name: 'lint', runner: 'job', jobOutcome: 'succeed' },
        { name: 'audit', runner: 'http', verdicts: { a: 'pass', b: 'error' } },
      ],
    });
    expect(expected.results.map((result) => result.state)).toEqual(['Passed', 'Passed', 'Passed', 'Errored']);
    const stopped = expectedSweep({ repositories: ['a', 'b'], failFast: true, checks: [{ name: 'lint', runner: 'job', jobOutcome: 'fail' }] });
    expect(stopped.summary).toEqual({ passed: 0, failed: 1, errored: 0, skipped: 1 });
    expect(stopped.phase).toBe('Failed');
  });
});

describe('seeded randomness', () => {
  it('gives the same sequence for the same seed and independent streams per label', () => {
    const draw = (random: SeededRandom) => Array.from({ length: 5 }, () => random.next());
    expect(draw(new SeededRandom('s'))).toEqual(draw(new SeededRandom('s')));
    expect(draw(new SeededRandom('s').derive('a'))).not.toEqual(draw(new SeededRandom('s').derive('b')));
    const random = new SeededRandom(3);
    const ints = Array.from({ length: 1000 }, () => random.int(1, 6));
    expect(Math.min(...ints)).toBe(1);
    expect(Math.max(...ints)).toBe(6);
  });
});

describe('the replicas run as the image runs node', () => {
  it('takes the flags between the node binary and the script of the ENTRYPOINT', () => {
    expect(imageNodeFlags('FROM x\nENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--optimize-for-size", "dist/cli/main.js"]\nCMD ["run"]\n')).toEqual(['--max-semi-space-size=1', '--optimize-for-size']);
    expect(imageNodeFlags('FROM x\n')).toEqual([]);
  });
});
