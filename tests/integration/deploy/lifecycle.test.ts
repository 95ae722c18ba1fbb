import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../../../src/resilience/idempotency-store.ts';
import { SseReader } from '../../events/sse-reader.ts';
import { FAULTS_AVAILABLE, skipReason } from '../../support/cluster.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { condition, deployKey, kubernetesSpec, NEW_IMAGE, startDeploySuite, stepOf, type DeploySuite, type DeployView, type OperatorUnderTest } from './deploy-suite.ts';

const HOOK_KEY = 'lifecycle-hook-key-61b0c2d4';
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'deploy-lifecycle-'));

let suite: DeploySuite;
let operator: OperatorUnderTest;
let hook: WebhookReceiver;

beforeAll(async () => {
  [suite, hook] = await Promise.all([startDeploySuite('deploy-lifecycle'), startWebhookReceiver({ key: HOOK_KEY })]);
  await suite.createSecret('deploy-hook', { hmac: HOOK_KEY });
  operator = await suite.startOperator();
});
afterAll(async () => {
  await suite?.stop();
  await hook?.close();
  rmSync(dir, { recursive: true, force: true });
});

const webhook = (version: string, extra: Record<string, unknown> = {}) => ({ service: 'web', version, provider: { webhook: { url: hook.url, secretRef: { name: 'deploy-hook', key: 'hmac' } } }, ...extra });
const uidOf = (created: { body: Record<string, unknown> }) => (created.body['metadata'] as { uid: string }).uid;
const isPhase = (phase: string) => (deploy: DeployView) => deploy.status?.phase === phase;
/** `<action> <version>` of each operation the hook started for Deploy `name`, oldest first. */
const operationsOf = (name: string) => hook.operations.filter((operation) => operation.payload['name'] === name).map((operation) => `${String(operation.payload['action'])} ${String(operation.payload['version'])}`);

/** Runs the real kubectl against the suite's cluster. */
async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('kubectl', ['--kubeconfig', suite.cluster.kubeconfigPath, '-n', suite.namespace, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

describe('the approval gate', () => {
  it('holds a Deploy in AwaitingApproval until approved-by is set, records who approved, and consumes the approval', async () => {
    const events = await SseReader.open(`${operator.endpoints.probes ?? ''}/events`);
    try {
      const created = await suite.applyDeploy('ledger', webhook('7.1.0', { compliance: { sensitive: true, category: 'finance', requireApproval: true } }));
      const waiting = await suite.waitForDeploy('ledger', isPhase('AwaitingApproval'));
      expect(condition(waiting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'AwaitingApproval' });
      expect(condition(waiting, 'Ready')?.status).toBe('False');
      expect(waiting.status?.approval).toMatchObject({ required: true });
      expect(hook.deliveries(deployKey(created))).toBe(0);

      expect((await kubectl('annotate', 'deploys.operator.blackroad.io/ledger', 'operator.blackroad.io/approved-by=alice@example.com')).code).toBe(0);
      const done = await suite.waitForDeploy('ledger', isPhase('Succeeded'), 5_000);
      expect(done.status?.approval).toMatchObject({ required: true, approvedBy: 'alice@example.com' });
      expect(done.metadata.annotations?.['operator.blackroad.io/approved-by']).toBeUndefined();
      expect(hook.deliveries(deployKey(created))).toBe(1);

      const deadline = Date.now() + 5_000;
      // deploy.succeeded is announced last, after the run's final status write (and its audit record).
      while (!events.messages.some((message) => message.data.includes('"type":"io.blackroad.operator.deploy.succeeded"')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const cloudEvents = events.messages.map((message) => JSON.parse(message.data) as { type: string; data: Record<string, unknown> });
      const types = cloudEvents.map((event) => event.type.replace('io.blackroad.operator.', ''));
      expect(types).toEqual(expect.arrayContaining(['approval.requested', 'approval.granted', 'deploy.started', 'deploy.succeeded', 'audit.recorded']));
      const audit = cloudEvents.filter((event) => event.type.endsWith('audit.recorded')).map((event) => event.data);
      expect(audit.find((record) => record['action'] === 'approval.granted')).toMatchObject({ actor: 'alice@example.com', outcome: 'Approved' });
      expect(audit.map((record) => record['sequence'])).toEqual(audit.map((_record, index) => index + 1));
      expect(audit.some((record) => record['action'] === 'step.deploy' && record['outcome'] === 'Succeeded')).toBe(true);
      expect(audit.at(-1)).toMatchObject({ action: 'workflow.finished', outcome: 'Succeeded', actor: expect.any(String) });
    } finally {
      events.close();
    }
  });
  it('keeps an approval given ahead for the next spec: a finished run does not consume it', async () => {
    const sensitive = { compliance: { sensitive: true, category: 'identity', requireApproval: true } };
    await suite.applyDeploy('ahead', webhook('9.0.0', sensitive));
    await suite.waitForDeploy('ahead', isPhase('AwaitingApproval'));
    expect((await kubectl('annotate', 'deploys.operator.blackroad.io/ahead', 'operator.blackroad.io/approved-by=carol@example.com')).code).toBe(0);
    await suite.waitForDeploy('ahead', (deploy) => deploy.status?.phase === 'Succeeded' && deploy.metadata.annotations?.['operator.blackroad.io/approved-by'] === undefined);
    // The same approver approves the next version before it is applied: the finished run leaves it alone.
    expect((await kubectl('annotate', 'deploys.operator.blackroad.io/ahead', 'operator.blackroad.io/approved-by=carol@example.com')).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await suite.getDeploy('ahead'))?.metadata.annotations?.['operator.blackroad.io/approved-by']).toBe('carol@example.com');
    await suite.patchDeploy('ahead', { spec: { version: '9.1.0' } });
    const next = await suite.waitForDeploy('ahead', (deploy) => deploy.metadata.generation === 2 && deploy.status?.observedGeneration === 2 && deploy.status.phase === 'Succeeded');
    expect(next.status?.approval).toMatchObject({ required: true, approvedBy: 'carol@example.com' });
    expect(next.metadata.annotations?.['operator.blackroad.io/approved-by']).toBeUndefined();
  });

  it.skipIf(!FAULTS_AVAILABLE)('keeps an approval whose status write failed: the annotation goes only once the approval is saved', async () => {
    const faults = suite.cluster.faults;
    if (faults === null) return void skipReason('approval kept through a failed status write');
    const created = await suite.applyDeploy('approved-once', webhook('7.2.0', { compliance: { sensitive: true, category: 'policy', requireApproval: true } }));
    await suite.waitForDeploy('approved-once', isPhase('AwaitingApproval'));
    // The first status writes after the approval fail: the approval must not be lost with them.
    faults.failNext({ verb: 'patch', resource: 'deploys/status', group: 'operator.blackroad.io', namespace: suite.namespace, name: 'approved-once', code: 500, count: 3 });
    expect((await kubectl('annotate', 'deploys.operator.blackroad.io/approved-once', 'operator.blackroad.io/approved-by=bob@example.com')).code).toBe(0);
    const done = await suite.waitForDeploy('approved-once', isPhase('Succeeded'), 10_000);
    expect(done.status?.approval).toMatchObject({ required: true, approvedBy: 'bob@example.com' });
    expect(done.metadata.annotations?.['operator.blackroad.io/approved-by']).toBeUndefined();
    expect(hook.deliveries(deployKey(created))).toBe(1);
  });
});

describe('a replica taking over a run', () => {
  it('masks the credentials a provider quotes although it never ran the step that read them', async () => {
    hook.pollsToFinish = 1_000;
    try {
      await suite.applyDeploy('handover', webhook('8.0.0'));
      await suite.waitForDeploy('handover', (deploy) => stepOf(deploy, 'verify')?.state === 'Waiting');
      // The replica that read the hook's Secret goes; a new one (a fresh process's mask) resumes at verify.
      await operator.stop();
      hook.failNext(3, 503, `webhook unavailable; credential in use: ${HOOK_KEY}`);
      operator = await suite.startOperator();
      const events = await SseReader.open(`${operator.endpoints.probes ?? ''}/events`);
      try {
        const quoted = await suite.waitForDeploy('handover', (deploy) => /HTTP 503/.test(stepOf(deploy, 'verify')?.message ?? ''));
        expect(JSON.stringify(quoted.status)).not.toContain(HOOK_KEY);
        hook.pollsToFinish = 1;
        await suite.waitForDeploy('handover', isPhase('Succeeded'));
        expect(events.messages.some((message) => message.data.includes('HTTP 503'))).toBe(true);
        expect(events.messages.map((message) => message.data).join('\n')).not.toContain(HOOK_KEY);
        expect((await suite.cluster.request('GET', `/apis/events.k8s.io/v1/namespaces/${suite.namespace}/events`)).text).not.toContain(HOOK_KEY);
        expect(operator.logs()).not.toContain(HOOK_KEY);
      } finally {
        events.close();
      }
    } finally {
      hook.pollsToFinish = 1;
    }
  });
});

describe('suspend', () => {
  it('does nothing for a suspended Deploy and says so through Ready, then runs once resumed', async () => {
    const created = await suite.applyDeploy('paused', webhook('1.0.0', { suspend: true }));
    const suspended = await suite.waitForDeploy('paused', isPhase('Suspended'));
    expect(condition(suspended, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended' });
    expect(condition(suspended, 'Reconciling')?.status).toBe('False');
    expect(condition(suspended, 'Stalled')?.status).toBe('False');
    expect(suspended.status?.workflow).toBeUndefined();
    expect(operationsOf('paused')).toEqual([]);
    await suite.patchDeploy('paused', { spec: { suspend: false } });
    const resumed = await suite.waitForDeploy('paused', isPhase('Succeeded'));
    expect(resumed.status?.observedGeneration).toBe(2);
    expect(hook.deliveries(deployKey(resumed, 2))).toBe(1);
    expect(operationsOf('paused')).toEqual(['deploy 1.0.0']);
    expect(uidOf(created)).toBe(resumed.metadata.uid);
  });

  it('suspended mid-run makes no provider call until resumed, then carries on with the same run: one deploy call in all', async () => {
    hook.pollsToFinish = 1_000;
    try {
      const created = await suite.applyDeploy('pausing', webhook('1.1.0'));
      const verifying = await suite.waitForDeploy('pausing', (deploy) => stepOf(deploy, 'verify')?.state === 'Waiting');
      const runId = verifying.status?.workflow?.id;
      expect(runId).toMatch(new RegExp(`^${uidOf(created)}/1/[0-9a-f]{10}$`));

      await suite.patchDeploy('pausing', { spec: { suspend: true } });
      const suspended = await suite.waitForDeploy('pausing', isPhase('Suspended'));
      expect(suspended.metadata.generation).toBe(2);
      expect(condition(suspended, 'Ready')).toMatchObject({ status: 'False', reason: 'Suspended', observedGeneration: 2 });
      expect(condition(suspended, 'Reconciling')?.status).toBe('False');
      // No call at the hook while suspended: neither a delivery nor a status poll (verify polls at most every 500 ms).
      const operation = hook.operations.find((candidate) => candidate.payload['name'] === 'pausing');
      const pollsAtSuspend = operation?.polls ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(operation?.polls).toBe(pollsAtSuspend);
      expect((await suite.getDeploy('pausing'))?.status?.workflow?.id).toBe(runId);

      hook.pollsToFinish = 1;
      await suite.patchDeploy('pausing', { spec: { suspend: false } });
      const done = await suite.waitForDeploy('pausing', isPhase('Succeeded'));
      expect(done.metadata.generation).toBe(3);
      expect(done.status?.observedGeneration).toBe(3);
      // Only suspend changed: the same run (generation 1's), its keys, and a single deploy call at the hook.
      expect(done.status?.workflow?.id).toBe(runId);
      expect(stepOf(done, 'deploy')).toMatchObject({ state: 'Succeeded', attempts: 1 });
      expect(hook.deliveries(deployKey(created))).toBe(1);
      expect(operationsOf('pausing')).toEqual(['deploy 1.1.0']);
      expect((operation?.polls ?? 0) - pollsAtSuspend).toBeGreaterThan(0);

      // Suspending and resuming a finished Deploy deploys nothing again.
      await suite.patchDeploy('pausing', { spec: { suspend: true } });
      await suite.waitForDeploy('pausing', isPhase('Suspended'));
      await suite.patchDeploy('pausing', { spec: { suspend: false } });
      const again = await suite.waitForDeploy('pausing', (deploy) => isPhase('Succeeded')(deploy) && deploy.status?.observedGeneration === 5);
      expect(again.status?.workflow?.id).toBe(runId);
      expect(operationsOf('pausing')).toEqual(['deploy 1.1.0']);
    } finally {
      hook.pollsToFinish = 1;
    }
  });
});

describe('deletion', () => {
  it('lets a Deploy go once its finalizer ran, stopping the run in flight without a rollback', async () => {
    hook.pollsToFinish = 1_000;
    try {
      const created = await suite.applyDeploy('doomed', webhook('2.0.0'));
      await suite.waitForDeploy('doomed', (deploy) => stepOf(deploy, 'verify')?.state === 'Waiting');
      expect((await suite.getDeploy('doomed'))?.metadata.finalizers).toEqual(['operator.blackroad.io/finalizer']);
      await suite.deleteDeploy('doomed');
      const deadline = Date.now() + 5_000;
      while ((await suite.getDeploy('doomed')) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 40));
      expect(await suite.getDeploy('doomed')).toBeUndefined();
      expect(hook.deliveries(deployKey(created))).toBe(1);
      expect(hook.operations.filter((operation) => operation.payload['name'] === 'doomed').map((operation) => operation.payload['action'])).toEqual(['deploy']);
    } finally {
      hook.pollsToFinish = 1;
    }
  });
});

describe('deletion with rollback.onDelete', () => {
  it('rolls back what the run in flight deployed, once, before the Deploy goes', async () => {
    hook.pollsToFinish = 2;
    const created = await suite.applyDeploy('undo', webhook('2.1.0', { rollback: { enabled: true, onDelete: true }, healthCheck: { url: `${hook.url}/unhealthy-never-probed`, intervalSeconds: 30, timeoutSeconds: 300 } }));
    const uid = uidOf(created);
    // Verify waits: the rollout finished (two polls), the first probe is 30 s away.
    await suite.waitForDeploy('undo', (deploy) => deploy.status?.health !== undefined);
    await suite.deleteDeploy('undo');
    const deadline = Date.now() + 10_000;
    while ((await suite.getDeploy('undo')) !== undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await suite.getDeploy('undo')).toBeUndefined();
    expect(hook.deliveries(deployKey(created))).toBe(1);
    expect(hook.deliveries(idempotencyKey({ uid, generation: 1, step: 'delete', unit: 'rollback' }))).toBe(1);
    const actions = hook.operations.filter((operation) => operation.payload['name'] === 'undo').map((operation) => String(operation.payload['action']));
    expect(actions).toEqual(['deploy', 'rollback']);
    hook.pollsToFinish = 1;
  });
});

describe('a new generation while a run is in flight', () => {
  it('abandons the old run and starts over with new keys, without repeating or undoing the old provider calls', async () => {
    hook.pollsToFinish = 1_000;
    const created = await suite.applyDeploy('moving', webhook('3.0.0'));
    const uid = uidOf(created);
    await suite.waitForDeploy('moving', (deploy) => stepOf(deploy, 'verify')?.state === 'Waiting');
    hook.pollsToFinish = 1;
    await suite.patchDeploy('moving', { spec: { version: '3.0.1' } });
    const done = await suite.waitForDeploy('moving', (deploy) => deploy.status?.phase === 'Succeeded' && deploy.status.observedGeneration === 2);
    expect(done.status?.workflow?.id).toMatch(new RegExp(`^${uid}/2/[0-9a-f]{10}$`));
    expect(done.status?.current?.version).toBe('3.0.1');
    expect(hook.deliveries(deployKey(created))).toBe(1);
    expect(hook.deliveries(deployKey(done, 2))).toBe(1);
    const actions = hook.operations.filter((operation) => operation.payload['name'] === 'moving').map((operation) => `${String(operation.payload['action'])} ${String(operation.payload['version'])}`);
    expect(actions).toEqual(['deploy 3.0.0', 'deploy 3.0.1']);
  });
});

describe('a rollout that does not finish in time', () => {
  it('fails verify at healthCheck.timeoutSeconds with RolloutDeadlineExceeded and rolls back once', async () => {
    hook.pollsToFinish = 1_000;
    try {
      const created = await suite.applyDeploy('stuck', webhook('6.0.0', { healthCheck: { url: `${hook.url}/never-probed`, intervalSeconds: 1, timeoutSeconds: 2 } }));
      // The hook's rollout is still pending when verification runs out of time: the rollback starts.
      const rolling = await suite.waitForDeploy('stuck', (deploy) => deploy.status?.rollback !== undefined, 15_000);
      expect(rolling.status?.rollback).toMatchObject({ reason: 'RolloutDeadlineExceeded', message: expect.stringMatching(/^The rollout did not finish within 2 s/) as unknown });
      hook.pollsToFinish = 1;
      const done = await suite.waitForDeploy('stuck', isPhase('RolledBack'), 15_000);
      expect(done.status?.rollback).toMatchObject({ state: 'Succeeded', reason: 'RolloutDeadlineExceeded' });
      expect(condition(done, 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
      expect(stepOf(done, 'verify')?.state).toBe('Failed');
      expect(hook.deliveries(deployKey(created))).toBe(1);
      expect(operationsOf('stuck')).toEqual(['deploy 6.0.0', 'rollback 6.0.0']);
    } finally {
      hook.pollsToFinish = 1;
    }
  });
});

describe('bad input', () => {
  const invalid: [string, Record<string, unknown>][] = [
    ['two providers', { service: 'x', version: '1', provider: { kubernetes: { deployment: 'x', container: 'x', image: 'x:1' }, webhook: { url: 'https://hook.example/x', secretRef: { name: 's', key: 'k' } } } }],
    ['no provider', { service: 'x', version: '1', provider: {} }],
    ['a service name that is not a DNS label', { service: 'Not_A_Label', version: '1', provider: { kubernetes: { deployment: 'x', container: 'x', image: 'x:1' } } }],
    ['a probe interval longer than the verification timeout', { service: 'x', version: '1', provider: { kubernetes: { deployment: 'x', container: 'x', image: 'x:1' } }, healthCheck: { url: 'https://x.example/healthz', intervalSeconds: 60, timeoutSeconds: 30 } }],
    ['approval without compliance sensitivity', { service: 'x', version: '1', provider: { kubernetes: { deployment: 'x', container: 'x', image: 'x:1' } }, compliance: { requireApproval: true } }],
  ];
  for (const [what, spec] of invalid) {
    it(`kubectl apply is refused by the API server (422) for ${what}`, async () => {
      const file = join(dir, `${what.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, JSON.stringify({ apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', metadata: { name: 'invalid' }, spec }));
      const result = await kubectl('apply', '-f', file);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/is invalid|Invalid value|Required value|Unsupported value/);
      expect(await suite.getDeploy('invalid')).toBeUndefined();
    });
  }

  it('a missing Secret stalls the Deploy with reason InvalidSpec and a message naming it', async () => {
    await suite.applyDeploy('no-secret', { service: 'api', version: '1.0.0', provider: { webhook: { url: hook.url, secretRef: { name: 'does-not-exist', key: 'hmac' } } } });
    const deploy = await suite.waitForDeploy('no-secret', isPhase('Failed'));
    expect(condition(deploy, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition(deploy, 'Stalled')?.message).toContain(`Secret ${suite.namespace}/does-not-exist not found`);
    expect(stepOf(deploy, 'validate')).toMatchObject({ state: 'Failed', attempts: 1 });
  });

  it('looks for a missing Secret again: once it is created, the same run goes on from validate and deploys once', async () => {
    const created = await suite.applyDeploy('late-secret', { service: 'web', version: '1.5.0', provider: { webhook: { url: hook.url, secretRef: { name: 'late-hook', key: 'hmac' } } } });
    const stalled = await suite.waitForDeploy('late-secret', isPhase('Failed'));
    expect(condition(stalled, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    await suite.createSecret('late-hook', { hmac: HOOK_KEY });
    const done = await suite.waitForDeploy('late-secret', isPhase('Succeeded'));
    expect(done.status?.workflow?.id).toBe(stalled.status?.workflow?.id);
    expect(stepOf(done, 'validate')).toMatchObject({ state: 'Succeeded', attempts: 2 });
    expect(condition(done, 'Stalled')?.status).toBe('False');
    expect(hook.deliveries(deployKey(created))).toBe(1);
  });

  it('a missing target Deployment stalls the Deploy with reason InvalidSpec', async () => {
    await suite.applyDeploy('no-target', kubernetesSpec('nowhere', NEW_IMAGE));
    const deploy = await suite.waitForDeploy('no-target', isPhase('Failed'));
    expect(condition(deploy, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(condition(deploy, 'Stalled')?.message).toContain(`Deployment ${suite.namespace}/nowhere not found`);
  });

  it('keeps reconciling after all of the above: the operator never crashed', async () => {
    await suite.applyDeploy('after', webhook('9.9.9'));
    await suite.waitForDeploy('after', isPhase('Succeeded'));
    expect(operator.logs()).not.toContain('"level":"fatal"');
  });
});
