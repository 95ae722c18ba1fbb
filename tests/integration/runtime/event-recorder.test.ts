import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinResources, KubeClient, type KubeObject } from '../../../src/kube/client.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { systemClock } from '../../../src/resilience/clock.ts';
import { eventReference, EventRecorder } from '../../../src/runtime/event-recorder.ts';
import { startCluster, type ClusterHarness } from '../../support/cluster.ts';
import { widget, widgetCrd, widgets, type Widget } from './widget-resource.ts';

type Event = KubeObject & { reason?: string; note?: string; type?: string; regarding?: { name?: string; uid?: string }; series?: { count?: number }; reportingController?: string };

let cluster: ClusterHarness;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startCluster({ suite: 'runtime-events', crds: [widgetCrd] });
  client = KubeClient.fromFile(cluster.kubeconfigPath);
});
afterAll(async () => {
  client.close();
  await cluster.stop();
});

describe('EventRecorder against the API server', () => {
  it('writes an events.k8s.io/v1 Event on the object and folds repeats into its series', async () => {
    const object = await client.create<Widget>(widgets, widget(cluster.namespace, 'noisy'));
    const recorder = new EventRecorder({ client, clock: systemClock, logger: createLogger({ level: 'silent' }), reportingController: 'runtime-test.blackroad.io/widget', reportingInstance: 'test-1' });
    const occurrence = { regarding: eventReference(object), type: 'Warning' as const, reason: 'ProbeFailed', action: 'Probe', note: 'the probe answered 503' };
    await recorder.publish(occurrence);
    await recorder.publish(occurrence);
    await recorder.publish(occurrence);
    await recorder.flush();
    const events = (await client.list<Event>(builtinResources.events, { namespace: cluster.namespace })).items.filter((event) => event.regarding?.uid === object.metadata.uid);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ reason: 'ProbeFailed', note: 'the probe answered 503', type: 'Warning', reportingController: 'runtime-test.blackroad.io/widget', regarding: { name: 'noisy' }, series: { count: 3 } });
  });
});
