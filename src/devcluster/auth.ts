// Authentication (anonymous or static bearer tokens) and RBAC authorization evaluated from the stored roles and bindings.
import { randomBytes, randomUUID } from 'node:crypto';
import { isObject, type Json, type JsonObject } from './json.ts';
import { qualifiedResource, StatusError } from './status-error.ts';

/** Who made a request. */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** A static bearer token and the identity it stands for. */
export interface StaticToken {
  readonly token: string;
  readonly user: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

export interface AuthSettings {
  /** Bearer tokens accepted; with none configured, every request is anonymous. */
  readonly tokens?: readonly StaticToken[];
  /** Evaluate RBAC; off means every request is allowed (kube's AlwaysAllow). */
  readonly rbac?: boolean;
}

/** What a request asks to do, as RBAC sees it. */
export type RequestAttributes =
  | { readonly kind: 'resource'; readonly verb: string; readonly group: string; readonly resource: string; readonly subresource: string; readonly namespace: string; readonly name: string }
  | { readonly kind: 'path'; readonly verb: string; readonly path: string };

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/** The identity of a ServiceAccount, with the groups kube-apiserver gives it. */
export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return { username: `system:serviceaccount:${namespace}:${name}`, ...(uid === undefined ? {} : { uid }), groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

/** Maps bearer tokens to users. Tokens issued at run time (TokenRequest) are added with {@link Authenticator.issue}. */
export class Authenticator {
  readonly #tokens = new Map<string, UserInfo>();
  #configured: boolean;

  constructor(tokens: readonly StaticToken[] = []) {
    this.#configured = tokens.length > 0;
    for (const entry of tokens) {
      const groups = entry.groups ?? [];
      const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(entry.user);
      const user: UserInfo =
        sa !== null && entry.groups === undefined
          ? serviceAccountUser(sa[1] as string, sa[2] as string, entry.uid)
          : { username: entry.user, ...(entry.uid === undefined ? {} : { uid: entry.uid }), groups: groups.includes('system:authenticated') ? groups : [...groups, 'system:authenticated'] };
      this.#tokens.set(entry.token, user);
    }
  }

  /** Issues a random token for `user` (a ServiceAccount's TokenRequest). */
  issue(user: UserInfo): string {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, { ...user, extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${randomUUID()}`] } });
    this.#configured = true;
    return token;
  }

  /** The user of a token, or undefined for an unknown one. */
  lookup(token: string): UserInfo | undefined {
    return this.#tokens.get(token);
  }

  /** The request's user; throws 401 for a bearer token that is not known (when tokens are configured). */
  authenticate(authorization: string | undefined): UserInfo {
    if (authorization === undefined || !this.#configured) return ANONYMOUS;
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (match === null) return ANONYMOUS;
    const user = this.#tokens.get(match[1] as string);
    if (user === undefined) throw new StatusError(401, 'Unauthorized', 'Unauthorized');
    return user;
  }
}

interface Rule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly nonResourceURLs: readonly string[];
}

interface Binding {
  readonly namespace: string | undefined;
  readonly roleKind: string;
  readonly roleName: string;
  readonly subjects: readonly { kind: string; name: string; namespace: string }[];
}

const strings = (value: Json | undefined): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

function rulesOf(role: JsonObject): Rule[] {
  const rules = role['rules'];
  if (!Array.isArray(rules)) return [];
  return rules.filter(isObject).map((rule) => ({
    verbs: strings(rule['verbs']),
    apiGroups: strings(rule['apiGroups']),
    resources: strings(rule['resources']),
    resourceNames: strings(rule['resourceNames']),
    nonResourceURLs: strings(rule['nonResourceURLs']),
  }));
}

function ruleAllows(rule: Rule, attributes: RequestAttributes): boolean {
  if (!rule.verbs.includes('*') && !rule.verbs.includes(attributes.verb)) return false;
  if (attributes.kind === 'path') {
    return rule.nonResourceURLs.some((url) => url === '*' || url === attributes.path || (url.endsWith('*') && attributes.path.startsWith(url.slice(0, -1))));
  }
  if (!rule.apiGroups.includes('*') && !rule.apiGroups.includes(attributes.group)) return false;
  const combined = attributes.subresource === '' ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  const resourceMatches = rule.resources.some((resource) => resource === '*' || resource === combined || (attributes.subresource !== '' && resource === `*/${attributes.subresource}`));
  if (!resourceMatches) return false;
  return rule.resourceNames.length === 0 || (attributes.name !== '' && rule.resourceNames.includes(attributes.name));
}

function subjectMatches(subject: Binding['subjects'][number], user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount':
      return user.username === `system:serviceaccount:${subject.namespace || bindingNamespace || ''}:${subject.name}`;
    default:
      return false;
  }
}

/** The stored RBAC objects the authorizer reads; supplied by the server from its store. */
export interface RbacSource {
  clusterRoles(): JsonObject[];
  roles(namespace: string): JsonObject[];
  clusterRoleBindings(): JsonObject[];
  roleBindings(namespace: string): JsonObject[];
}

/** kube-apiserver's RBAC: the union of what every matching binding's role allows; no deny rules. */
export class RbacAuthorizer {
  readonly #source: RbacSource;

  constructor(source: RbacSource) {
    this.#source = source;
  }

  #binding(obj: JsonObject, namespace: string | undefined): Binding {
    const roleRef = isObject(obj['roleRef']) ? obj['roleRef'] : {};
    const subjects = Array.isArray(obj['subjects']) ? obj['subjects'].filter(isObject) : [];
    return {
      namespace,
      roleKind: String(roleRef['kind'] ?? ''),
      roleName: String(roleRef['name'] ?? ''),
      subjects: subjects.map((s) => ({ kind: String(s['kind'] ?? ''), name: String(s['name'] ?? ''), namespace: String(s['namespace'] ?? '') })),
    };
  }

  /** Whether `user` may do what `attributes` describe. */
  allows(user: UserInfo, attributes: RequestAttributes): boolean {
    if (user.groups.includes('system:masters')) return true;
    const clusterRoles = new Map(this.#source.clusterRoles().map((role) => [String((role['metadata'] as JsonObject | undefined)?.['name'] ?? ''), role]));
    const check = (role: JsonObject | undefined): boolean => role !== undefined && rulesOf(role).some((rule) => ruleAllows(rule, attributes));
    for (const obj of this.#source.clusterRoleBindings()) {
      const binding = this.#binding(obj, undefined);
      if (binding.roleKind !== 'ClusterRole' || !binding.subjects.some((s) => subjectMatches(s, user, undefined))) continue;
      if (check(clusterRoles.get(binding.roleName))) return true;
    }
    if (attributes.kind === 'resource' && attributes.namespace !== '') {
      const roles = new Map(this.#source.roles(attributes.namespace).map((role) => [String((role['metadata'] as JsonObject | undefined)?.['name'] ?? ''), role]));
      for (const obj of this.#source.roleBindings(attributes.namespace)) {
        const binding = this.#binding(obj, attributes.namespace);
        if (!binding.subjects.some((s) => subjectMatches(s, user, attributes.namespace))) continue;
        if (check(binding.roleKind === 'Role' ? roles.get(binding.roleName) : clusterRoles.get(binding.roleName))) return true;
      }
    }
    return false;
  }
}

/** The 403 Status kube-apiserver answers when RBAC refuses a request. */
export function forbidden(user: UserInfo, attributes: RequestAttributes): StatusError {
  if (attributes.kind === 'path') {
    return new StatusError(403, 'Forbidden', `forbidden: User "${user.username}" cannot ${attributes.verb} path "${attributes.path}"`, {});
  }
  const resource = attributes.subresource === '' ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  const subject = qualifiedResource(attributes.group, attributes.resource) + (attributes.name === '' ? '' : ` "${attributes.name}"`);
  const scope = attributes.namespace === '' ? 'at the cluster scope' : `in the namespace "${attributes.namespace}"`;
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: User "${user.username}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`, {
    ...(attributes.name === '' ? {} : { name: attributes.name }),
    ...(attributes.group === '' ? {} : { group: attributes.group }),
    kind: attributes.resource,
  });
}

const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'];

/** kube-apiserver's bootstrap RBAC objects the devcluster creates at start. */
export function bootstrapRbac(): { clusterRoles: JsonObject[]; clusterRoleBindings: JsonObject[] } {
  const role = (name: string, rules: JsonObject[]): JsonObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    rules,
  });
  const binding = (name: string, roleName: string, groups: string[]): JsonObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' }, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
    subjects: groups.map((group) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group })),
  });
  return {
    clusterRoles: [
      role('cluster-admin', [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ]),
      role('system:discovery', [{ verbs: ['get'], nonResourceURLs: DISCOVERY_URLS }]),
      role('system:basic-user', [
        { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
        { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
      ]),
      role('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }]),
    ],
    clusterRoleBindings: [
      binding('cluster-admin', 'cluster-admin', ['system:masters']),
      binding('system:discovery', 'system:discovery', ['system:authenticated']),
      binding('system:basic-user', 'system:basic-user', ['system:authenticated']),
      binding('system:public-info-viewer', 'system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']),
    ],
  };
}
