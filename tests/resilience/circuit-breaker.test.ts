import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, ServerError } from '../../src/kube/errors.ts';
import { AdminServer } from '../../src/observability/admin-server.ts';
import { Checks } from '../../src/observability/checks.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { BrokenCircuitError, CircuitBreaker, isBrokenCircuit, type CircuitBreakerOptions, type CircuitState } from '../../src/resilience/circuit-breaker.ts';
import { breakersRoute, CircuitBreakerRegistry } from '../../src/resilience/circuit-breaker-registry.ts';
import { classifyFailure } from '../../src/resilience/classify-failure.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { DEFAULT_RETRY } from '../../src/resilience/retry.ts';
import { ResilienceMetrics } from '../../src/resilience/resilience-metrics.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

const boom = () => Promise.reject(new ServerError(503, 'ServiceUnavailable', 'down'));
const ok = () => Promise.resolve('ok');

function breakerWith(options: CircuitBreakerOptions, clock = new ManualClock(0)) {
  const transitions: [CircuitState, CircuitState][] = [];
  const breaker = new CircuitBreaker('provider:test', options, { clock, onTransition: (_name, from, to) => transitions.push([from, to]) });
  return { breaker, clock, transitions };
}

/** Fails `times` calls; the one whose failure opens the breaker reports the open breaker, with the failure as cause. */
async function fail(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    const error = await breaker.execute(boom).catch((caught: unknown) => caught);
    expect(error instanceof ServerError || (isBrokenCircuit(error) && error.cause instanceof ServerError)).toBe(true);
  }
}

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures and then refuses calls without running them', async () => {
    const { breaker } = breakerWith({ consecutiveFailures: 3, failureRatio: 0 });
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    let ran = false;
    const refused = breaker.execute(async () => {
      ran = true;
    });
    await expect(refused).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(ran).toBe(false);
  });

  it('reports the failure that opens it as the open breaker, so the caller waits instead of spending a retry on the outage', async () => {
    const { breaker } = breakerWith({ consecutiveFailures: 2, failureRatio: 0, halfOpenAfterMs: 5_000 });
    await expect(breaker.execute(boom)).rejects.toBeInstanceOf(ServerError);
    const opening = await breaker.execute(boom).catch((caught: unknown) => caught);
    expect(opening).toBeInstanceOf(BrokenCircuitError);
    expect(classifyFailure(opening)).toMatchObject({ kind: 'deferred', retryAfterMs: 5_000 });
    expect((opening as BrokenCircuitError).cause).toBeInstanceOf(ServerError);
    expect((opening as Error).message).toBe('circuit breaker provider:test opened on this failure: down; retry in 5000 ms');
  });

  it('opens after 3 failures in a row by default: before a caller under DEFAULT_RETRY (5 attempts) runs out alone', async () => {
    const { breaker } = breakerWith({ failureRatio: 0 });
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(DEFAULT_RETRY.maxAttempts).toBeGreaterThan(3);
  });

  it('a success resets the consecutive-failure count', async () => {
    const { breaker } = breakerWith({ consecutiveFailures: 3, failureRatio: 0 });
    await fail(breaker, 2);
    await breaker.execute(ok);
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('opens on the failure ratio over the window only once the minimum volume is reached', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 0, failureRatio: 0.5, windowMs: 10_000, minimumCalls: 10 });
    // 4 failures out of 4 calls: ratio 1 but volume too low.
    await fail(breaker, 4);
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 5; i += 1) await breaker.execute(ok);
    // 5 failures of 10 calls reaches 50 %.
    clock.advance(100);
    await fail(breaker, 1);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', windowCalls: 10, windowFailures: 5 });
  });

  it('forgets failures that slid out of the window', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 0, failureRatio: 0.5, windowMs: 10_000, minimumCalls: 4 });
    await fail(breaker, 3);
    clock.advance(10_000);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await breaker.execute(ok);
    await fail(breaker, 1);
    // Only the last four calls are in the window: 1 failure of 4.
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', windowCalls: 4, windowFailures: 1 });
  });

  it('says how long until it half-opens, then admits the configured number of trial calls', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 1, halfOpenAfterMs: 5_000, halfOpenTrialCalls: 2 });
    await fail(breaker, 1);
    clock.advance(2_000);
    expect(breaker.retryAfterMs()).toBe(3_000);
    await expect(breaker.execute(ok)).rejects.toMatchObject({ name: 'BrokenCircuitError', retryAfterMs: 3_000 });
    clock.advance(3_000);
    expect(breaker.state).toBe('half-open');
    expect(breaker.retryAfterMs()).toBe(0);

    // Two trials may run at once; a third caller is refused while they are in flight.
    let releaseTrials: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (releaseTrials = resolve));
    const trials = [breaker.execute(() => gate.then(ok)), breaker.execute(() => gate.then(ok))];
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(breaker.retryAfterMs()).toBeGreaterThan(0);
    releaseTrials();
    await Promise.all(trials);
    expect(breaker.state).toBe('closed');
  });

  it('re-opens when a half-open trial fails, for another full delay', async () => {
    const { breaker, clock, transitions } = breakerWith({ consecutiveFailures: 1, halfOpenAfterMs: 1_000 });
    await fail(breaker, 1);
    clock.advance(1_000);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(breaker.retryAfterMs()).toBe(1_000);
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
    ]);
  });

  it('a slow call admitted while closed cannot close a breaker that opened meanwhile', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 1, halfOpenAfterMs: 1_000, halfOpenTrialCalls: 1 });
    let finishSlow: () => void = () => undefined;
    const slow = breaker.execute(() => new Promise<string>((resolve) => (finishSlow = () => resolve('late'))));
    await fail(breaker, 1);
    clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    finishSlow();
    await slow;
    // The late success belongs to the closed period: the breaker still waits for its own trial.
    expect(breaker.state).toBe('half-open');
  });

  it('does not count client errors: a 404 is the dependency working', async () => {
    const { breaker } = breakerWith({ consecutiveFailures: 2, failureRatio: 0 });
    for (let i = 0; i < 5; i += 1) {
      await expect(breaker.execute(() => Promise.reject(new NotFoundError(404, 'NotFound', 'gone')))).rejects.toBeInstanceOf(NotFoundError);
    }
    expect(breaker.state).toBe('closed');
  });

  it('isolate() holds it open whatever the clock says, reset() closes it and forgets failures', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 2, halfOpenAfterMs: 1_000 });
    await fail(breaker, 1);
    breaker.isolate();
    clock.advance(60_000);
    expect(breaker.state).toBe('isolated');
    const refusal = await breaker.execute(ok).catch((error: unknown) => error);
    expect(isBrokenCircuit(refusal) && refusal.state).toBe('isolated');
    breaker.reset();
    expect(breaker.state).toBe('closed');
    await fail(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('check() refuses exactly when execute() would, and admits nothing', async () => {
    const { breaker, clock } = breakerWith({ consecutiveFailures: 1, halfOpenAfterMs: 1_000 });
    expect(() => breaker.check()).not.toThrow();
    await fail(breaker, 1);
    expect(() => breaker.check()).toThrow(BrokenCircuitError);
    clock.advance(1_000);
    breaker.check();
    breaker.check();
    // check() took no trial slot: the one trial is still available.
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});

describe('CircuitBreakerRegistry', () => {
  const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const servers: AdminServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it('gives one shared breaker per dependency name, with per-name options over the defaults', () => {
    const registry = new CircuitBreakerRegistry({ clock: new ManualClock(0), defaults: { halfOpenAfterMs: 10_000 }, overrides: { redis: { halfOpenAfterMs: 2_000 } } });
    expect(registry.get('provider:railway')).toBe(registry.get('provider:railway'));
    expect(registry.get('redis').snapshot().options.halfOpenAfterMs).toBe(2_000);
    expect(registry.get('provider:railway').snapshot().options.halfOpenAfterMs).toBe(10_000);
  });

  it('exports state as 0/1/2 read at scrape time and counts transitions by target state', async () => {
    const clock = new ManualClock(0);
    const metricsRegistry = createMetricsRegistry({ processMetrics: false });
    const registry = new CircuitBreakerRegistry({ clock, defaults: { consecutiveFailures: 1, halfOpenAfterMs: 1_000 }, metrics: new ResilienceMetrics(metricsRegistry), logger: quiet });
    const breaker = registry.get('redis');
    registry.get('provider:railway');
    await fail(breaker, 1);
    let families = parsePrometheusText(await metricsRegistry.metrics());
    expect(sampleValue(families, 'blackroad_circuit_breaker_state', { breaker: 'redis' })).toBe(2);
    expect(sampleValue(families, 'blackroad_circuit_breaker_state', { breaker: 'provider:railway' })).toBe(0);
    expect(sampleValue(families, 'blackroad_circuit_breaker_transitions_total', { breaker: 'redis', to: 'open' })).toBe(1);
    // No call is made: the scrape itself sees the delay has passed.
    clock.advance(1_000);
    families = parsePrometheusText(await metricsRegistry.metrics());
    expect(sampleValue(families, 'blackroad_circuit_breaker_state', { breaker: 'redis' })).toBe(1);
    expect(sampleValue(families, 'blackroad_circuit_breaker_transitions_total', { breaker: 'redis', to: 'half-open' })).toBe(1);
  });

  it('serves every breaker on /debug/breakers of the admin server', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const registry = new CircuitBreakerRegistry({ clock, defaults: { consecutiveFailures: 1, halfOpenAfterMs: 30_000 } });
    await fail(registry.get('provider:railway'), 1);
    registry.get('redis');
    const server = new AdminServer({ metricsAddr: null, probeAddr: { host: '127.0.0.1', port: 0 }, registry: createMetricsRegistry({ processMetrics: false }), health: new Checks(), readiness: new Checks(), logger: quiet });
    servers.push(server);
    server.route('/debug/breakers', breakersRoute(registry));
    await server.start();
    const response = await fetch(`${server.probes?.url() ?? ''}/debug/breakers`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as { breakers: { name: string; state: string; retryAfterMs: number; openedAt?: string }[] };
    expect(body.breakers.map((b) => [b.name, b.state, b.retryAfterMs])).toEqual([
      ['provider:railway', 'open', 30_000],
      ['redis', 'closed', 0],
    ]);
    expect(body.breakers[0]?.openedAt).toBe('2026-01-01T00:00:00.000Z');
  });
});
