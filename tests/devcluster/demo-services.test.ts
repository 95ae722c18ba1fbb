import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { deploySpecSchema } from '../../src/api/deploy.ts';
import { sweepSpecSchema } from '../../src/api/sweep.ts';
import { DEMO_HMAC_KEY, DEMO_RAILWAY_TOKEN, DEMO_SERVICES_PORT, DemoServices, isDemoServicesError } from '../../src/devcluster/demo-services.ts';
import type { CheckUnit } from '../../src/providers/checks/check-runner.ts';
import { HttpCheckRunner } from '../../src/providers/checks/http-check-runner.ts';
import type { DeployTarget } from '../../src/providers/deploy/deploy-provider.ts';
import { RailwayProvider } from '../../src/providers/deploy/railway-provider.ts';
import { WebhookProvider } from '../../src/providers/deploy/webhook-provider.ts';
import { HttpHealthChecker } from '../../src/providers/health/http-health-checker.ts';
import { isProviderRejected } from '../../src/providers/provider-error.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { captureLogger, realFetch, rejectionOf, startSecretsApi, type SecretsApi } from '../providers/provider-fixtures.ts';

// The demo services of `blackroad-operator dev`, driven by the operator's real providers and runners (the code the
// examples exercise), on a manual clock.
const ROLLOUT_MS = 1_000;
const clock = new ManualClock();
let demo: DemoServices;
let api: SecretsApi;

beforeAll(async () => {
  api = await startSecretsApi();
  api.put('default', 'demo', { hmac: DEMO_HMAC_KEY, token: DEMO_RAILWAY_TOKEN, wrong: 'not-the-demo-key' });
  demo = await DemoServices.start({ port: 0, clock, logger: captureLogger(api.mask).logger, rolloutMs: ROLLOUT_MS });
});
afterAll(async () => {
  await demo.stop();
  await api.close();
});

const dependencies = () => ({ fetch: realFetch, clock, logger: captureLogger(api.mask).logger, secrets: api.secrets });
const deployTarget = (provider: Record<string, unknown>, version = '1.0.0'): DeployTarget => ({ namespace: 'default', name: 'demo', spec: deploySpecSchema.parse({ service: 'demo', version, provider }) });

describe('the demo Railway API', () => {
  const ids = { projectId: 'p', environmentId: 'e', serviceId: 'billing' };
  const railway = (image: string, key = 'token', query = '') => deployTarget({ railway: { ...ids, image, tokenSecretRef: { name: 'demo', key }, endpoint: `${demo.url}/railway/graphql/v2${query}` } });

  it('deploys, follows and rolls back a service through the railway provider, statuses moving with time', async () => {
    const provider = new RailwayProvider(dependencies());
    const first = railway('ghcr.io/acme/billing:1');
    expect(await provider.recordPrevious({ target: first })).not.toHaveProperty('providerRef');
    const firstRef = await provider.deploy({ target: first, idempotencyKey: 'k1', previous: { version: '0', recordedAt: new Date(clock.now()).toISOString() } });
    expect(await provider.observe({ target: first, ref: firstRef })).toMatchObject({ state: 'progressing', message: expect.stringContaining('QUEUED') as string });
    clock.advance(ROLLOUT_MS / 2);
    expect(await provider.observe({ target: first, ref: firstRef })).toMatchObject({ state: 'progressing', message: expect.stringContaining('BUILDING') as string });
    clock.advance(ROLLOUT_MS / 2);
    expect((await provider.observe({ target: first, ref: firstRef })).state).toBe('succeeded');

    const second = railway('ghcr.io/acme/billing:2');
    const previous = { version: '1', ...(await provider.recordPrevious({ target: second })) };
    expect(previous).toMatchObject({ image: 'ghcr.io/acme/billing:1', providerRef: firstRef });
    const secondRef = await provider.deploy({ target: second, idempotencyKey: 'k2', previous });
    // The same key again: the provider finds its own attempt on the demo API and deploys nothing new.
    expect(await provider.deploy({ target: second, idempotencyKey: 'k2', previous })).toEqual(secondRef);
    clock.advance(ROLLOUT_MS);
    expect((await provider.observe({ target: second, ref: secondRef })).state).toBe('succeeded');
    expect((await provider.observe({ target: first, ref: firstRef })).state).toBe('failed'); // REMOVED, as on Railway

    const rollbackRef = await provider.rollback({ target: second, previous, current: secondRef, idempotencyKey: 'k3' });
    expect(rollbackRef).toBeDefined();
    clock.advance(ROLLOUT_MS);
    expect((await provider.observe({ target: second, ref: rollbackRef ?? secondRef })).state).toBe('succeeded');
    expect(await provider.recordPrevious({ target: second })).toMatchObject({ image: 'ghcr.io/acme/billing:1', providerRef: rollbackRef });
  });

  it('fails the deployments of an endpoint with ?outcome=fail, and refuses a token other than the demo one', async () => {
    const provider = new RailwayProvider(dependencies());
    const failing = railway('ghcr.io/acme/billing:3', 'token', '?outcome=fail');
    const ref = await provider.deploy({ target: failing, idempotencyKey: 'k4' });
    clock.advance(ROLLOUT_MS);
    expect(await provider.observe({ target: failing, ref })).toMatchObject({ state: 'failed', message: expect.stringContaining('FAILED') as string });

    const refused = await rejectionOf(provider.deploy({ target: railway('ghcr.io/acme/billing:3', 'wrong'), idempotencyKey: 'k5' }));
    expect(isProviderRejected(refused) && (refused as Error).message).toContain('401');
  });
});

describe('the demo deploy hook', () => {
  const hook = (key = 'hmac', query = '') => deployTarget({ webhook: { url: `${demo.url}/hooks/web${query}`, secretRef: { name: 'demo', key } } }, '5.0.2');

  it('takes a signed deploy once per key and reports it done after the rollout, through the webhook provider', async () => {
    const provider = new WebhookProvider(dependencies());
    const ref = await provider.deploy({ target: hook(), idempotencyKey: 'hook-1' });
    expect(await provider.deploy({ target: hook(), idempotencyKey: 'hook-1' })).toEqual(ref);
    expect(ref.statusUrl).toBe(`${demo.url}/hooks/operations/${ref.id}`);
    expect(await provider.observe({ target: hook(), ref })).toEqual({ state: 'progressing', message: 'deploy hook reports pending: deploy of demo 5.0.2 in progress' });
    clock.advance(ROLLOUT_MS);
    expect(await provider.observe({ target: hook(), ref })).toEqual({ state: 'succeeded', message: 'deploy hook reports succeeded: deploy of demo 5.0.2 done' });
    const other = await provider.deploy({ target: hook(), idempotencyKey: 'hook-2' });
    expect(other.id).not.toBe(ref.id);
  });

  it('fails the operations of a URL with ?outcome=fail, and answers 401 to a body signed with another key', async () => {
    const provider = new WebhookProvider(dependencies());
    const ref = await provider.deploy({ target: hook('hmac', '?outcome=fail'), idempotencyKey: 'hook-3' });
    clock.advance(ROLLOUT_MS);
    expect((await provider.observe({ target: hook(), ref })).state).toBe('failed');
    const refused = await rejectionOf(provider.deploy({ target: hook('wrong'), idempotencyKey: 'hook-4' }));
    expect(isProviderRejected(refused) && (refused as Error).message).toContain('401');
  });
});

describe('the demo checker and health endpoints', () => {
  const unit = (repository: string, url: string, key = 'hmac'): CheckUnit => {
    const spec = sweepSpecSchema.parse({ repositories: [{ name: repository, url: `https://github.com/acme/${repository}`, ref: 'main' }], checks: [{ name: 'merge-ready', runner: 'http', url, secretRef: { name: 'demo', key } }] });
    return { sweep: { name: 'nightly', namespace: 'default', uid: 'u' }, runId: 'r', repository: spec.repositories[0]!, check: spec.checks[0]!, ttlSecondsAfterFinished: 0 };
  };

  it('passes signed checks through the http runner, fails the repositories ?fail= names, and refuses a wrong signature', async () => {
    const runner = new HttpCheckRunner(dependencies());
    const url = `${demo.url}/checks/merge-ready?fail=web`;
    expect(await runner.start({ unit: unit('api', url), idempotencyKey: 'c1' })).toMatchObject({ verdict: 'passed', message: 'demo checker: merge-ready passed for api@main' });
    expect(await runner.start({ unit: unit('web', url), idempotencyKey: 'c2' })).toMatchObject({ verdict: 'failed', message: 'demo checker: merge-ready failed for web@main' });
    expect(await runner.start({ unit: unit('api', `${demo.url}/checks/merge-ready?outcome=fail`), idempotencyKey: 'c3' })).toMatchObject({ verdict: 'failed' });
    expect(isProviderRejected(await rejectionOf(runner.start({ unit: unit('api', url, 'wrong'), idempotencyKey: 'c4' })))).toBe(true);
  });

  it('answers health probes 200, or 503 with ?outcome=fail', async () => {
    const checker = new HttpHealthChecker({ fetch: realFetch, clock });
    expect(await checker.probe({ url: `${demo.url}/health/billing`, expectStatus: 200, timeoutMs: 5_000 })).toMatchObject({ healthy: true, statusCode: 200 });
    expect(await checker.probe({ url: `${demo.url}/health/billing?outcome=fail`, expectStatus: 200, timeoutMs: 5_000 })).toMatchObject({ healthy: false, statusCode: 503 });
  });

  it('lists what it serves at / and answers 404 elsewhere', async () => {
    const index = (await (await fetch(`${demo.url}/`)).json()) as Record<string, string>;
    expect(Object.keys(index)).toContain('POST /railway/graphql/v2');
    expect((await fetch(`${demo.url}/nothing`)).status).toBe(404);
  });
});

describe('starting the demo services', () => {
  it('fails with a DemoServicesError naming the address when the port is taken', async () => {
    const port = Number(new URL(demo.url).port);
    const error = await rejectionOf(DemoServices.start({ port, clock, logger: captureLogger(api.mask).logger }));
    expect(isDemoServicesError(error)).toBe(true);
    expect((error as Error).message).toBe(`demo services cannot listen on 127.0.0.1:${port}: the address is in use`);
  });
});

describe('examples/', () => {
  const documents = readdirSync(new URL('../../examples/', import.meta.url))
    .filter((name) => name.endsWith('.yaml'))
    .flatMap((name) => parseAllDocuments(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')).map((document) => document.toJS() as { kind: string; stringData?: Record<string, string>; spec?: unknown }));

  it('point at the demo services on their default port, with the Secrets holding the demo key and token', () => {
    const urls = JSON.stringify(documents.map((document) => document.spec)).match(/http:\/\/127\.0\.0\.1:\d+[^"]*/g) ?? [];
    expect(urls.length).toBeGreaterThanOrEqual(4);
    for (const url of urls) expect(url.startsWith(`http://127.0.0.1:${DEMO_SERVICES_PORT}/`), url).toBe(true);
    const values = documents.filter((document) => document.kind === 'Secret').flatMap((secret) => Object.values(secret.stringData ?? {}));
    expect(values.sort()).toEqual([DEMO_HMAC_KEY, DEMO_HMAC_KEY, DEMO_RAILWAY_TOKEN].sort());
  });
});
