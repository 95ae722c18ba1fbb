import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseReader } from '../../events/sse-reader.ts';
import { startFakeRailway, type FakeRailway } from '../../support/fakes/fake-railway.ts';
import { startHealthEndpoint, type HealthEndpoint } from '../../support/fakes/health-endpoint.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { parsePrometheusText, sampleValue } from '../../support/prometheus-text.ts';
import { BAD_IMAGE, condition, deployKey, kubernetesSpec, NEW_IMAGE, OLD_IMAGE, quickHealthCheck, startDeploySuite, stepOf, type DeploySuite, type OperatorUnderTest } from './deploy-suite.ts';

const RAILWAY_TOKEN = 'railway-token-8c1f2b7e-never-printed';
const HOOK_KEY = 'hook-hmac-key-3d9a55e1-never-printed';
const RAILWAY_IDS = { projectId: 'proj-1', environmentId: 'env-1', serviceId: 'svc-billing' };

let suite: DeploySuite;
let operator: OperatorUnderTest;
let health: HealthEndpoint;
let railway: FakeRailway;
let hook: WebhookReceiver;

beforeAll(async () => {
  [suite, health, railway, hook] = await Promise.all([startDeploySuite('deploy-providers'), startHealthEndpoint(), startFakeRailway({ token: RAILWAY_TOKEN }), startWebhookReceiver({ key: HOOK_KEY })]);
  await suite.createSecret('railway', { token: RAILWAY_TOKEN });
  await suite.createSecret('deploy-hook', { hmac: HOOK_KEY });
  operator = await suite.startOperator();
});
afterAll(async () => {
  await suite?.stop();
  await Promise.all([health?.close(), railway?.close(), hook?.close()]);
});

const ready = (deploy: { status?: { conditions?: { type: string; status: string }[] } }) => deploy.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const phase = (name: string) => (deploy: { status?: { phase?: string } }) => deploy.status?.phase === name;

describe('a Deploy on each provider', () => {
  it('kubernetes: sets the image, waits for the rollout and the health check, and is Ready', async () => {
    await suite.createDeployment('api', { image: OLD_IMAGE, replicas: 2 });
    await suite.applyDeploy('api', kubernetesSpec('api', NEW_IMAGE, { healthCheck: quickHealthCheck(health.url) }));
    const deploy = await suite.waitForDeploy('api', ready);
    expect(await suite.deploymentImage('api')).toBe(NEW_IMAGE);
    expect(deploy.status).toMatchObject({ phase: 'Succeeded', observedGeneration: 1, revision: 1, current: { version: '3.10', image: NEW_IMAGE }, previous: { version: 'unknown', image: OLD_IMAGE } });
    expect(deploy.status?.workflow?.steps.map((entry) => `${entry.name}=${entry.state}`)).toEqual(['validate=Succeeded', 'deploy=Succeeded', 'verify=Succeeded', 'finalize=Succeeded']);
    expect(condition(deploy, 'Stalled')?.status).toBe('False');
    expect(deploy.metadata.finalizers).toContain('operator.blackroad.io/finalizer');
    expect(health.probes).toBeGreaterThanOrEqual(1);
    const reasons = await suite.eventReasons('api');
    expect(reasons).toEqual(expect.arrayContaining(['WorkflowStarted', 'DeployStarted', 'StepSucceeded', 'DeploySucceeded']));
  });

  it('railway: deploys once through the GraphQL API with the step’s idempotency key, and never shows the token', async () => {
    railway.addService(RAILWAY_IDS, { image: 'ghcr.io/acme/billing:2.3.0', deployed: true });
    const created = await suite.applyDeploy('billing', {
      service: 'billing',
      version: '2.3.1',
      provider: { railway: { ...RAILWAY_IDS, image: 'ghcr.io/acme/billing:2.3.1', tokenSecretRef: { name: 'railway', key: 'token' }, endpoint: railway.url } },
      healthCheck: quickHealthCheck(health.url),
    });
    const deploy = await suite.waitForDeploy('billing', ready);
    const key = deployKey(created);
    expect(railway.callsWithKey(key, 'serviceInstanceDeployV2')).toBe(1);
    expect(railway.calls('serviceInstanceDeployV2')).toBe(1);
    expect(railway.serviceImage(RAILWAY_IDS.serviceId, RAILWAY_IDS.environmentId)).toBe('ghcr.io/acme/billing:2.3.1');
    expect(deploy.status?.providerRef).toEqual({ provider: 'railway', id: railway.deployments(RAILWAY_IDS.serviceId)[0]?.id });
    expect(railway.rejections).toEqual([]);
    expect(JSON.stringify(deploy)).not.toContain(RAILWAY_TOKEN);
    expect(operator.logs()).not.toContain(RAILWAY_TOKEN);
  });

  it('webhook: posts one signed delivery per key and follows the status URL to success', async () => {
    const created = await suite.applyDeploy('web', {
      service: 'web',
      version: '5.0.2',
      provider: { webhook: { url: hook.url, secretRef: { name: 'deploy-hook', key: 'hmac' } } },
    });
    const deploy = await suite.waitForDeploy('web', ready);
    expect(hook.deliveries(deployKey(created))).toBe(1);
    expect(hook.rejectedSignatures).toBe(0);
    expect(hook.operations.map((operation) => operation.payload['action'])).toEqual(['deploy']);
    expect(deploy.status?.current).toMatchObject({ version: '5.0.2' });
    expect(operator.logs()).not.toContain(HOOK_KEY);
  });
});

describe('a Deploy that fails verification', () => {
  it('rolls back when the health check fails, restoring the previous template, and is RolledBack and Stalled', async () => {
    await suite.createDeployment('cart', { image: OLD_IMAGE });
    const sick = await startHealthEndpoint();
    sick.healthy = false;
    try {
      await suite.applyDeploy('cart', kubernetesSpec('cart', NEW_IMAGE, { healthCheck: quickHealthCheck(sick.url) }));
      const deploy = await suite.waitForDeploy('cart', phase('RolledBack'));
      expect(await suite.deploymentImage('cart')).toBe(OLD_IMAGE);
      expect(deploy.spec).toMatchObject({ version: '3.10', provider: { kubernetes: { image: NEW_IMAGE } } });
      expect(deploy.metadata.generation).toBe(1);
      expect(condition(deploy, 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
      expect(condition(deploy, 'Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
      expect(condition(deploy, 'Reconciling')?.status).toBe('False');
      expect(deploy.status?.rollback).toMatchObject({ state: 'Succeeded', reason: 'HealthCheckFailed', toImage: OLD_IMAGE });
      expect(deploy.status?.health?.consecutiveFailures).toBe(2);
      expect(stepOf(deploy, 'verify')?.state).toBe('Failed');
      expect(stepOf(deploy, 'rollback')?.state).toBe('Succeeded');
      expect(stepOf(deploy, 'finalize')?.state).toBe('Skipped');
      expect(await suite.eventReasons('cart')).toContain('RolledBack');
      const metrics = parsePrometheusText(await operator.metrics());
      expect(sampleValue(metrics, 'blackroad_rollbacks_total', { provider: 'kubernetes', reason: 'HealthCheckFailed' })).toBeGreaterThanOrEqual(1);
      expect(sampleValue(metrics, 'blackroad_deploys_total', { provider: 'kubernetes', result: 'rolled_back' })).toBeGreaterThanOrEqual(1);
    } finally {
      await sick.close();
    }
  });

  it('rolls back when the rollout exceeds its progress deadline (a bad image)', async () => {
    await suite.createDeployment('search', { image: OLD_IMAGE, annotations: { 'devcluster.blackroad.io/fail-images': BAD_IMAGE } });
    await suite.applyDeploy('search', kubernetesSpec('search', BAD_IMAGE, { healthCheck: quickHealthCheck(health.url) }));
    const deploy = await suite.waitForDeploy('search', phase('RolledBack'), 40_000);
    expect(await suite.deploymentImage('search')).toBe(OLD_IMAGE);
    expect(deploy.status?.rollback).toMatchObject({ state: 'Succeeded', reason: 'RolloutDeadlineExceeded', toImage: OLD_IMAGE });
    expect(condition(deploy, 'Stalled')?.message).toContain('progress deadline');
  }, 60_000);
});

describe('the admin endpoints of the running operator', () => {
  it('is ready once its caches synced, and serves the agents with their live state', async () => {
    const probes = operator.endpoints.probes ?? '';
    expect((await fetch(`${probes}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${probes}/readyz`)).text()).toContain('[+]caches-synced ok');
    expect((await fetch(`${probes}/healthz`)).status).toBe(200);
    const { agents } = (await (await fetch(`${probes}/agents`)).json()) as { agents: { id: string; live: { state: string; message?: string } }[] };
    const state = (id: string) => agents.find((agent) => agent.id === id)?.live;
    expect(state('deploy-bot')?.state).toMatch(/active|degraded/);
    expect(state('sync-agent')?.state).toBe('active');
    expect(state('lease-keeper')).toMatchObject({ state: 'inactive', message: 'leader election is off (one replica)' });
    expect(state('sweep-bot')?.state).toBe('active');
    const stream = await SseReader.open(`${probes}/events?lastEventId=0`);
    try {
      const replayed = await stream.waitFor(10);
      const registered = replayed.map((message) => JSON.parse(message.data) as { type: string; source: string }).filter((event) => event.type === 'io.blackroad.operator.agent.registered');
      expect(registered.map((event) => event.source)).toEqual(expect.arrayContaining(['/agents/deploy-bot', '/agents/archive-bot']));
    } finally {
      stream.close();
    }
  });
});

