import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeRailway, type FakeRailway } from '../../support/fakes/fake-railway.ts';
import { condition, startDeploySuite, stepOf, TEST_TUNING, type DeploySuite, type DeployView, type OperatorUnderTest } from './deploy-suite.ts';

const TOKEN = 'breaker-railway-token-0b7d4a11';
const IDS = { projectId: 'proj-1', environmentId: 'env-1', serviceId: 'svc-storm' };
const HALF_OPEN_MS = 4_000;

let suite: DeploySuite;
let operator: OperatorUnderTest;
let railway: FakeRailway;

beforeAll(async () => {
  [suite, railway] = await Promise.all([startDeploySuite('deploy-breaker'), startFakeRailway({ token: TOKEN })]);
  await suite.createSecret('railway', { token: TOKEN });
  operator = await suite.startOperator({ tuning: { ...TEST_TUNING, breakers: { consecutiveFailures: 3, halfOpenAfterMs: HALF_OPEN_MS } } });
});
afterAll(async () => {
  await suite?.stop();
  await railway?.close();
});

describe('a provider answering 5xx', () => {
  it('opens its breaker, shows DependencyUnavailable, waits for half-open without using attempts, and succeeds once the provider recovers', async () => {
    railway.addService(IDS, { image: 'ghcr.io/acme/storm:1.0.0', deployed: true });
    railway.failNext(3, 503);
    await suite.applyDeploy('storm', {
      service: 'storm',
      version: '1.0.1',
      provider: { railway: { ...IDS, image: 'ghcr.io/acme/storm:1.0.1', tokenSecretRef: { name: 'railway', key: 'token' }, endpoint: railway.url } },
    });

    const blocked = await suite.waitForDeploy('storm', (deploy) => condition(deploy, 'Reconciling')?.reason === 'DependencyUnavailable');
    const seenAtMs = Date.now();
    expect(blocked.status?.phase).toBe('Deploying');
    expect(condition(blocked, 'Reconciling')?.message).toMatch(/^circuit breaker provider:railway (is open|opened on this failure: railway answered .* with HTTP 503)/);
    const waiting = stepOf(blocked, 'deploy');
    expect(waiting?.state).toBe('Waiting');
    // The step comes back when the breaker half-opens, not on the rate limiter's or the retry policy's schedule.
    expect(Date.parse(waiting?.nextAttemptAt ?? '') - seenAtMs).toBeLessThanOrEqual(HALF_OPEN_MS + 250);
    const breakers = (await (await fetch(`${operator.endpoints.probes ?? ''}/debug/breakers`)).json()) as { breakers: { name: string; state: string }[] };
    expect(breakers.breakers.find((breaker) => breaker.name === 'provider:railway')?.state).toBe('open');
    // A reconcile before the half-open (an approval annotation wakes it) finds the step not due and keeps the reason.
    await suite.patchDeploy('storm', { metadata: { annotations: { 'operator.blackroad.io/approved-by': 'someone' } } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stillBlocked = await suite.getDeploy('storm');
    expect(stillBlocked?.status?.phase).toBe('Deploying');
    expect(condition(stillBlocked as DeployView, 'Reconciling')?.reason).toBe('DependencyUnavailable');

    const done: DeployView = await suite.waitForDeploy('storm', (deploy) => deploy.status?.phase === 'Succeeded', 15_000);
    // Two failed attempts; the third failure opened the breaker, which is the outage's and not the Deploy's:
    // that attempt waited for half-open and succeeded.
    expect(stepOf(done, 'deploy')?.attempts).toBe(3);
    expect(railway.calls('serviceInstanceDeployV2')).toBe(1);
    const after = (await (await fetch(`${operator.endpoints.probes ?? ''}/debug/breakers`)).json()) as { breakers: { name: string; state: string }[] };
    expect(after.breakers.find((breaker) => breaker.name === 'provider:railway')?.state).toBe('closed');
  });
});
