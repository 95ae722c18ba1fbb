import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deploySpecSchema } from '../../../src/api/deploy.ts';
import { ManualClock, systemClock, type Clock } from '../../../src/resilience/clock.ts';
import type { DeployTarget } from '../../../src/providers/deploy/deploy-provider.ts';
import { WebhookProvider } from '../../../src/providers/deploy/webhook-provider.ts';
import { isInvalidResponse, isProviderRejected, isProviderUnavailable, isSecretKeyNotFound, type ProviderError } from '../../../src/providers/provider-error.ts';
import { sendJson, startFakeHttpServer } from '../../support/fakes/fake-http-server.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/fakes/webhook-receiver.ts';
import { captureLogger, realFetch, rejectionOf, startSecretsApi, until, type CapturedLogger, type SecretsApi } from '../provider-fixtures.ts';

const HMAC_KEY = 'canary-hook-key-0d5e8a3f61';

function targetFor(url: string): DeployTarget {
  return {
    namespace: 'prod',
    name: 'api',
    spec: deploySpecSchema.parse({ service: 'api', version: '1.42.0', provider: { webhook: { url, secretRef: { name: 'hook', key: 'hmac' } } } }),
  };
}

describe('WebhookProvider against a webhook receiver', () => {
  let hook: WebhookReceiver;
  let api: SecretsApi;
  let log: CapturedLogger;

  const provider = (clock: Clock = systemClock, requestTimeoutMs?: number): WebhookProvider =>
    new WebhookProvider({ fetch: realFetch, clock, logger: log.logger, secrets: api.secrets, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });

  beforeEach(async () => {
    hook = await startWebhookReceiver({ key: HMAC_KEY });
    api = await startSecretsApi();
    api.put('prod', 'hook', { hmac: HMAC_KEY });
    log = captureLogger(api.mask);
  });
  afterEach(async () => {
    await hook.close();
    await api.close();
  });

  it('posts a signed deploy request with its key and follows the status URL the hook answers with', async () => {
    hook.pollsToFinish = 2;
    const webhookProvider = provider();
    const target = targetFor(hook.url);

    const ref = await webhookProvider.deploy({ target, idempotencyKey: 'uid-1/3/deploy' });

    expect(hook.rejectedSignatures).toBe(0);
    expect(hook.deliveries('uid-1/3/deploy')).toBe(1);
    expect(hook.operations[0]?.payload).toEqual({ action: 'deploy', service: 'api', version: '1.42.0', namespace: 'prod', name: 'api', idempotencyKey: 'uid-1/3/deploy' });
    expect(ref).toEqual({ provider: 'webhook', id: 'op-1', statusUrl: `${hook.url.replace('/hook', '')}/operations/op-1` });
    await expect(webhookProvider.observe({ target, ref })).resolves.toEqual({ state: 'progressing', message: 'deploy hook reports pending: deploy in progress' });
    await expect(webhookProvider.observe({ target, ref })).resolves.toEqual({ state: 'succeeded', message: 'deploy hook reports succeeded: deploy done' });
  });

  it('delivers the same key to the same operation when the deploy is repeated', async () => {
    const webhookProvider = provider();
    const target = targetFor(hook.url);

    const first = await webhookProvider.deploy({ target, idempotencyKey: 'key-1' });
    const second = await webhookProvider.deploy({ target, idempotencyKey: 'key-1' });

    expect(second).toEqual(first);
    expect(hook.deliveries('key-1')).toBe(2);
    expect(hook.operations).toHaveLength(1);
  });

  it.each(['relative', 'location'] as const)('accepts the status URL as a %s URL', async (statusUrlIn) => {
    hook.statusUrlIn = statusUrlIn;

    const ref = await provider().deploy({ target: targetFor(hook.url), idempotencyKey: 'key-1' });

    expect(ref.statusUrl).toBe(`${hook.url.replace('/hook', '')}/operations/op-1`);
  });

  it('reports a failed operation with the message of the hook', async () => {
    hook.scriptOutcomes('fail');
    const webhookProvider = provider();
    const target = targetFor(hook.url);
    const ref = await webhookProvider.deploy({ target, idempotencyKey: 'key-1' });

    await expect(webhookProvider.observe({ target, ref })).resolves.toEqual({ state: 'failed', message: 'deploy hook reports failed: deploy failed: smoke tests red' });
  });

  it('rolls back with a signed rollback request naming the version to return to', async () => {
    const webhookProvider = provider();
    const target = targetFor(hook.url);
    const current = await webhookProvider.deploy({ target, idempotencyKey: 'key-deploy' });
    const previous = { version: '1.41.0', image: 'ghcr.io/acme/api:1.41.0', ...(await webhookProvider.recordPrevious({ target })) };

    const ref = await webhookProvider.rollback({ target, previous, current, idempotencyKey: 'key-rollback' });
    await webhookProvider.rollback({ target, previous, current, idempotencyKey: 'key-rollback' });

    expect(hook.operations.map((operation) => operation.payload['action'])).toEqual(['deploy', 'rollback']);
    expect(hook.operations[1]?.payload).toEqual({
      action: 'rollback',
      service: 'api',
      version: '1.42.0',
      toVersion: '1.41.0',
      toImage: 'ghcr.io/acme/api:1.41.0',
      namespace: 'prod',
      name: 'api',
      idempotencyKey: 'key-rollback',
    });
    expect(hook.deliveries('key-rollback')).toBe(2);
    await expect(webhookProvider.observe({ target, ref: ref as NonNullable<typeof ref> })).resolves.toMatchObject({ state: 'succeeded' });
  });

  it('is rejected for good when the Secret holds another key than the hook', async () => {
    api.put('prod', 'hook', { hmac: 'canary-other-key-3c' });

    const error = (await rejectionOf(provider().deploy({ target: targetFor(hook.url), idempotencyKey: 'key-1' }))) as ProviderError;

    expect(hook.rejectedSignatures).toBe(1);
    expect(isProviderRejected(error)).toBe(true);
    expect(error.httpStatus).toBe(401);
    expect(error.message).toMatch(/^webhook answered POST http:\/\/127\.0\.0\.1:\d+\/hook with HTTP 401: \{"error":"signature does not match the body"\}$/);
  });

  it('classes a 503 from the hook or its status URL as retryable', async () => {
    const webhookProvider = provider();
    const target = targetFor(hook.url);
    hook.failNext(1, 503);
    const onDeploy = (await rejectionOf(webhookProvider.deploy({ target, idempotencyKey: 'key-1' }))) as ProviderError;
    const ref = await webhookProvider.deploy({ target, idempotencyKey: 'key-1' });
    hook.failNext(1, 502);
    const onPoll = (await rejectionOf(webhookProvider.observe({ target, ref }))) as ProviderError;

    expect(isProviderUnavailable(onDeploy)).toBe(true);
    expect(isProviderUnavailable(onPoll)).toBe(true);
    expect(onPoll.retryable).toBe(true);
    expect(hook.operations).toHaveLength(1);
  });

  it('rejects answers outside the protocol: no status URL, a status without a known state, a redirect', async () => {
    let answer: { status: number; body: unknown; headers?: Record<string, string> } = { status: 202, body: { accepted: true } };
    const server = await startFakeHttpServer((_request, response) => sendJson(response, answer.status, answer.body, answer.headers ?? {}));
    try {
      const target = targetFor(`${server.url}/hook`);
      const noStatusUrl = (await rejectionOf(provider().deploy({ target, idempotencyKey: 'key-1' }))) as ProviderError;
      answer = { status: 200, body: { state: 'done' } };
      const unknownState = (await rejectionOf(provider().observe({ target, ref: { provider: 'webhook', id: 'op', statusUrl: `${server.url}/status` } }))) as ProviderError;
      answer = { status: 302, body: {}, headers: { location: 'https://elsewhere.example/hook?token=abc' } };
      const redirect = (await rejectionOf(provider().deploy({ target, idempotencyKey: 'key-1' }))) as ProviderError;

      expect(isInvalidResponse(noStatusUrl)).toBe(true);
      expect(noStatusUrl.message).toMatch(/answered HTTP 202 without a usable status URL \(statusUrl or Location\): \{"accepted":true\}$/);
      expect(isInvalidResponse(unknownState)).toBe(true);
      expect(unknownState.message).toMatch(/answered without state pending, succeeded or failed: \{"state":"done"\}$/);
      expect(isProviderRejected(redirect)).toBe(true);
      expect(redirect.message).toMatch(/with a redirect \(HTTP 302\) to https:\/\/elsewhere\.example\/hook; redirects are not followed$/);
    } finally {
      await server.close();
    }
  });

  it('gives up on a hook that does not answer within the deadline', async () => {
    const silent = await startFakeHttpServer(() => undefined);
    const clock = new ManualClock();
    try {
      const pending = rejectionOf(provider(clock, 10_000).deploy({ target: targetFor(`${silent.url}/hook`), idempotencyKey: 'key-1' }));
      await until(() => silent.inFlight === 1);
      clock.advance(10_000);
      const error = (await pending) as ProviderError;

      expect(isProviderUnavailable(error)).toBe(true);
      expect(error.message).toMatch(/^webhook did not answer POST http:\/\/127\.0\.0\.1:\d+\/hook within 10000 ms$/);
    } finally {
      await silent.close();
    }
  });

  it('stalls when the Secret has no such key, before calling the hook', async () => {
    api.put('prod', 'hook', { other: 'value-1234' });

    const error = await rejectionOf(provider().deploy({ target: targetFor(hook.url), idempotencyKey: 'key-1' }));

    expect(isSecretKeyNotFound(error)).toBe(true);
    expect(hook.operations).toHaveLength(0);
  });

  it('never lets the HMAC key reach a log line or an error', async () => {
    const webhookProvider = provider();
    const target = targetFor(hook.url);
    const ref = await webhookProvider.deploy({ target, idempotencyKey: 'key-1' });
    await webhookProvider.observe({ target, ref });
    hook.failNext(1, 500);
    const error = await rejectionOf(webhookProvider.deploy({ target, idempotencyKey: 'key-2' }));
    log.logger.error(error as Error, 'deploy step failed');
    log.logger.warn({ note: `the key is ${HMAC_KEY}` }, 'echo');

    expect(hook.rejectedSignatures).toBe(0);
    expect(log.lines.length).toBeGreaterThan(3);
    expect(log.text()).not.toContain(HMAC_KEY);
    expect(JSON.stringify(ref)).not.toContain(HMAC_KEY);
  });
});
