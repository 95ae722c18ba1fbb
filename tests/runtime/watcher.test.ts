import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { apiErrorFromStatus, TransportError } from '../../src/kube/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { RuntimeMetrics } from '../../src/runtime/runtime-metrics.ts';
import { Watcher, type WatcherEvent } from '../../src/runtime/watcher.ts';
import { parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { until } from '../kube/http-test-server.ts';
import { FakeListWatch, gizmo, gizmos, settle } from './fake-list-watch.ts';

const logger = createLogger({ level: 'silent' });

interface Running {
  source: FakeListWatch;
  clock: ManualClock;
  events: WatcherEvent<never>[];
  registry: Registry;
  stop: () => Promise<void>;
}

let running: Running | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function start(setup: (source: FakeListWatch) => void = () => undefined, options: { pageSize?: number } = {}): Running {
  const source = new FakeListWatch();
  setup(source);
  const clock = new ManualClock();
  const registry = new Registry();
  const watcher = new Watcher({ source, resource: gizmos, clock, logger, metrics: new RuntimeMetrics(registry), random: () => 0.5, ...options });
  const controller = new AbortController();
  const events: WatcherEvent<never>[] = [];
  const loop = (async () => {
    for await (const event of watcher.events(controller.signal)) events.push(event as WatcherEvent<never>);
  })();
  running = {
    source,
    clock,
    events,
    registry,
    stop: async () => {
      controller.abort();
      await loop;
    },
  };
  return running;
}

const types = (events: WatcherEvent<never>[]): string[] => events.map((e) => ('object' in e ? `${e.type}:${(e.object as { metadata: { name: string } }).metadata.name}` : e.type));

describe('Watcher lifecycle', () => {
  it('lists in pages, then watches from the list version with bookmarks and a 5-10 min server timeout', async () => {
    const { source, events } = start((s) => {
      s.objects = [gizmo('a', '1'), gizmo('b', '2'), gizmo('c', '3')];
      s.resourceVersion = '42';
    }, { pageSize: 2 });
    await until(() => source.watches.length === 1);
    expect(types(events)).toEqual(['init', 'init-apply:a', 'init-apply:b', 'init-apply:c', 'init-done']);
    expect(source.lists.map((l) => [l.limit, l.continue])).toEqual([
      [2, undefined],
      [2, '2'],
    ]);
    const options = source.current.options;
    expect(options.resourceVersion).toBe('42');
    expect(options.allowWatchBookmarks).toBe(true);
    expect(options.timeoutSeconds).toBeGreaterThanOrEqual(300);
    expect(options.timeoutSeconds).toBeLessThan(600);
  });

  it('yields live changes as apply and delete', async () => {
    const { source, events } = start();
    await until(() => source.watches.length === 1);
    source.current.push({ type: 'ADDED', object: gizmo('a', '101') });
    source.current.push({ type: 'MODIFIED', object: gizmo('a', '102') });
    source.current.push({ type: 'DELETED', object: gizmo('a', '103') });
    await until(() => events.length === 5);
    expect(types(events).slice(2)).toEqual(['apply:a', 'apply:a', 'delete:a']);
  });

  it('after a clean end (server timeout) watches again at once from the last version seen, bookmarks included', async () => {
    const { source } = start();
    await until(() => source.watches.length === 1);
    source.current.push({ type: 'ADDED', object: gizmo('a', '150') });
    source.current.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '170' } } });
    source.current.end();
    await until(() => source.watches.length === 2);
    expect(source.current.options.resourceVersion).toBe('170');
    expect(source.lists).toHaveLength(1);
  });

  it('after a broken connection waits a backoff, then resumes from the last version without relisting', async () => {
    const { source, clock, events } = start();
    await until(() => source.watches.length === 1);
    source.current.push({ type: 'MODIFIED', object: gizmo('a', '120') });
    source.current.fail(new TransportError('connection reset'));
    await until(() => clock.pendingTimers === 1 && events.length === 3);
    expect(source.watches).toHaveLength(1);
    clock.advance(400);
    await until(() => source.watches.length === 2);
    expect(source.current.options.resourceVersion).toBe('120');
    expect(source.lists).toHaveLength(1);
  });

  it('relists on a 410 ERROR event and on a 410 answer to the watch itself', async () => {
    const { source, events, registry } = start((s) => {
      s.objects = [gizmo('a', '1')];
    });
    await until(() => source.watches.length === 1);
    source.objects = [gizmo('b', '300')];
    source.resourceVersion = '300';
    source.watchErrors.push(apiErrorFromStatus(410, { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' }));
    source.current.error(410, 'Expired');
    await until(() => source.lists.length === 3 && source.watches.length === 2);
    expect(types(events)).toEqual(['init', 'init-apply:a', 'init-done', 'init', 'init-apply:b', 'init-done', 'init', 'init-apply:b', 'init-done']);
    expect(source.current.options.resourceVersion).toBe('300');
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_watch_relists_total', { resource: 'gizmos.demo.example.com' })).toBe(2);
  });

  it('retries a failed list after a backoff that grows from 0.8 s', async () => {
    const { source, clock } = start((s) => {
      s.listErrors.push(new TransportError('refused'), new TransportError('refused'));
    });
    await until(() => source.lists.length === 1 && clock.pendingTimers === 1);
    clock.advance(399);
    await settle();
    expect(source.lists).toHaveLength(1);
    clock.advance(1);
    await until(() => source.lists.length === 2 && clock.pendingTimers === 1);
    clock.advance(799);
    await settle();
    expect(source.lists).toHaveLength(2);
    clock.advance(1);
    await until(() => source.watches.length === 1);
  });
});

describe('Watcher dead-stream detection', () => {
  it('declares a watch silent for 70 s dead and resumes it from the last version', async () => {
    const { source, clock, registry } = start();
    await until(() => source.watches.length === 1);
    clock.advance(30_000);
    source.current.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '180' } } });
    await settle();
    clock.advance(69_999);
    await settle();
    expect(source.watches).toHaveLength(1);
    expect(source.current.closed).toBe(false);
    let families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_watch_last_event_age_seconds', { resource: 'gizmos.demo.example.com' })).toBeCloseTo(69.999);
    clock.advance(1);
    await until(() => source.watches.length === 2);
    expect(source.watches[0]?.closed).toBe(true);
    expect(source.current.options.resourceVersion).toBe('180');
    expect(source.lists).toHaveLength(1);
    families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'blackroad_watch_restarts_total', { resource: 'gizmos.demo.example.com' })).toBe(1);
  });

  it('a stream that keeps delivering events is never declared dead', async () => {
    const { source, clock } = start();
    await until(() => source.watches.length === 1);
    for (let minute = 0; minute < 30; minute += 1) {
      clock.advance(60_000);
      source.current.push({ type: 'MODIFIED', object: gizmo('a', String(200 + minute)) });
      await settle();
    }
    expect(source.watches).toHaveLength(1);
  });
});
