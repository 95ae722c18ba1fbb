// Names a Kubernetes resource type (group, version, plural, kind, scope) and builds its REST paths.

/** What the client needs to know about a resource type to address it over REST. */
export interface ResourceDescriptor {
  /** API group; `''` for the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in paths (`deploys`, `leases`). */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(resource: ResourceDescriptor): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** A short human name for logs and metrics labels: `deploys.operator.blackroad.io`, `leases.coordination.k8s.io`, `pods`. */
export function resourceName(resource: ResourceDescriptor): string {
  return resource.group === '' ? resource.plural : `${resource.plural}.${resource.group}`;
}

function groupVersionPath(resource: ResourceDescriptor): string {
  return resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
}

/**
 * The collection path: `/apis/g/v/namespaces/ns/plural`, or `/apis/g/v/plural` for cluster-scoped resources and
 * for namespaced ones listed across all namespaces (`namespace` undefined or empty).
 */
export function collectionPath(resource: ResourceDescriptor, namespace?: string): string {
  const scope = resource.namespaced && namespace !== undefined && namespace !== '' ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(resource)}${scope}/${resource.plural}`;
}

/** The path of one object, optionally of one of its subresources (`status`). A namespaced resource needs its namespace. */
export function objectPath(resource: ResourceDescriptor, name: string, namespace?: string, subresource?: string): string {
  if (name === '') throw new TypeError(`an object of ${resourceName(resource)} needs a name`);
  if (resource.namespaced && (namespace === undefined || namespace === '')) {
    throw new TypeError(`${resourceName(resource)} is namespaced: "${name}" needs a namespace`);
  }
  const tail = subresource === undefined ? '' : `/${subresource}`;
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}${tail}`;
}

/** Built-in resource types the runtime itself reads and writes. */
export const builtinResources = {
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  customResourceDefinitions: { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
} as const satisfies Record<string, ResourceDescriptor>;
