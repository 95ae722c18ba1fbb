// The test-only custom resource the runtime's integration tests reconcile, and how to install its CRD on any cluster.
import { setTimeout as delay } from 'node:timers/promises';
import type { KubeClient } from '../../../src/kube/client.ts';
import { isAlreadyExists } from '../../../src/kube/errors.ts';
import type { KubeObject } from '../../../src/kube/kube-object.ts';
import { builtinResources, type ResourceDescriptor } from '../../../src/kube/resource-descriptor.ts';

export const widgets: ResourceDescriptor = { group: 'runtime-test.blackroad.io', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };

export interface WidgetStatus {
  observedGeneration?: number;
  reconciledBy?: string;
  reconciles?: number;
}

export type Widget = KubeObject & { spec?: { size?: number; payload?: string }; status?: WidgetStatus };

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${widgets.plural}.${widgets.group}` },
  spec: {
    group: widgets.group,
    names: { plural: widgets.plural, singular: 'widget', kind: widgets.kind, listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: widgets.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' }, payload: { type: 'string' } } },
              status: { type: 'object', properties: { observedGeneration: { type: 'integer' }, reconciledBy: { type: 'string' }, reconciles: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};

/** Creates the Widget CRD (if missing) and waits until it is Established and served. */
export async function installWidgetCrd(client: KubeClient): Promise<void> {
  try {
    await client.create(builtinResources.customResourceDefinitions, crd as KubeObject);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const current = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(builtinResources.customResourceDefinitions, crd.metadata.name);
    const established = current.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True') === true;
    if (established) {
      try {
        await client.list(widgets, { namespace: 'default', limit: 1 });
        return;
      } catch {
        // Established but not served yet: discovery lags a little on real clusters.
      }
    }
    await delay(50);
  }
  throw new Error('the Widget CRD never became Established');
}

/** A Widget manifest. */
export function widget(namespace: string, name: string, size = 1, payload = ''): Widget {
  return { apiVersion: `${widgets.group}/${widgets.version}`, kind: widgets.kind, metadata: { name, namespace }, spec: { size, payload } };
}
