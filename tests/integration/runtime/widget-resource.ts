// The test-only custom resource the runtime's integration tests reconcile, and its CRD (installed by the cluster harness).
import type { KubeObject } from '../../../src/kube/kube-object.ts';
import type { ResourceDescriptor } from '../../../src/kube/resource-descriptor.ts';

export const widgets: ResourceDescriptor = { group: 'runtime-test.blackroad.io', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };

export interface WidgetStatus {
  observedGeneration?: number;
  reconciledBy?: string;
  conditions?: { type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number }[];
}

export type Widget = KubeObject & { spec?: { size?: number; payload?: string }; status?: WidgetStatus };

/** The Widget CRD, for `startCluster({ crds: [widgetCrd] })`. */
export const widgetCrd = {
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
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

/** A Widget manifest. */
export function widget(namespace: string, name: string, size = 1, payload = ''): Widget {
  return { apiVersion: `${widgets.group}/${widgets.version}`, kind: widgets.kind, metadata: { name, namespace }, spec: { size, payload } };
}
