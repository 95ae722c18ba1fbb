import { describe, expect, it } from 'vitest';
import type { KubeEventPublisher } from '../../src/events/kube-event-publisher.ts';
import type { CreateOptions, PatchOptions } from '../../src/kube/client.ts';
import { apiErrorFromStatus } from '../../src/kube/errors.ts';
import type { KubeObject } from '../../src/kube/kube-object.ts';
import type { ResourceDescriptor } from '../../src/kube/resource-descriptor.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { ManualClock } from '../../src/resilience/clock.ts';
import { eventReference, EventRecorder, microTime, type EventClient, type EventRecord } from '../../src/runtime/event-recorder.ts';
import { settle } from './fake-list-watch.ts';

class RecordingEventClient implements EventClient {
  readonly creates: { resource: ResourceDescriptor; body: Record<string, unknown>; namespace: string | undefined }[] = [];
  readonly patches: { name: string; body: unknown; namespace: string | undefined }[] = [];
  failCreate: Error | undefined;
  failPatch: Error | undefined;

  create<T extends KubeObject>(resource: ResourceDescriptor, object: T, options: CreateOptions = {}): Promise<T> {
    if (this.failCreate !== undefined) return Promise.reject(this.failCreate);
    this.creates.push({ resource, body: object as unknown as Record<string, unknown>, namespace: options.namespace });
    return Promise.resolve(object);
  }

  patch<T extends KubeObject>(_resource: ResourceDescriptor, name: string, patch: unknown, options: PatchOptions = {}): Promise<T> {
    if (this.failPatch !== undefined) return Promise.reject(this.failPatch);
    this.patches.push({ name, body: patch, namespace: options.namespace });
    return Promise.resolve({ metadata: { name } } as T);
  }
}

const regarding = { apiVersion: 'operator.blackroad.io/v1alpha1', kind: 'Deploy', namespace: 'prod', name: 'api', uid: 'u-1' };
const event = (note = 'rolled out 1.42'): EventRecord => ({ regarding, type: 'Normal', reason: 'DeploySucceeded', action: 'Deploy', note });

function setup(): { client: RecordingEventClient; clock: ManualClock; recorder: EventRecorder } {
  const client = new RecordingEventClient();
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0, 123));
  const recorder = new EventRecorder({ client, clock, logger: createLogger({ level: 'silent' }), reportingController: 'operator.blackroad.io/deploy', reportingInstance: 'pod-1' });
  return { client, clock, recorder };
}

describe('EventRecorder', () => {
  it('creates an events.k8s.io/v1 Event on the regarding object', async () => {
    const { client, recorder } = setup();
    await recorder.publish(event());
    expect(client.creates).toHaveLength(1);
    const [created] = client.creates;
    expect(created?.resource).toMatchObject({ group: 'events.k8s.io', version: 'v1', plural: 'events' });
    expect(created?.namespace).toBe('prod');
    expect(created?.body).toMatchObject({
      eventTime: '2026-01-01T12:00:00.123000Z',
      reportingController: 'operator.blackroad.io/deploy',
      reportingInstance: 'pod-1',
      action: 'Deploy',
      reason: 'DeploySucceeded',
      note: 'rolled out 1.42',
      type: 'Normal',
      regarding,
    });
    expect((created?.body['metadata'] as { name: string }).name).toMatch(/^api\.[0-9a-f]+$/);
  });

  it('folds repeats into a series: the first repeat is written at once, later ones at most every 30 s', async () => {
    const { client, clock, recorder } = setup();
    await recorder.publish(event());
    await recorder.publish(event());
    expect(client.patches).toHaveLength(1);
    expect(client.patches[0]?.body).toEqual({ series: { count: 2, lastObservedTime: microTime(clock.now()) } });
    for (let i = 0; i < 5; i += 1) {
      clock.advance(1000);
      await recorder.publish(event());
    }
    expect(client.patches).toHaveLength(1);
    clock.advance(25_000);
    await settle();
    expect(client.patches).toHaveLength(2);
    expect(client.patches[1]?.body).toMatchObject({ series: { count: 7 } });
    expect(client.creates).toHaveLength(1);
  });

  it('a hot loop of 10,000 repeats over ten minutes costs one create and about one patch per 30 s', async () => {
    const { client, clock, recorder } = setup();
    for (let i = 0; i < 10_000; i += 1) {
      await recorder.publish(event());
      clock.advance(60);
    }
    await settle();
    expect(client.creates).toHaveLength(1);
    expect(client.patches.length).toBeLessThanOrEqual(22);
    await recorder.flush();
    expect(client.patches.at(-1)?.body).toMatchObject({ series: { count: 10_000 } });
  });

  it('occurrences more than six minutes apart start a new Event', async () => {
    const { client, clock, recorder } = setup();
    await recorder.publish(event());
    clock.advance(360_001);
    await recorder.publish(event());
    expect(client.creates).toHaveLength(2);
    expect(client.patches).toHaveLength(0);
  });

  it('rate-limits new Events per object: 25 at once, then one per five minutes', async () => {
    const { client, clock, recorder } = setup();
    for (let i = 0; i < 30; i += 1) await recorder.publish(event(`attempt ${i}`));
    expect(client.creates).toHaveLength(25);
    expect(recorder.dropped).toBe(5);
    await recorder.publish({ ...event('another object'), regarding: { ...regarding, name: 'web', uid: 'u-2' } });
    expect(client.creates).toHaveLength(26);
    clock.advance(300_000);
    await recorder.publish(event('after the refill'));
    await recorder.publish(event('too soon again'));
    expect(client.creates).toHaveLength(27);
  });

  it('rejects with the API error when the server refuses the Event', async () => {
    const { client, recorder } = setup();
    client.failCreate = apiErrorFromStatus(403, { kind: 'Status', code: 403, reason: 'Forbidden', message: 'events is forbidden' });
    await expect(recorder.publish(event())).rejects.toMatchObject({ code: 403 });
    client.failCreate = undefined;
    await recorder.publish(event());
    expect(client.creates).toHaveLength(1);
    expect(client.patches).toHaveLength(0);
  });

  it('as a manager runnable, writes the counts not yet written when it stops', async () => {
    const { client, recorder, clock } = setup();
    const stop = new AbortController();
    const running = recorder.start(stop.signal);
    await recorder.publish(event());
    await recorder.publish(event());
    clock.advance(1000);
    await recorder.publish(event());
    expect(client.patches).toHaveLength(1);
    stop.abort();
    await running;
    expect(client.patches.at(-1)?.body).toMatchObject({ series: { count: 3 } });
  });

  it('starts a new Event when the series Event has expired on the server', async () => {
    const { client, recorder } = setup();
    await recorder.publish(event());
    client.failPatch = apiErrorFromStatus(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    await recorder.publish(event());
    client.failPatch = undefined;
    await recorder.publish(event());
    expect(client.creates).toHaveLength(2);
  });
});

describe('EventRecorder as the events layer publisher', () => {
  it('publishes the KubeEvent of a domain event through the KubeEventPublisher seam', async () => {
    const { client, recorder } = setup();
    const publisher: KubeEventPublisher = recorder;
    await publisher.publish({ regarding, type: 'Warning', reason: 'RollbackStarted', action: 'Rollback', note: 'health check failed' });
    expect(client.creates[0]?.body).toMatchObject({ type: 'Warning', reason: 'RollbackStarted', action: 'Rollback', regarding });
  });
});

describe('eventReference', () => {
  it('refers to an object by apiVersion, kind, namespace, name and uid', () => {
    expect(eventReference({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', uid: 'u' } })).toEqual({ apiVersion: 'v1', kind: 'Pod', name: 'p', namespace: 'n', uid: 'u' });
    expect(() => eventReference({ metadata: { name: 'p' } })).toThrow(TypeError);
  });
});
