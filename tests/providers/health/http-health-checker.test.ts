import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../../../src/resilience/clock.ts';
import { HttpHealthChecker } from '../../../src/providers/health/http-health-checker.ts';
import { startHealthEndpoint, type HealthEndpoint } from '../../support/fakes/health-endpoint.ts';
import { realFetch, rejectionOf, until } from '../provider-fixtures.ts';

describe('HttpHealthChecker against a health endpoint', () => {
  let endpoint: HealthEndpoint;
  const checker = new HttpHealthChecker({ fetch: realFetch, clock: systemClock });

  beforeEach(async () => {
    endpoint = await startHealthEndpoint();
  });
  afterEach(async () => {
    await endpoint.close();
  });

  it('passes when the answer has the expected status, and says when and how fast', async () => {
    const before = Date.now();

    const probe = await checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 });

    expect(probe).toMatchObject({ healthy: true, statusCode: 200, message: 'HTTP 200' });
    expect(Date.parse(probe.at)).toBeGreaterThanOrEqual(before - 1);
    expect(probe.latencyMs).toBeGreaterThanOrEqual(0);
    expect(endpoint.probes).toBe(1);
  });

  it('fails, one probe per call, while the endpoint is unhealthy, and passes again when it recovers', async () => {
    endpoint.healthy = false;
    const failing = await checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 });
    endpoint.healthy = true;
    const recovered = await checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 });

    expect(failing).toMatchObject({ healthy: false, statusCode: 503, message: 'HTTP 503, expected 200' });
    expect(recovered.healthy).toBe(true);
    expect(endpoint.probes).toBe(2);
  });

  it('compares against the expected status, whatever it is', async () => {
    endpoint.healthy = false;
    endpoint.unhealthyStatus = 418;

    await expect(checker.probe({ url: endpoint.url, expectStatus: 418, timeoutMs: 5000 })).resolves.toMatchObject({ healthy: true, statusCode: 418 });
  });

  it('counts an endpoint that refuses connections as unhealthy, with the reason', async () => {
    const url = endpoint.url;
    await endpoint.close();

    const probe = await checker.probe({ url, expectStatus: 200, timeoutMs: 5000 });

    expect(probe.healthy).toBe(false);
    expect(probe.statusCode).toBeUndefined();
    expect(probe.message).toMatch(/^could not reach health endpoint \(GET http:\/\/127\.0\.0\.1:\d+\/healthz\): ECONNREFUSED$/);
  });

  it('counts a probe without an answer before its deadline as unhealthy', async () => {
    const clock = new ManualClock();
    endpoint.delayMs = Number.POSITIVE_INFINITY;
    const pending = new HttpHealthChecker({ fetch: realFetch, clock }).probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 2000 });
    await until(() => endpoint.inFlight === 1);

    clock.advance(2000);
    const probe = await pending;

    expect(probe.healthy).toBe(false);
    expect(probe.latencyMs).toBe(2000);
    expect(probe.message).toMatch(/^health endpoint did not answer GET http:\/\/127\.0\.0\.1:\d+\/healthz within 2000 ms$/);
  });

  it('follows a redirect on the same host', async () => {
    endpoint.redirectTo = '/elsewhere';

    await expect(checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 })).resolves.toMatchObject({ healthy: true, statusCode: 200 });
    expect(endpoint.probes).toBe(2);
  });

  it('does not follow a redirect to another host, and says where it pointed', async () => {
    endpoint.redirectTo = endpoint.url.replace('127.0.0.1', 'localhost').replace('/healthz', '/elsewhere?token=abc');

    const probe = await checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 });

    expect(probe).toMatchObject({ healthy: false, statusCode: 302 });
    expect(probe.message).toMatch(/^HTTP 302 redirect to another host \(http:\/\/localhost:\d+\/elsewhere\), not followed; expected 200$/);
    expect(endpoint.probes).toBe(1);
  });

  it('compares a redirect itself when a redirect is what is expected', async () => {
    endpoint.redirectTo = 'https://login.example/';

    await expect(checker.probe({ url: endpoint.url, expectStatus: 302, timeoutMs: 5000 })).resolves.toMatchObject({ healthy: true, statusCode: 302 });
  });

  it('stops after five redirects on the same host', async () => {
    endpoint.redirectTo = '/healthz';

    const probe = await checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000 });

    expect(probe).toMatchObject({ healthy: false, message: 'more than 5 redirects, expected 200' });
    expect(endpoint.probes).toBe(6);
  });

  it('rejects only when the caller aborts', async () => {
    endpoint.delayMs = Number.POSITIVE_INFINITY;
    const controller = new AbortController();
    const pending = rejectionOf(checker.probe({ url: endpoint.url, expectStatus: 200, timeoutMs: 5000, signal: controller.signal }));
    await until(() => endpoint.inFlight === 1);

    controller.abort();

    expect(await pending).toMatchObject({ name: 'AbortError' });
  });
});
