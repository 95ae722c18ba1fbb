import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServer } from '../../src/observability/admin-server.ts';
import { Checks } from '../../src/observability/checks.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createMetricsRegistry } from '../../src/observability/metrics.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';

const quiet = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const servers: AdminServer[] = [];

async function startServer() {
  const registry = createMetricsRegistry();
  const health = new Checks();
  const readiness = new Checks();
  const server = new AdminServer({
    metricsAddr: { host: '127.0.0.1', port: 0 },
    probeAddr: { host: '127.0.0.1', port: 0 },
    registry,
    health,
    readiness,
    logger: quiet,
  });
  servers.push(server);
  await server.start();
  const metricsUrl = server.metrics?.url() ?? '';
  const probesUrl = server.probes?.url() ?? '';
  return { server, registry, health, readiness, metricsUrl, probesUrl };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

describe('admin server', () => {
  it('serves a parseable metrics exposition with process metrics and registered families', async () => {
    const { registry, metricsUrl } = await startServer();
    const counter = new Counter({ name: 'blackroad_test_total', help: 'a test counter', labelNames: ['kind'], registers: [registry] });
    counter.inc({ kind: 'a "quoted"\\value' }, 3);
    const response = await fetch(`${metricsUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await response.text());
    expect(families.get('blackroad_test_total')?.type).toBe('counter');
    expect(sampleValue(families, 'blackroad_test_total', { kind: 'a "quoted"\\value' })).toBe(3);
    expect(families.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('serves metrics only on the metrics address and probes only on the probe address', async () => {
    const { metricsUrl, probesUrl } = await startServer();
    expect((await fetch(`${probesUrl}/metrics`)).status).toBe(404);
    expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(404);
  });

  it('flips readiness with its checks and names each failing check', async () => {
    const { readiness, probesUrl } = await startServer();
    let cachesSynced = false;
    readiness.register('informer-sync', () => (cachesSynced ? true : 'caches not synced'));
    readiness.register('leader-election', () => true);

    const before = await fetch(`${probesUrl}/readyz`);
    expect(before.status).toBe(500);
    const beforeText = await before.text();
    expect(beforeText).toContain('[-]informer-sync failed: caches not synced');
    expect(beforeText).toContain('[+]leader-election ok');

    cachesSynced = true;
    const after = await fetch(`${probesUrl}/readyz`);
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('[+]informer-sync ok\n[+]leader-election ok\nreadyz check passed\n');
  });

  it('counts a throwing or rejecting check as failed with its message', async () => {
    const { health, probesUrl } = await startServer();
    health.register('throws', () => {
      throw new Error('manager stopped');
    });
    health.register('rejects', () => Promise.reject(new Error('watch dead')));
    const response = await fetch(`${probesUrl}/healthz`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).toContain('[-]throws failed: manager stopped');
    expect(text).toContain('[-]rejects failed: watch dead');
  });

  it('answers 404 for unknown paths, 405 for other methods, and 500 when a route throws, then keeps serving', async () => {
    const { server, probesUrl } = await startServer();
    server.route('/boom', () => {
      throw new Error('broken route');
    });
    expect((await fetch(`${probesUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${probesUrl}/healthz`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${probesUrl}/boom`)).status).toBe(500);
    expect((await fetch(`${probesUrl}/healthz`)).status).toBe(200);
  });

  it('refuses a check registered twice under one name', () => {
    const checks = new Checks();
    checks.register('a', () => true);
    expect(() => checks.register('a', () => true)).toThrow(/already registered/);
  });
});
