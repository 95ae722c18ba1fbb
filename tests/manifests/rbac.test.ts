import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { probeKubectl, renderKustomization, REPO_ROOT, theOne, type Manifest } from '../support/kustomize.ts';

interface PolicyRule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly resourceNames?: string[];
  readonly nonResourceURLs?: string[];
  readonly verbs: string[];
}
type RoleManifest = Manifest & { readonly rules: PolicyRule[] };
type BindingManifest = Manifest & { readonly roleRef: { kind: string; name: string }; readonly subjects: { kind: string; name: string; namespace?: string }[] };

/**
 * The API calls the operator makes (ADR 008), as "group/resource verb" for the ClusterRole. A change here is a
 * change to what the operator does, and to the ADR.
 */
const OPERATOR_CLUSTER_PERMISSIONS = [
  'operator.blackroad.io/deploys get',
  'operator.blackroad.io/deploys list',
  'operator.blackroad.io/deploys watch',
  'operator.blackroad.io/deploys patch',
  'operator.blackroad.io/sweeps get',
  'operator.blackroad.io/sweeps list',
  'operator.blackroad.io/sweeps watch',
  'operator.blackroad.io/sweeps patch',
  'operator.blackroad.io/deploys/status get',
  'operator.blackroad.io/deploys/status patch',
  'operator.blackroad.io/sweeps/status get',
  'operator.blackroad.io/sweeps/status patch',
  'operator.blackroad.io/deploys/finalizers update',
  'operator.blackroad.io/sweeps/finalizers update',
  'apps/deployments get',
  'apps/deployments patch',
  'apps/deployments update',
  'batch/jobs create',
  'batch/jobs get',
  'batch/jobs list',
  'batch/jobs watch',
  'batch/jobs delete',
  'core/secrets get',
  'events.k8s.io/events create',
  'events.k8s.io/events patch',
];
const LEADER_ELECTION_PERMISSIONS = ['coordination.k8s.io/leases get', 'coordination.k8s.io/leases create', 'coordination.k8s.io/leases update'];
const METRICS_AUTH_PERMISSIONS = ['authentication.k8s.io/tokenreviews create', 'authorization.k8s.io/subjectaccessreviews create'];
/** Verbs that let a holder grant itself more than it has. */
const ESCALATING_VERBS = ['escalate', 'bind', 'impersonate'];

/** Flattens rules to "group/resource verb" (core group as "core"; non-resource URLs as "url:/path verb"). */
function permissions(rules: readonly PolicyRule[]): string[] {
  return rules.flatMap((rule) => [
    ...(rule.apiGroups ?? []).flatMap((group) => (rule.resources ?? []).flatMap((resource) => rule.verbs.map((verb) => `${group === '' ? 'core' : group}/${resource} ${verb}`))),
    ...(rule.nonResourceURLs ?? []).flatMap((url) => rule.verbs.map((verb) => `url:${url} ${verb}`)),
  ]);
}

/** Every wildcard or escalating verb in a rule, described; empty when the rule is clean. */
function ruleProblems(rule: PolicyRule): string[] {
  const fields = ['apiGroups', 'resources', 'resourceNames', 'nonResourceURLs', 'verbs'] as const;
  const wildcards = fields.flatMap((field) => (rule[field] ?? []).filter((value) => value.includes('*')).map((value) => `${field} has the wildcard ${JSON.stringify(value)}`));
  return [...wildcards, ...rule.verbs.filter((verb) => ESCALATING_VERBS.includes(verb)).map((verb) => `verbs has the escalating verb ${verb}`)];
}

function yamlFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const RULE_KINDS = new Set(['Role', 'ClusterRole']);
const kubectl = probeKubectl('RBAC of the rendered overlays');

describe('RBAC in manifests/', () => {
  it('flags a wildcard in any field of a rule, and the escalating verbs', () => {
    expect(ruleProblems({ apiGroups: ['*'], resources: ['deploys'], verbs: ['get'] })).toHaveLength(1);
    expect(ruleProblems({ apiGroups: [''], resources: ['pods/*'], verbs: ['get'] })).toHaveLength(1);
    expect(ruleProblems({ nonResourceURLs: ['/metrics*'], verbs: ['*'] })).toHaveLength(2);
    expect(ruleProblems({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind', 'escalate'] })).toHaveLength(2);
    expect(ruleProblems({ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] })).toEqual([]);
  });

  it('has no wildcard and no escalating verb in any Role or ClusterRole of any file under manifests/', () => {
    const roles = yamlFiles(join(REPO_ROOT, 'manifests')).flatMap((path) =>
      parseAllDocuments(readFileSync(path, 'utf8'))
        .map((document) => document.toJS() as Partial<RoleManifest> | null)
        .filter((manifest): manifest is RoleManifest => manifest !== null && RULE_KINDS.has(manifest.kind ?? ''))
        .map((role) => ({ where: `${relative(REPO_ROOT, path)}: ${role.kind}/${role.metadata.name}`, role })),
    );
    expect(roles.length).toBeGreaterThanOrEqual(4);
    for (const { where, role } of roles) {
      expect(role.rules.length, where).toBeGreaterThan(0);
      expect(role.rules.flatMap(ruleProblems), where).toEqual([]);
    }
  });
});

describe.skipIf(!kubectl.available)('the rendered RBAC', () => {
  for (const folder of ['manifests/overlays/dev', 'manifests/overlays/prod']) {
    describe(folder, () => {
      const manifests = () => renderKustomization(folder);

      it('grants the operator exactly the API calls it makes, cluster-wide', () => {
        const role = theOne(manifests(), 'ClusterRole', 'blackroad-os-operator') as RoleManifest;
        const granted = permissions(role.rules);
        expect(new Set(granted).size, 'a permission is granted twice').toBe(granted.length);
        expect([...granted].sort()).toEqual([...OPERATOR_CLUSTER_PERMISSIONS].sort());
      });

      it('never lets the operator list or watch Secrets', () => {
        const granted = manifests()
          .filter((manifest) => RULE_KINDS.has(manifest.kind))
          .flatMap((role) => permissions((role as RoleManifest).rules))
          .filter((permission) => permission.startsWith('core/secrets '));
        expect(granted).toEqual(['core/secrets get']);
      });

      it('grants Leases only in blackroad-system, through the leader-election Role', () => {
        const role = theOne(manifests(), 'Role', 'blackroad-os-operator-leader-election') as RoleManifest;
        expect(role.metadata.namespace).toBe('blackroad-system');
        expect([...permissions(role.rules)].sort()).toEqual([...LEADER_ELECTION_PERMISSIONS].sort());
        const clusterWide = manifests()
          .filter((manifest) => manifest.kind === 'ClusterRole')
          .flatMap((clusterRole) => permissions((clusterRole as RoleManifest).rules));
        expect(clusterWide.filter((permission) => permission.startsWith('coordination.k8s.io/'))).toEqual([]);
      });

      it("binds every role it ships to the operator's ServiceAccount, except the scrapers' metrics-reader", () => {
        const bindings = manifests().filter((manifest) => manifest.kind === 'RoleBinding' || manifest.kind === 'ClusterRoleBinding') as BindingManifest[];
        const shipped = manifests().filter((manifest) => RULE_KINDS.has(manifest.kind));
        for (const binding of bindings) {
          expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'blackroad-os-operator', namespace: 'blackroad-system' }]);
          expect(shipped.some((role) => role.kind === binding.roleRef.kind && role.metadata.name === binding.roleRef.name), binding.metadata.name).toBe(true);
        }
        const bound = new Set(bindings.map((binding) => `${binding.roleRef.kind}/${binding.roleRef.name}`));
        expect(shipped.map((role) => `${role.kind}/${role.metadata.name}`).filter((role) => !bound.has(role))).toEqual(
          folder.endsWith('prod') ? ['ClusterRole/blackroad-os-operator-metrics-reader'] : [],
        );
      });
    });
  }

  it('prod lets the operator create TokenReviews and SubjectAccessReviews, and scrapers GET /metrics', () => {
    const manifests = renderKustomization('manifests/overlays/prod');
    const auth = theOne(manifests, 'ClusterRole', 'blackroad-os-operator-metrics-auth') as RoleManifest;
    expect([...permissions(auth.rules)].sort()).toEqual([...METRICS_AUTH_PERMISSIONS].sort());
    const reader = theOne(manifests, 'ClusterRole', 'blackroad-os-operator-metrics-reader') as RoleManifest;
    expect(permissions(reader.rules)).toEqual(['url:/metrics get']);
  });

  it('monitoring binds the metrics-reader ClusterRole, and only it, to Prometheus', () => {
    const binding = theOne(renderKustomization('manifests/monitoring'), 'ClusterRoleBinding') as BindingManifest;
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'blackroad-os-operator-metrics-reader' });
    expect(binding.subjects.map((subject) => subject.kind)).toEqual(['ServiceAccount']);
  });
});
