import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, OPTIONS } from '../../src/config/config.ts';
import { probeKubectl, renderKustomization, REPO_ROOT, theOne, type Manifest } from '../support/kustomize.ts';
import { documentedResources, OPERATIONS_DOC } from './operations-doc.ts';
import { envOf, operatorContainer, operatorDeployment } from './operator-workload.ts';

/** What each kustomization under manifests/ renders, as sorted "Kind/name" entries. */
const OPERATOR = [
  'ClusterRole/blackroad-os-operator',
  'ClusterRoleBinding/blackroad-os-operator',
  'CustomResourceDefinition/deploys.operator.blackroad.io',
  'CustomResourceDefinition/sweeps.operator.blackroad.io',
  'Deployment/blackroad-os-operator',
  'Namespace/blackroad-system',
  'Role/blackroad-os-operator-leader-election',
  'RoleBinding/blackroad-os-operator-leader-election',
  'Service/blackroad-os-operator-metrics',
  'ServiceAccount/blackroad-os-operator',
];
const EXPECTED: Record<string, string[]> = {
  'manifests/crds': ['CustomResourceDefinition/deploys.operator.blackroad.io', 'CustomResourceDefinition/sweeps.operator.blackroad.io'],
  'manifests/base': OPERATOR,
  'manifests/overlays/dev': OPERATOR,
  'manifests/overlays/prod': [
    ...OPERATOR,
    'ClusterRole/blackroad-os-operator-metrics-auth',
    'ClusterRole/blackroad-os-operator-metrics-reader',
    'ClusterRoleBinding/blackroad-os-operator-metrics-auth',
    'PodDisruptionBudget/blackroad-os-operator',
  ],
  'manifests/monitoring': ['ClusterRoleBinding/blackroad-os-operator-metrics-reader', 'PrometheusRule/blackroad-os-operator', 'ServiceMonitor/blackroad-os-operator'],
  'manifests/grafana': ['ConfigMap/blackroad-os-operator-dashboard'],
  'manifests/gitops/argocd': ['Application/blackroad-os-operator'],
  'manifests/gitops/argocd-health': ['ConfigMap/argocd-cm'],
  'manifests/gitops/flux': ['GitRepository/blackroad-os-operator', 'Kustomization/blackroad-os-operator', 'Kustomization/blackroad-workloads'],
};
const INSTALLS = ['manifests/overlays/dev', 'manifests/overlays/prod'];

function kustomizationFolders(folder: string): string[] {
  const here = readdirSync(folder).includes('kustomization.yaml') ? [relative(REPO_ROOT, folder)] : [];
  const below = readdirSync(folder)
    .map((name) => join(folder, name))
    .filter((path) => statSync(path).isDirectory())
    .flatMap(kustomizationFolders);
  return [...here, ...below];
}

const kinds = (manifests: readonly Manifest[]) => manifests.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`).sort();
const kubectl = probeKubectl('manifests/ rendering');

describe('manifests/ layout', () => {
  it('has an expectation in this test for every kustomization under manifests/', () => {
    expect(kustomizationFolders(join(REPO_ROOT, 'manifests')).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('keeps manifests/crds an exact copy of crds/ (run `npm run crds:generate` when this fails)', () => {
    const generated = readdirSync(join(REPO_ROOT, 'crds')).sort();
    const listed = (parse(readFileSync(join(REPO_ROOT, 'manifests/crds/kustomization.yaml'), 'utf8')) as { resources: string[] }).resources;
    expect([...listed].sort()).toEqual(generated);
    for (const file of generated) {
      expect(readFileSync(join(REPO_ROOT, 'manifests/crds', file), 'utf8'), `manifests/crds/${file} is stale`).toBe(readFileSync(join(REPO_ROOT, 'crds', file), 'utf8'));
    }
  });
});

describe.skipIf(!kubectl.available)('kubectl kustomize', () => {
  for (const [folder, expected] of Object.entries(EXPECTED)) {
    it(`renders ${folder} into exactly ${expected.length} objects of the expected kinds`, () => {
      expect(kinds(renderKustomization(folder))).toEqual([...expected].sort());
    });
  }

  for (const folder of INSTALLS) {
    describe(folder, () => {
      const manifests = () => renderKustomization(folder);

      it('puts every namespaced object in blackroad-system', () => {
        const clusterScoped = new Set(['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding']);
        for (const manifest of manifests().filter((candidate) => !clusterScoped.has(candidate.kind))) {
          expect(manifest.metadata.namespace, `${manifest.kind}/${manifest.metadata.name}`).toBe('blackroad-system');
        }
      });

      it('runs `run` from the image tagged with the package version', () => {
        const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
        const container = operatorContainer(manifests());
        expect(container.image).toBe(`ghcr.io/blackroad-os/blackroad-os-operator:${version}`);
        expect(container.args).toEqual(['run']);
      });

      it("sets only environment variables the operator's configuration knows, with values it accepts", () => {
        const known = new Set(Object.values(OPTIONS).map((option) => option.env));
        const env = envOf(operatorContainer(manifests()));
        for (const name of env.keys()) expect(known, `${name} is not a setting of src/config/config.ts`).toContain(name);
        // What the kubelet would fill in for fieldRefs and secretKeyRefs.
        const resolved = Object.fromEntries(
          [...env.values()].map((variable) => {
            const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
            if (fieldPath === 'metadata.name') return [variable.name, 'blackroad-os-operator-7c9d8-x2k4p'];
            if (fieldPath === 'metadata.namespace') return [variable.name, 'blackroad-system'];
            if (variable.valueFrom?.secretKeyRef !== undefined) return [variable.name, 'rediss://:password@redis.blackroad-system.svc:6380/0'];
            return [variable.name, variable.value ?? ''];
          }),
        );
        expect(() => loadConfig([], resolved)).not.toThrow();
      });

      it('takes the Lease namespace and the identity from the downward API', () => {
        const env = envOf(operatorContainer(manifests()));
        expect(env.get('LEADER_ELECTION_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
        expect(env.get('POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      });

      it('serves probes and metrics on the ports the configuration binds, and the Service selects the pods', () => {
        const container = operatorContainer(manifests());
        const config = loadConfig([], { METRICS_BIND_ADDRESS: envOf(container).get('METRICS_BIND_ADDRESS')?.value ?? '', HEALTH_PROBE_BIND_ADDRESS: envOf(container).get('HEALTH_PROBE_BIND_ADDRESS')?.value ?? '' });
        const ports = new Map((container.ports ?? []).map((port) => [port.name, port.containerPort]));
        expect(ports.get('metrics')).toBe(config.metricsAddr?.port);
        expect(ports.get('health')).toBe(config.probeAddr?.port);
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'health' });
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'health' });

        const service = theOne(manifests(), 'Service') as Manifest & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } };
        const podLabels = operatorDeployment(manifests()).spec.template.metadata.labels;
        expect(podLabels).toMatchObject(service.spec.selector);
        expect(service.spec.ports.map((port) => port.targetPort)).toEqual(['metrics']);
      });

      it(`requests and is limited to the CPU and memory of the sizing table in ${OPERATIONS_DOC}`, () => {
        expect(operatorContainer(manifests()).resources).toEqual(documentedResources());
      });
    });
  }

  it('dev runs one replica with debug logs and without leader election', () => {
    const manifests = renderKustomization('manifests/overlays/dev');
    const env = envOf(operatorContainer(manifests));
    expect(operatorDeployment(manifests).spec.replicas).toBe(1);
    expect(env.get('LOG_LEVEL')?.value).toBe('debug');
    expect(env.get('LEADER_ELECT')?.value).toBe('false');
    expect(env.has('REDIS_URL')).toBe(false);
  });

  it('prod runs two leader-elected replicas, a PodDisruptionBudget, Redis from a Secret and secure metrics', () => {
    const manifests = renderKustomization('manifests/overlays/prod');
    const deployment = operatorDeployment(manifests);
    const env = envOf(operatorContainer(manifests));
    expect(deployment.spec.replicas).toBe(2);
    expect(env.get('LEADER_ELECT')?.value).toBe('true');
    expect(env.get('METRICS_SECURE')?.value).toBe('true');
    // The URL may hold a password: it comes from a Secret, never from a literal in the manifest.
    expect(env.get('REDIS_URL')).toEqual({ name: 'REDIS_URL', valueFrom: { secretKeyRef: { name: 'blackroad-os-operator-redis', key: 'url' } } });

    const budget = theOne(manifests, 'PodDisruptionBudget') as Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    expect(budget.spec.minAvailable).toBe(1);
    expect(budget.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  });
});
