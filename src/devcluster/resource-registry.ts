// The resources the server serves right now: built-ins, access reviews, and whatever the stored CRDs define.
import { builtinResources } from './builtin-resources.ts';
import { crdResourceType } from './crd.ts';
import { apiVersionOf, type ResourceType } from './resource-type.ts';

function review(group: string, kind: string, plural: string, namespaced = false): ResourceType {
  return {
    group,
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: [],
    categories: [],
    verbs: ['create'],
    subresources: [],
    statusSubresource: false,
    storage: `${group}/${plural}`,
    builtin: true,
    hasGeneration: false,
    invalidKind: { kind, group },
    strategy: {},
    virtual: true,
  };
}

/** Groups in the order kube-apiserver lists them; custom groups follow, sorted. */
const GROUP_ORDER = ['', 'apps', 'events.k8s.io', 'authentication.k8s.io', 'authorization.k8s.io', 'batch', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io', 'coordination.k8s.io'];

export interface ServedGroup {
  readonly name: string;
  readonly versions: readonly string[];
  readonly preferredVersion: string;
}

/**
 * Lookup of served resources by (group, version, plural), updated as CRDs come and go.
 * Guarantees: a CRD's types are served from the moment `setCrd` returns until `removeCrd`.
 */
export class ResourceRegistry {
  readonly #fixed: ResourceType[];
  readonly #custom = new Map<string, ResourceType[]>();
  readonly #index = new Map<string, ResourceType>();
  #generation = 0;

  constructor() {
    this.#fixed = [
      ...builtinResources(),
      crdResourceType,
      review('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
      review('authentication.k8s.io', 'TokenReview', 'tokenreviews'),
      review('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
      review('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
      review('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
      review('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews'),
    ];
    this.#reindex();
  }

  /** Changes each time the set of served resources changes (discovery and OpenAPI caches key on it). */
  get generation(): number {
    return this.#generation;
  }

  #reindex(): void {
    this.#index.clear();
    for (const type of this.all()) this.#index.set(`${type.group}/${type.version}/${type.plural}`, type);
    this.#generation++;
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#index.get(`${group}/${version}/${plural}`);
  }

  /** The served type that stores objects of `kind` in `apiVersion` (owner references, access reviews). */
  findKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.all().find((type) => apiVersionOf(type) === apiVersion && type.kind === kind);
  }

  /** Every type whose objects live in `storage` (core and events.k8s.io Events share one). */
  byStorage(storage: string): ResourceType[] {
    return this.all().filter((type) => type.storage === storage);
  }

  all(): ResourceType[] {
    return [...this.#fixed, ...[...this.#custom.values()].flat()];
  }

  setCrd(name: string, types: ResourceType[]): void {
    this.#custom.set(name, types);
    this.#reindex();
  }

  removeCrd(name: string): void {
    if (this.#custom.delete(name)) this.#reindex();
  }

  /** Resources of one group version, in discovery order (sorted by plural). */
  resourcesOf(group: string, version: string): ResourceType[] {
    return this.all()
      .filter((type) => type.group === group && type.version === version)
      .sort((a, b) => (a.plural < b.plural ? -1 : a.plural > b.plural ? 1 : 0));
  }

  /** Served groups (the core group first), each with its versions. */
  groups(): ServedGroup[] {
    const versions = new Map<string, string[]>();
    for (const type of this.all()) {
      const list = versions.get(type.group) ?? [];
      if (!list.includes(type.version)) list.push(type.version);
      versions.set(type.group, list);
    }
    const rank = (group: string): number => {
      const index = GROUP_ORDER.indexOf(group);
      return index < 0 ? GROUP_ORDER.length : index;
    };
    return [...versions.entries()]
      .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, list]) => ({ name, versions: list, preferredVersion: list[0] as string }));
  }
}
