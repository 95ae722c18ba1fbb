// Discovery documents: legacy (/api, /apis, APIResourceList) and aggregated (apidiscovery.k8s.io/v2), as kubectl 1.32 asks.
import type { Json, JsonObject } from './json.ts';
import type { ResourceRegistry } from './resource-registry.ts';
import type { ResourceType } from './resource-type.ts';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
const AGGREGATED_V2BETA1_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList';

/** Which aggregated discovery form the Accept header asks for first, if any. */
export function aggregatedDiscoveryVersion(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (accept === undefined) return undefined;
  for (const part of accept.split(',')) {
    const clause = part.replace(/\s+/g, '');
    if (!clause.includes('as=APIGroupDiscoveryList') || !clause.includes('g=apidiscovery.k8s.io')) continue;
    if (clause.includes('v=v2beta1')) return 'v2beta1';
    if (clause.includes('v=v2')) return 'v2';
  }
  return undefined;
}

/** The Content-Type of an aggregated discovery answer of that version. */
export function aggregatedContentType(version: 'v2' | 'v2beta1'): string {
  return version === 'v2' ? AGGREGATED_CONTENT_TYPE : AGGREGATED_V2BETA1_CONTENT_TYPE;
}

/** `GET /api` without aggregated discovery: the core group's versions and the server address. */
export function apiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupVersion(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

function groupEntry(name: string, versions: readonly string[], preferred: string): JsonObject {
  return {
    name,
    versions: versions.map((version) => ({ groupVersion: groupVersion(name, version), version })),
    preferredVersion: { groupVersion: groupVersion(name, preferred), version: preferred },
  };
}

/** `GET /apis` without aggregated discovery: every named group with its versions. */
export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().filter((g) => g.name !== '').map((g) => groupEntry(g.name, g.versions, g.preferredVersion)) };
}

/** `GET /apis/<group>`, or undefined for a group nothing serves. */
export function apiGroup(registry: ResourceRegistry, name: string): JsonObject | undefined {
  const found = registry.groups().find((g) => g.name === name && name !== '');
  return found === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(found.name, found.versions, found.preferredVersion) };
}

/** The APIResourceList of a group version, or undefined when nothing is served there. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): JsonObject | undefined {
  const types = registry.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  const resources: Json[] = [];
  for (const type of types) {
    const entry: JsonObject = { name: type.plural, singularName: type.singular, namespaced: type.namespaced, kind: type.kind, verbs: [...type.verbs] };
    if (type.shortNames.length > 0) entry['shortNames'] = [...type.shortNames];
    if (type.categories.length > 0) entry['categories'] = [...type.categories];
    if (type.storageVersionHash !== undefined) entry['storageVersionHash'] = type.storageVersionHash;
    resources.push(entry);
    for (const sub of type.subresources) {
      const subEntry: JsonObject = { name: `${type.plural}/${sub.name}`, singularName: '', namespaced: type.namespaced };
      if (sub.group !== undefined) subEntry['group'] = sub.group;
      if (sub.version !== undefined) subEntry['version'] = sub.version;
      subEntry['kind'] = sub.kind ?? type.kind;
      subEntry['verbs'] = [...sub.verbs];
      resources.push(subEntry);
    }
  }
  const list: JsonObject = { kind: 'APIResourceList' };
  if (group !== '') list['apiVersion'] = 'v1';
  list['groupVersion'] = groupVersion(group, version);
  list['resources'] = resources;
  return list;
}

function responseKind(type: ResourceType, kind: string, group?: string, version?: string): JsonObject {
  if (group !== undefined) return { group, version: version ?? '', kind };
  return type.builtin ? { group: '', version: '', kind } : { group: type.group, version: type.version, kind };
}

function discoveryResource(type: ResourceType): JsonObject {
  const entry: JsonObject = {
    resource: type.plural,
    responseKind: responseKind(type, type.kind),
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: [...type.verbs],
  };
  if (type.shortNames.length > 0) entry['shortNames'] = [...type.shortNames];
  if (type.categories.length > 0) entry['categories'] = [...type.categories];
  if (type.subresources.length > 0) {
    entry['subresources'] = type.subresources.map((sub) => ({ subresource: sub.name, responseKind: responseKind(type, sub.kind ?? type.kind, sub.group, sub.version), verbs: [...sub.verbs] }));
  }
  return entry;
}

/** The aggregated discovery list of the core group (`legacy`) or of every named group. */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean, version: 'v2' | 'v2beta1'): JsonObject {
  const items = registry
    .groups()
    .filter((g) => (g.name === '') === legacy)
    .map((g) => ({
      metadata: legacy ? { creationTimestamp: null } : { name: g.name, creationTimestamp: null },
      versions: g.versions.map((v) => ({ version: v, resources: registry.resourcesOf(g.name, v).map(discoveryResource), freshness: 'Current' })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}
