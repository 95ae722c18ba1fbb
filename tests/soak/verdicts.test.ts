// The soak's verdicts fail when they should: lost updates, repeated side effects, wrong final states, leaked secrets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canaryNeedles, scanFiles, scanText } from '../../soak/canary-scan.ts';
import { checkCanary, checkExactlyOnce, checkFinalStates, deployKey, type FinalObject, type Observations } from '../../soak/invariants.ts';
import type { LandedCall } from '../../soak/soak-fakes.ts';
import { expectedDeploy, type DeployPlan } from '../../soak/workload.ts';
import { WriteLedger, type CommittedChange } from '../../soak/write-ledger.ts';

const folder = mkdtempSync(join(tmpdir(), 'soak-verdicts-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

function deploy(name: string, status: Record<string, unknown>, metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({ metadata: { name, namespace: 'soak', uid: `uid-${name}`, generation: 1, ...metadata }, status });
}

const change = (json: string, prevJson: string): CommittedChange => ({ type: 'MODIFIED', bucket: 'operator.blackroad.io/deploys', json, prevJson });
const run = (steps: { name: string; state: string; attempts: number }[], extra: Record<string, unknown> = {}) => ({ observedGeneration: 1, workflow: { id: 'uid-a/1', steps, ...extra } });

describe('the write ledger', () => {
  it('counts transitions, polls, the resource’s own fields and derived-only writes apart', () => {
    const ledger = new WriteLedger();
    const pending = deploy('a', run([{ name: 'deploy', state: 'Pending', attempts: 0 }]));
    const running = deploy('a', run([{ name: 'deploy', state: 'Running', attempts: 1 }]));
    const waiting = deploy('a', run([{ name: 'deploy', state: 'Waiting', attempts: 1 }], { startedAt: 'x' }));
    const polled = deploy('a', { ...run([{ name: 'deploy', state: 'Waiting', attempts: 1 }], { startedAt: 'y' }) });
    const recorded = deploy('a', { ...run([{ name: 'deploy', state: 'Waiting', attempts: 1 }], { startedAt: 'y' }), previous: { version: '1' } });
    const derived = deploy('a', { ...run([{ name: 'deploy', state: 'Waiting', attempts: 1 }], { startedAt: 'y' }), previous: { version: '1' }, phase: 'Deploying' });
    for (const [next, prev] of [[running, pending], [waiting, running], [polled, waiting], [recorded, polled], [derived, recorded]] as const) ledger.commit(change(next, prev));
    ledger.request({ verb: 'patch', resource: 'deploys', subresource: 'status', namespace: 'soak', name: 'a' });
    const { kinds, regressions, statusCommitsByObject } = ledger.report();
    expect(kinds.deploys).toMatchObject({ statusRequests: 1, statusCommits: 5, transitions: 2, polls: 1, fieldCommits: 1, otherCommits: 1 });
    expect(regressions).toEqual([]);
    expect(statusCommitsByObject).toEqual({ 'deploys/soak/a': 5 });
  });

  it('reports a lost update: a finished step, a finished run or a left run coming back, attempts or generation going down', () => {
    const ledger = new WriteLedger();
    const done = deploy('a', run([{ name: 'deploy', state: 'Succeeded', attempts: 2 }], { finishedAt: 'x' }));
    const stale = deploy('a', run([{ name: 'deploy', state: 'Running', attempts: 1 }]));
    ledger.commit(change(stale, done));
    const next = deploy('a', { observedGeneration: 2, workflow: { id: 'uid-a/2', steps: [] } }, { generation: 2 });
    ledger.commit(change(next, done));
    ledger.commit(change(done, next));
    expect(ledger.report().regressions).toEqual([
      'deploys/soak/a: step deploy of run uid-a/1 went from Succeeded back to Running',
      'deploys/soak/a: step deploy of run uid-a/1 went from 2 attempts back to 1',
      'deploys/soak/a: run uid-a/1 was finished and is not any more',
      'deploys/soak/a: observedGeneration went from 2 back to 1',
      'deploys/soak/a: the status went back to run uid-a/1 after uid-a/2',
    ]);
  });

  it('attributes each Deployment template change to the key that made it, and counts Job creations', () => {
    const ledger = new WriteLedger();
    const deployment = (image: string, annotations: Record<string, string>) => JSON.stringify({ metadata: { name: 'api', annotations }, spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
    const bucket = 'apps/deployments';
    ledger.commit({ type: 'MODIFIED', bucket, json: deployment('v2', { 'operator.blackroad.io/deploy-key': 'k1' }), prevJson: deployment('v1', {}) });
    ledger.commit({ type: 'MODIFIED', bucket, json: deployment('v1', { 'operator.blackroad.io/deploy-key': 'k1', 'operator.blackroad.io/rollback-key': 'r1' }), prevJson: deployment('v2', { 'operator.blackroad.io/deploy-key': 'k1' }) });
    ledger.commit({ type: 'MODIFIED', bucket, json: deployment('v3', { 'operator.blackroad.io/deploy-key': 'k1', 'operator.blackroad.io/rollback-key': 'r1' }), prevJson: deployment('v1', { 'operator.blackroad.io/deploy-key': 'k1', 'operator.blackroad.io/rollback-key': 'r1' }) });
    const job = JSON.stringify({ metadata: { name: 'fleet-0a1b2c3d4e', annotations: { 'operator.blackroad.io/idempotency-key': 'u/1/run/checks/r%2Fc%3Astart' }, labels: { 'operator.blackroad.io/check': 'c' } } });
    ledger.commit({ type: 'ADDED', bucket: 'batch/jobs', json: job, prevJson: undefined });
    const report = ledger.report();
    expect(report.templateChanges).toEqual({ 'deploy:k1': 1, 'rollback:r1': 1, unkeyed: 1 });
    expect(report.jobs['fleet-0a1b2c3d4e']).toMatchObject({ created: 1, idempotencyKey: 'u/1/run/checks/r%2Fc%3Astart' });
  });
});

function plan(name: string, changes: Partial<DeployPlan> = {}): DeployPlan {
  const base = { name, provider: 'webhook' as const, createAtMs: 0, rollbackEnabled: true, sensitive: false, requireApproval: false, retryPolicy: 'default' as const, initialImage: 'img:0', generations: [{ version: '1.0.0', image: 'img:1', deploy: 'succeed' as const, health: 'healthy' as const, rollback: 'succeed' as const }], ...changes };
  return { ...base, expected: expectedDeploy(base) };
}

function finalDeploy(name: string, phase: string, stalledReason?: string): FinalObject {
  const conditions = [
    { type: 'Ready', status: phase === 'Succeeded' ? 'True' : 'False', observedGeneration: 1 },
    ...(stalledReason === undefined ? [] : [{ type: 'Stalled', status: 'True', reason: stalledReason, observedGeneration: 1 }]),
  ];
  return { metadata: { name, uid: `uid-${name}`, generation: 1 }, status: { phase, observedGeneration: 1, conditions, workflow: { id: `uid-${name}/1`, finishedAt: 'x' }, revision: 1, current: { version: '1.0.0' } } };
}

function observations(changes: Partial<Observations>): Observations {
  return {
    workload: { deploys: [], sweeps: [] },
    deploys: [],
    sweeps: [],
    landed: [],
    hookDeliveries: () => 0,
    writes: new WriteLedger().report(),
    quietCommits: {},
    disruptions: [],
    audit: new Map(),
    canary: [],
    canaryBodies: 1,
    memory: [],
    processProblems: [],
    settled: true,
    ...changes,
  };
}

describe('the invariants', () => {
  it('fail on a resource in another state than its script implies, or a status older than its spec', () => {
    const workload = { deploys: [plan('good'), plan('bad')], sweeps: [] };
    const stale = { ...finalDeploy('bad', 'Succeeded'), metadata: { name: 'bad', uid: 'uid-bad', generation: 2 } };
    const result = checkFinalStates(observations({ workload, deploys: [finalDeploy('good', 'Succeeded'), stale] }));
    expect(result.ok).toBe(false);
    expect(result.failures.join('\n')).toContain('Deploy bad: observedGeneration 1 != generation 2');
    expect(checkFinalStates(observations({ workload: { deploys: [plan('good')], sweeps: [] }, deploys: [finalDeploy('good', 'Succeeded')] })).ok).toBe(true);
  });

  it('accept a repeated call only inside the documented window: a kill, Redis restart or leader change near the first call', () => {
    const key = deployKey(finalDeploy('a', 'Succeeded'), 'deploy');
    const call = (atMs: number): LandedCall => ({ target: 'webhook', operation: 'deploy', idempotencyKey: key, atMs, subject: 'a' });
    const workload = { deploys: [plan('a')], sweeps: [] };
    const base = { workload, deploys: [finalDeploy('a', 'Succeeded')], landed: [call(10_000), call(320_000)], hookDeliveries: () => 2 };
    const explained = checkExactlyOnce(observations({ ...base, disruptions: [{ atMs: 10_400, what: 'SIGKILL to leader soak-a' }] }));
    expect(explained.ok).toBe(true);
    expect(explained.notes?.[0]).toMatch(/^repeat in the documented window: webhook deploy .* landed again 310.0 s later: SIGKILL to leader soak-a/);
    const unexplained = checkExactlyOnce(observations({ ...base, disruptions: [{ atMs: 200_000, what: 'Redis killed' }] }));
    expect(unexplained.ok).toBe(false);
    expect(unexplained.failures[0]).toMatch(/with no kill, Redis restart or leader change near the first call/);
  });

  it('fail when a Railway key created two deployments, or a rollback reached the provider that none was expected of', () => {
    const workload = { deploys: [plan('a', { provider: 'railway' })], sweeps: [] };
    const key = deployKey(finalDeploy('a', 'Succeeded'), 'deploy');
    const landed: LandedCall[] = [0, 1].map((i) => ({ target: 'railway', operation: 'serviceInstanceDeployV2', idempotencyKey: key, atMs: i, subject: 'a' }));
    landed.push({ target: 'railway', operation: 'deploymentRollback', idempotencyKey: deployKey(finalDeploy('a', 'Succeeded'), 'rollback'), atMs: 5, subject: 'a' });
    const result = checkExactlyOnce(observations({ workload, deploys: [finalDeploy('a', 'Succeeded')], landed }));
    expect(result.failures).toEqual([`railway serviceInstanceDeployV2 ${key}: 2 deployments created with one key (the provider adopts an earlier attempt's deployment)`, 'Deploy a: rollback reached railway, expected Succeeded/undefined']);
  });

  it('name a Deploy step’s key after the run its status names, the spec hash included', () => {
    const hashed = { ...finalDeploy('a', 'Succeeded'), status: { ...finalDeploy('a', 'Succeeded').status, workflow: { id: 'uid-a/3/0f1e2d3c4b', finishedAt: 'x' } } };
    expect(deployKey(hashed, 'deploy')).toBe('uid-a/3/0f1e2d3c4b/deploy/deploy');
    expect(deployKey(finalDeploy('a', 'Succeeded'), 'rollback')).toBe('uid-a/1/rollback/rollback');
  });

  it('fail on any sight of the canary, and when no error body ever carried it', () => {
    expect(checkCanary([{ source: 'status', bytes: 10, matches: 0 }], 3).ok).toBe(true);
    expect(checkCanary([{ source: 'status', bytes: 10, matches: 1, sample: 'x' }], 3).ok).toBe(false);
    expect(checkCanary([{ source: 'status', bytes: 10, matches: 0 }], 0).failures).toEqual(['no error body quoted a secret: the canary was never exposed']);
  });
});

describe('the canary scan', () => {
  const canary = 'cnry0123456789abcdef01234567';
  const needles = canaryNeedles(canary);

  it('finds the canary whole or cut short, and masks it in what it shows', () => {
    const finding = scanText('logs', `a ${canary}-hook b ${canary.slice(0, 14)}… c`, needles);
    expect(finding.matches).toBe(2);
    expect(finding.sample).not.toContain(canary.slice(0, 12));
    expect(scanText('logs', 'cnry01234567 is not it... but cnry0123456 is not either', [canary]).matches).toBe(0);
  });

  it('counts a match across two chunks of a large file once', async () => {
    const path = join(folder, 'big.log');
    const filler = 'x'.repeat((1 << 20) - 5);
    writeFileSync(path, `${filler}${canary}${filler}${canary}`);
    expect((await scanFiles('logs', [path], needles)).matches).toBe(2);
  });
});
