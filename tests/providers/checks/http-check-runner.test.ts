import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweepSpecSchema } from '../../../src/api/sweep.ts';
import { ManualClock, systemClock, type Clock } from '../../../src/resilience/clock.ts';
import type { CheckUnit } from '../../../src/providers/checks/check-runner.ts';
import { HttpCheckRunner } from '../../../src/providers/checks/http-check-runner.ts';
import { isInvalidResponse, isProviderRejected, isProviderUnavailable, isSecretNotFound, type ProviderError } from '../../../src/providers/provider-error.ts';
import { startFakeChecker, type FakeChecker } from '../../support/fakes/fake-checker.ts';
import { captureLogger, rejectionOf, realFetch, startSecretsApi, until, type CapturedLogger, type SecretsApi } from '../provider-fixtures.ts';

const HMAC_KEY = 'canary-checker-key-7a2c9b';

function unitFor(checker: FakeChecker, timeoutSeconds = 60, repository: { name: string; url: string; ref?: string } = { name: 'api', url: 'https://github.com/acme/api', ref: 'main' }): CheckUnit {
  const spec = sweepSpecSchema.parse({
    repositories: [repository],
    checks: [{ name: 'merge-ready', runner: 'http', url: checker.url, secretRef: { name: 'checker', key: 'hmac' }, timeoutSeconds }],
  });
  return {
    sweep: { name: 'nightly', namespace: 'ci', uid: 'sweep-uid-1' },
    runId: 'sweep-uid-1/1',
    repository: spec.repositories[0] as CheckUnit['repository'],
    check: spec.checks[0] as CheckUnit['check'],
    ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
  };
}

describe('HttpCheckRunner against a fake checker service', () => {
  let checker: FakeChecker;
  let api: SecretsApi;
  let log: CapturedLogger;

  const runner = (clock: Clock = systemClock): HttpCheckRunner => new HttpCheckRunner({ fetch: realFetch, clock, logger: log.logger, secrets: api.secrets });

  beforeEach(async () => {
    checker = await startFakeChecker({ key: HMAC_KEY });
    api = await startSecretsApi();
    api.put('ci', 'checker', { hmac: HMAC_KEY });
    log = captureLogger(api.mask);
  });
  afterEach(async () => {
    await checker.close();
    await api.close();
  });

  it('posts {repository, ref, check}, signed and with its key, and keeps a pass verdict in the handle', async () => {
    const unit = unitFor(checker);

    const handle = await runner().start({ unit, idempotencyKey: 'sweep-uid-1/1/checks/api.merge-ready' });

    expect(checker.rejectedSignatures).toBe(0);
    expect(checker.calls('sweep-uid-1/1/checks/api.merge-ready')).toBe(1);
    expect(checker.requests).toEqual([{ repository: { name: 'api', url: 'https://github.com/acme/api' }, ref: 'main', check: 'merge-ready' }]);
    expect(handle).toMatchObject({ runner: 'http', verdict: 'passed', message: 'all good' });
    // The verdict is in the handle: observing asks nothing more.
    await expect(runner().observe({ unit, handle })).resolves.toMatchObject({ state: 'passed', message: 'all good' });
    expect(checker.totalCalls).toBe(1);
  });

  it('reports a fail verdict as failed, with its details as JSON when they are not text', async () => {
    checker.setVerdict('api', 'merge-ready', { status: 'fail', details: { reasons: ['2 unresolved threads'] } });
    const unit = unitFor(checker);

    const handle = await runner().start({ unit, idempotencyKey: 'key-1' });

    await expect(runner().observe({ unit, handle })).resolves.toMatchObject({ state: 'failed', message: '{"reasons":["2 unresolved threads"]}' });
  });

  it('omits the ref when the repository has none', async () => {
    await runner().start({ unit: unitFor(checker, 60, { name: 'web', url: 'https://github.com/acme/web' }), idempotencyKey: 'key-1' });

    expect(checker.requests).toEqual([{ repository: { name: 'web', url: 'https://github.com/acme/web' }, check: 'merge-ready' }]);
  });

  it('cuts long details to the length a result message may have', async () => {
    checker.defaultVerdict = { status: 'fail', details: 'x'.repeat(5000) };

    const handle = await runner().start({ unit: unitFor(checker), idempotencyKey: 'key-1' });

    expect(handle.runner === 'http' && handle.message.length).toBe(256);
  });

  it.each([
    ['not-json', isInvalidResponse, false, /^checker answered POST http:\/\/127\.0\.0\.1:\d+\/check \(HTTP 200\) with a body that is not JSON: <html><body>Checker maintenance<\/body><\/html>$/],
    ['wrong-shape', isInvalidResponse, false, /^checker http:\/\/127\.0\.0\.1:\d+\/check answered HTTP 200 without status "pass" or "fail": \{"result":"ok","verdict":"green"\}$/],
    ['server-error', isProviderUnavailable, true, /^checker answered POST http:\/\/127\.0\.0\.1:\d+\/check with HTTP 500: checker crashed$/],
    ['bad-request', isProviderRejected, false, /^checker answered POST http:\/\/127\.0\.0\.1:\d+\/check with HTTP 400: \{"error":"unknown check"\}$/],
    ['redirect', isProviderRejected, false, /with a redirect \(HTTP 307\) to http:\/\/checker\.elsewhere\.example\/check; redirects are not followed$/],
  ] as const)('turns a %s answer into an error with a clear message', async (misbehaviour, guard, retryable, message) => {
    checker.misbehaveNext(misbehaviour);

    const error = (await rejectionOf(runner().start({ unit: unitFor(checker), idempotencyKey: 'key-1' }))) as ProviderError;

    expect(guard(error)).toBe(true);
    expect(error.retryable).toBe(retryable);
    expect(error.message).toMatch(message);
  });

  it("quotes at most 200 characters of a checker's answer", async () => {
    checker.defaultVerdict = { status: 'maybe' as 'pass', details: 'y'.repeat(10_000) };

    const error = (await rejectionOf(runner().start({ unit: unitFor(checker), idempotencyKey: 'key-1' }))) as ProviderError;

    expect(isInvalidResponse(error)).toBe(true);
    expect(error.message.length).toBeLessThan(320);
    expect(error.message.endsWith('…')).toBe(true);
  });

  it("errors a unit whose checker does not answer within the check's timeoutSeconds", async () => {
    const clock = new ManualClock();
    checker.misbehaveNext('hang');
    const pending = rejectionOf(runner(clock).start({ unit: unitFor(checker, 30), idempotencyKey: 'key-1' }));
    await until(() => checker.inFlight === 1);

    clock.advance(29_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(checker.inFlight).toBe(1);
    clock.advance(1);
    const error = (await pending) as ProviderError;

    expect(isProviderUnavailable(error)).toBe(true);
    expect(error.message).toMatch(/^checker did not answer POST http:\/\/127\.0\.0\.1:\d+\/check within 30000 ms$/);
  });

  it('stalls on a missing Secret without calling the checker', async () => {
    api.remove('ci', 'checker');

    const error = await rejectionOf(runner().start({ unit: unitFor(checker), idempotencyKey: 'key-1' }));

    expect(isSecretNotFound(error)).toBe(true);
    expect(checker.totalCalls).toBe(0);
  });

  it('never lets the HMAC key reach a log line or an error', async () => {
    await runner().start({ unit: unitFor(checker), idempotencyKey: 'key-1' });
    checker.misbehaveNext('server-error');
    const error = await rejectionOf(runner().start({ unit: unitFor(checker), idempotencyKey: 'key-2' }));
    log.logger.error(error as Error, 'unit failed');
    log.logger.info({ detail: `signed with ${HMAC_KEY}` }, 'echo');

    expect(log.lines.length).toBeGreaterThan(2);
    expect(log.text()).not.toContain(HMAC_KEY);
  });
});
