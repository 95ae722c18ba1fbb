import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { isNotFound } from '../../../src/kube/errors.ts';
import { finalizer } from '../../../src/runtime/finalizer.ts';
import { Action, TerminalError } from '../../../src/runtime/reconciler.ts';
import { eventually, runtimeSuite, waitConverged } from './operator-under-test.ts';
import { widget, widgets, type Widget } from './widget-resource.ts';

const suite = runtimeSuite('runtime-controller');

function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('controller runtime against the API server', () => {
  it('converges 1,000 objects and never reconciles one key concurrently', async () => {
    const operator = await suite.startConverged('many', 1000, { workers: 8 });
    expect(operator.overlaps).toBe(0);
    const families = await operator.metrics();
    const success = families.get('controller_runtime_reconcile_total')?.samples.find((s) => s.labels['result'] === 'success')?.value ?? 0;
    expect(success).toBeGreaterThanOrEqual(1000);
  }, 90_000);

  it('an update made during a reconcile causes exactly one more reconcile, with the newest generation', async () => {
    const name = 'updated-during';
    const key = `${suite.cluster.namespace}/${name}`;
    await suite.cluster.request('POST', `/apis/${widgets.group}/${widgets.version}/namespaces/${suite.cluster.namespace}/${widgets.plural}`, { body: widget(suite.cluster.namespace, name) });
    const running = await suite.start();
    const blocked = gate();
    running.behaviour = async (object, context, self) => {
      if (context.key === key && (running.reconciles.get(key)?.length ?? 0) === 1) await blocked.wait;
      await self.stamp(object, context);
      return Action.done();
    };
    await eventually(() => running.active.has(key), 10_000, 'first reconcile');
    for (const size of [2, 3, 4]) await running.client.patch(widgets, name, { spec: { size } }, { namespace: suite.cluster.namespace });
    await eventually(() => running.manager.reflector<Widget>(widgets).store.get(key)?.metadata.generation === 4, 10_000, 'cache at generation 4');
    blocked.open();
    await eventually(() => (running.reconciles.get(key)?.length ?? 0) === 2, 10_000, 'second reconcile');
    await delay(500);
    expect(running.reconciles.get(key)).toEqual([1, 4]);
    expect(running.overlaps).toBe(0);
    await waitConverged(running.client, suite.cluster.namespace, 1);
  });

  it('a deletion during a reconcile runs the finalizer cleanup once and lets the object go', async () => {
    const name = 'deleted-during';
    const key = `${suite.cluster.namespace}/${name}`;
    const finalizerName = 'runtime-test.blackroad.io/cleanup';
    const running = await suite.start();
    const blocked = gate();
    const cleanups: string[] = [];
    running.behaviour = (object, context, self) =>
      finalizer(running.client, widgets, finalizerName, object, {
        apply: async (current) => {
          if (context.key === key && (running.reconciles.get(key)?.length ?? 0) === 1) await blocked.wait;
          try {
            await self.stamp(current as Widget, context);
          } catch (error) {
            // A stale copy (the object was deleted meanwhile) is retried with the fresh one.
            if (!isNotFound(error)) throw error;
          }
          return Action.done();
        },
        cleanup: (current) => {
          cleanups.push(current.metadata.name ?? '');
          return Promise.resolve(Action.done());
        },
      });
    await running.client.create(widgets, widget(suite.cluster.namespace, name));
    await eventually(() => running.active.has(key), 10_000, 'first reconcile');
    await eventually(async () => ((await running.client.get<Widget>(widgets, name, { namespace: suite.cluster.namespace })).metadata.finalizers ?? []).includes(finalizerName), 10_000, 'finalizer added');
    await running.client.delete(widgets, name, { namespace: suite.cluster.namespace });
    blocked.open();
    await eventually(
      async () => {
        try {
          await running.client.get(widgets, name, { namespace: suite.cluster.namespace });
          return false;
        } catch (error) {
          return isNotFound(error);
        }
      },
      15_000,
      'object gone',
    );
    expect(cleanups).toEqual([name]);
    expect(running.overlaps).toBe(0);
  });

  it('a resync of converged objects reconciles them all and writes nothing', async () => {
    const running = await suite.startConverged('resync', 50, { resyncPeriodMs: 2_000 });
    const patches = async (): Promise<number> => (await running.metrics()).get('rest_client_requests_total')?.samples.filter((s) => s.labels['method'] === 'PATCH').reduce((sum, s) => sum + s.value, 0) ?? 0;
    await delay(300);
    const before = await patches();
    const counts = new Map([...running.reconciles].map(([key, seen]) => [key, seen.length]));
    await eventually(() => [...counts].every(([key, count]) => (running.reconciles.get(key)?.length ?? 0) > count), 10_000, 'a resync of every object');
    expect(await patches()).toBe(before);
  });
});

describe('status after a terminal error', () => {
  it('sets Stalled=True through the status subresource and does not retry', async () => {
    const name = 'terminal';
    const running = await suite.start();
    running.behaviour = (object) => Promise.reject(new TerminalError(`widget ${object.metadata.name ?? ''} can never work`, { reason: 'InvalidSpec' }));
    await running.client.create(widgets, widget(suite.cluster.namespace, name));
    const key = `${suite.cluster.namespace}/${name}`;
    await eventually(async () => {
      const current = await running.client.get<Widget & { status?: { conditions?: { type: string; status: string; reason: string }[] } }>(widgets, name, { namespace: suite.cluster.namespace });
      return current.status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True' && c.reason === 'InvalidSpec') === true;
    }, 10_000, 'Stalled condition');
    await delay(300);
    expect(running.reconciles.get(key)).toHaveLength(1);
  });
});
