import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeMetricsAccess, TlsFolderWatcher } from '../../src/cli/metrics-access.ts';
import type { IncomingMessage } from 'node:http';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import type { ResourceDescriptor } from '../../src/kube/resource-descriptor.ts';
import { ManualClock } from '../../src/resilience/clock.ts';

const dir = mkdtempSync(join(tmpdir(), 'metrics-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

/** An API server that knows one token and lets its user read /metrics; counts reviews. */
function reviewer(options: { down?: boolean } = {}) {
  const calls: string[] = [];
  return {
    calls,
    async create<T extends KubeObject>(resource: ResourceDescriptor, object: T): Promise<T> {
      calls.push(resource.kind);
      if (options.down === true) throw new Error('connection refused');
      const spec = (object as unknown as { spec: Record<string, unknown> }).spec;
      if (resource.kind === 'TokenReview') return { ...object, status: spec['token'] === 'good' ? { authenticated: true, user: { username: 'system:serviceaccount:monitoring:prometheus', groups: ['system:serviceaccounts'] } } : { authenticated: false } };
      return { ...object, status: { allowed: (spec['nonResourceAttributes'] as { path: string }).path === '/metrics' } };
    },
  };
}

const req = (authorization?: string, url = '/metrics') => ({ url, headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe('kubeMetricsAccess', () => {
  it('answers 401 without a bearer token or with one the API server rejects, 403 when not allowed, and lets an allowed user in', async () => {
    const api = reviewer();
    const access = kubeMetricsAccess({ client: api, clock: new ManualClock(0), logger });
    expect(await access(req())).toMatchObject({ allowed: false, status: 401 });
    expect(await access(req('Basic abc'))).toMatchObject({ allowed: false, status: 401 });
    expect(await access(req('Bearer bad'))).toMatchObject({ allowed: false, status: 401 });
    expect(await access(req('Bearer good', '/metrics/other'))).toMatchObject({ allowed: false, status: 403 });
    expect(await access(req('Bearer good'))).toEqual({ allowed: true });
  });

  it('reuses a verdict for its TTL, then asks again', async () => {
    const api = reviewer();
    const clock = new ManualClock(0);
    const access = kubeMetricsAccess({ client: api, clock, logger, cacheTtlMs: 10_000 });
    await access(req('Bearer good'));
    await access(req('Bearer good'));
    expect(api.calls).toEqual(['TokenReview', 'SubjectAccessReview']);
    clock.advance(10_001);
    await access(req('Bearer good'));
    expect(api.calls).toHaveLength(4);
  });

  it('fails closed with 500 when the API server cannot be asked, and does not remember that', async () => {
    const access = kubeMetricsAccess({ client: reviewer({ down: true }), clock: new ManualClock(0), logger });
    expect(await access(req('Bearer good'))).toMatchObject({ allowed: false, status: 500 });
  });
});

describe('TlsFolderWatcher', () => {
  it('hands over a certificate that changed, ignores an unchanged one, and keeps serving when the folder breaks', async () => {
    const folder = join(dir, 'certs');
    const write = (cert: string) => {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'tls.crt'), cert);
      writeFileSync(join(folder, 'tls.key'), 'key');
    };
    write('one');
    const seen: string[] = [];
    const watcher = new TlsFolderWatcher({ folder, current: { cert: 'one', key: 'key' }, clock: new ManualClock(0), logger });
    await watcher.check((tls) => seen.push(tls.cert));
    write('two');
    await watcher.check((tls) => seen.push(tls.cert));
    await watcher.check((tls) => seen.push(tls.cert));
    rmSync(folder, { recursive: true, force: true });
    await watcher.check((tls) => seen.push(tls.cert));
    expect(seen).toEqual(['two']);
  });
});
