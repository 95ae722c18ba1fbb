import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploySpecSchema } from '../../../src/api/deploy.ts';
import { ManualClock, systemClock, type Clock } from '../../../src/resilience/clock.ts';
import type { DeployPrevious, DeployTarget } from '../../../src/providers/deploy/deploy-provider.ts';
import { RailwayProvider } from '../../../src/providers/deploy/railway-provider.ts';
import {
  isInvalidResponse,
  isNoRollbackTarget,
  isProviderRejected,
  isProviderUnavailable,
  isSecretNotFound,
  type ProviderError,
} from '../../../src/providers/provider-error.ts';
import { sendText, startFakeHttpServer } from '../../support/fakes/fake-http-server.ts';
import { startFakeRailway, type FakeRailway } from '../../support/fakes/fake-railway.ts';
import { captureLogger, realFetch, rejectionOf, startSecretsApi, until, type CapturedLogger, type SecretsApi } from '../provider-fixtures.ts';

const TOKEN = 'canary-railway-token-91c3e07d';
const IDS = { projectId: 'project-1', environmentId: 'env-prod', serviceId: 'svc-api' };

function targetFor(railway: FakeRailway, image = 'ghcr.io/acme/api:1.42.0', endpoint = railway.url): DeployTarget {
  return {
    namespace: 'prod',
    name: 'api',
    spec: deploySpecSchema.parse({
      service: 'api',
      version: '1.42.0',
      provider: { railway: { ...IDS, image, tokenSecretRef: { name: 'railway', key: 'token' }, endpoint } },
    }),
  };
}

describe('RailwayProvider against a fake Railway GraphQL API', () => {
  let railway: FakeRailway;
  let api: SecretsApi;
  let log: CapturedLogger;
  let clock: Clock;

  const provider = (options: { clock?: Clock; requestTimeoutMs?: number } = {}): RailwayProvider =>
    new RailwayProvider({ fetch: realFetch, clock: options.clock ?? clock, logger: log.logger, secrets: api.secrets, ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }) });

  /** What the controller does before the deploy step: record what runs, with the version it knows. */
  async function recorded(railwayProvider: RailwayProvider, target: DeployTarget): Promise<DeployPrevious> {
    return { version: '1.41.0', ...(await railwayProvider.recordPrevious({ target })) };
  }

  beforeEach(async () => {
    railway = await startFakeRailway({ token: TOKEN });
    railway.addService(IDS, { image: 'ghcr.io/acme/api:1.41.0', deployed: true });
    api = await startSecretsApi();
    api.put('prod', 'railway', { token: `${TOKEN}\n` });
    log = captureLogger(api.mask);
    clock = systemClock;
  });
  afterEach(async () => {
    await railway.close();
    await api.close();
  });

  it('records the running successful deployment and its image as what a rollback restores', async () => {
    const previous = await recorded(provider(), targetFor(railway));

    expect(previous.providerRef).toEqual({ provider: 'railway', id: 'deployment-1' });
    expect(previous.image).toBe('ghcr.io/acme/api:1.41.0');
    expect(railway.calls('deployments')).toBe(1);
  });

  it('points the service instance at the image, deploys it, and follows the deployment to SUCCESS', async () => {
    const railwayProvider = provider();
    const target = targetFor(railway);
    const previous = await recorded(railwayProvider, target);

    const ref = await railwayProvider.deploy({ target, idempotencyKey: 'uid-1/3/deploy', previous });

    expect(ref).toEqual({ provider: 'railway', id: 'deployment-2' });
    expect(railway.serviceImage(IDS.serviceId, IDS.environmentId)).toBe('ghcr.io/acme/api:1.42.0');
    expect(railway.calls('serviceInstanceUpdate')).toBe(1);
    expect(railway.calls('serviceInstanceDeployV2')).toBe(1);
    expect(railway.callsWithKey('uid-1/3/deploy', 'serviceInstanceDeployV2')).toBe(1);
    expect(railway.rejections).toEqual([]);

    await expect(railwayProvider.observe({ target, ref })).resolves.toEqual({ state: 'progressing', message: 'Railway deployment deployment-2 is BUILDING' });
    await expect(railwayProvider.observe({ target, ref })).resolves.toEqual({ state: 'succeeded', message: 'Railway deployment deployment-2 is SUCCESS' });
    expect(railway.deployments(IDS.serviceId).map((deployment) => deployment.status)).toEqual(['SUCCESS', 'REMOVED']);
  });

  it.each([
    ['fail', 'FAILED'],
    ['crash', 'CRASHED'],
  ] as const)('reports a deployment that ends %sed as failed', async (outcome, status) => {
    railway.scriptDeployments(outcome);
    railway.pollsToFinish = 1;
    const railwayProvider = provider();
    const target = targetFor(railway);

    const ref = await railwayProvider.deploy({ target, idempotencyKey: 'key-1', previous: await recorded(railwayProvider, target) });

    await expect(railwayProvider.observe({ target, ref })).resolves.toEqual({ state: 'failed', message: `Railway deployment ${ref.id} is ${status}` });
  });

  it('adopts the deployment of an earlier attempt with the same image instead of deploying twice', async () => {
    const railwayProvider = provider();
    const target = targetFor(railway);
    const previous = await recorded(railwayProvider, target);
    const first = await railwayProvider.deploy({ target, idempotencyKey: 'key-1', previous });

    // The operator died before recording the result: the step runs again with the same key.
    const second = await railwayProvider.deploy({ target, idempotencyKey: 'key-1', previous });

    expect(second).toEqual(first);
    expect(railway.calls('serviceInstanceDeployV2')).toBe(1);
    expect(railway.deployments(IDS.serviceId)).toHaveLength(2);
  });

  it('deploys a new image even when an older deployment of another image follows the recorded one', async () => {
    const railwayProvider = provider();
    const previous = await recorded(railwayProvider, targetFor(railway));
    await railwayProvider.deploy({ target: targetFor(railway, 'ghcr.io/acme/api:1.42.0-rc1'), idempotencyKey: 'key-rc', previous });

    const ref = await railwayProvider.deploy({ target: targetFor(railway), idempotencyKey: 'key-1', previous });

    expect(ref.id).toBe('deployment-3');
    expect(railway.calls('serviceInstanceDeployV2')).toBe(2);
  });

  it('rolls back to the recorded deployment once, however often the rollback is repeated with its key', async () => {
    railway.scriptDeployments('crash');
    railway.pollsToFinish = 1;
    const railwayProvider = provider();
    const target = targetFor(railway);
    const previous = await recorded(railwayProvider, target);
    const current = await railwayProvider.deploy({ target, idempotencyKey: 'key-deploy', previous });
    await railwayProvider.observe({ target, ref: current });

    const rollbackRef = await railwayProvider.rollback({ target, previous, current, idempotencyKey: 'key-rollback' });
    const again = await railwayProvider.rollback({ target, previous, current, idempotencyKey: 'key-rollback' });

    expect(railway.calls('deploymentRollback')).toBe(1);
    expect(railway.callsWithKey('key-rollback', 'deploymentRollback')).toBe(1);
    expect(rollbackRef).toEqual({ provider: 'railway', id: 'deployment-3' });
    expect(again).toEqual(rollbackRef);
    expect(railway.deployments(IDS.serviceId)[0]).toMatchObject({ id: 'deployment-3', image: 'ghcr.io/acme/api:1.41.0', rollbackOf: 'deployment-1' });
    expect(railway.serviceImage(IDS.serviceId, IDS.environmentId)).toBe('ghcr.io/acme/api:1.41.0');
    await expect(railwayProvider.observe({ target, ref: rollbackRef as { provider: 'railway'; id: string } })).resolves.toMatchObject({ state: 'succeeded' });
  });

  it('refuses to roll back when no successful deployment was recorded', async () => {
    const target = targetFor(railway);

    const error = (await rejectionOf(provider().rollback({ target, previous: { version: '1.41.0', recordedAt: new Date().toISOString() }, idempotencyKey: 'key' }))) as ProviderError;

    expect(isNoRollbackTarget(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(railway.calls('deploymentRollback')).toBe(0);
  });

  it('classes a 5xx storm as retryable and keeps the Retry-After the API asked for', async () => {
    railway.failNext(1, 503, 7);

    const error = (await rejectionOf(provider().recordPrevious({ target: targetFor(railway) }))) as ProviderError;

    expect(isProviderUnavailable(error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.httpStatus).toBe(503);
    expect(error.retryAfterMs).toBe(7000);
    expect(error.message).toContain('railway answered POST http://127.0.0.1:');
    expect(error.message).toContain('/graphql/v2 with HTTP 503: upstream unavailable');
  });

  it('turns GraphQL errors into terminal errors quoting Railway, unless their code says the server failed', async () => {
    const target = targetFor(railway);
    railway.errorNext('serviceInstanceUpdate', 'You do not have permission to update this service');
    const rejected = (await rejectionOf(provider().deploy({ target, idempotencyKey: 'key-1' }))) as ProviderError;
    railway.errorNext('serviceInstanceUpdate', 'Problem processing request', 'INTERNAL_SERVER_ERROR');
    const unavailable = (await rejectionOf(provider().deploy({ target, idempotencyKey: 'key-1' }))) as ProviderError;

    expect(isProviderRejected(rejected)).toBe(true);
    expect(rejected.message).toBe('Railway answered serviceInstanceUpdate with: You do not have permission to update this service');
    expect(isProviderUnavailable(unavailable)).toBe(true);
    expect(railway.calls('serviceInstanceDeployV2')).toBe(0);
  });

  it('is refused with a terminal error when the Secret holds a token Railway does not accept', async () => {
    api.put('prod', 'railway', { token: 'canary-wrong-token-55' });

    const error = (await rejectionOf(provider().recordPrevious({ target: targetFor(railway) }))) as ProviderError;

    expect(isProviderRejected(error)).toBe(true);
    expect(error.message).toBe('Railway answered deployments with: Not Authorized');
    expect(railway.rejections).toEqual(['Not Authorized']);
  });

  it('stalls on a missing token Secret without calling Railway', async () => {
    api.remove('prod', 'railway');

    const error = await rejectionOf(provider().deploy({ target: targetFor(railway), idempotencyKey: 'key-1' }));

    expect(isSecretNotFound(error)).toBe(true);
    expect(railway.received).toBe(0);
  });

  it('gives up on a request after its deadline on the injected clock', async () => {
    const manual = new ManualClock();
    railway.delayMs = 60_000;
    const pending = rejectionOf(provider({ clock: manual, requestTimeoutMs: 5000 }).recordPrevious({ target: targetFor(railway) }));
    await until(() => railway.inFlight === 1);

    manual.advance(5000);
    const error = (await pending) as ProviderError;

    expect(isProviderUnavailable(error)).toBe(true);
    expect(error.message).toMatch(/^railway did not answer POST http:\/\/127\.0\.0\.1:\d+\/graphql\/v2 within 5000 ms$/);
  });

  it("quotes Railway's error for a missing deployment, and says so when an error has no message", async () => {
    const target = targetFor(railway);
    const missing = (await rejectionOf(provider().observe({ target, ref: { provider: 'railway', id: 'deployment-404' } }))) as ProviderError;
    railway.errorNext('deployment', '');
    const blank = (await rejectionOf(provider().observe({ target, ref: { provider: 'railway', id: 'deployment-1' } }))) as ProviderError;

    expect(isProviderRejected(missing)).toBe(true);
    expect(missing.message).toBe('Railway answered deployment with: Deployment not found');
    expect(blank.message).toBe('Railway answered deployment with: an error without a message');
  });

  it('rejects answers outside GraphQL: a proxy page, JSON without data', async () => {
    let body = '<html>maintenance</html>';
    const proxy = await startFakeHttpServer((_request, response) => sendText(response, 200, body, { 'content-type': 'text/html' }));
    const target = targetFor(railway, undefined, `${proxy.url}/graphql/v2`);
    try {
      const page = (await rejectionOf(provider().observe({ target, ref: { provider: 'railway', id: 'deployment-1' } }))) as ProviderError;
      body = '{"data":{}}';
      const empty = (await rejectionOf(provider().observe({ target, ref: { provider: 'railway', id: 'deployment-1' } }))) as ProviderError;

      expect(isInvalidResponse(page)).toBe(true);
      expect(page.retryable).toBe(false);
      expect(page.message).toMatch(/^railway answered POST http:\/\/127\.0\.0\.1:\d+\/graphql\/v2 \(HTTP 200\) with a body that is not JSON: <html>maintenance<\/html>$/);
      expect(isInvalidResponse(empty)).toBe(true);
      expect(empty.message).toBe('Railway answered deployment without data.deployment: {"data":{}}');
    } finally {
      await proxy.close();
    }
  });

  it('never lets the token reach a log line or an error, while Railway receives it', async () => {
    const railwayProvider = provider();
    const target = targetFor(railway);
    const previous = await recorded(railwayProvider, target);
    const ref = await railwayProvider.deploy({ target, idempotencyKey: 'key-1', previous });
    await railwayProvider.observe({ target, ref });
    railway.failNext(1, 500);
    const error = await rejectionOf(railwayProvider.observe({ target, ref }));
    log.logger.error(error as Error, 'deploy step failed');
    log.logger.info({ headers: { authorization: `Bearer ${TOKEN}` }, echoed: `token was ${TOKEN}` }, 'echo');

    expect(railway.rejections).toEqual([]);
    expect(log.lines.length).toBeGreaterThan(4);
    expect(log.text()).not.toContain(TOKEN);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect(String((error as Error).message)).not.toContain(TOKEN);
  });
});
