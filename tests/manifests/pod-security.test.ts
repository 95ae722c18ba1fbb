import { describe, expect, it } from 'vitest';
import { probeKubectl, renderKustomization, theOne } from '../support/kustomize.ts';
import { operatorContainer, operatorDeployment, type Container, type PodSpec, type SecurityContext } from './operator-workload.ts';

/** Volume types the restricted profile allows. */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);

/**
 * The checks of the Pod Security Standards' baseline and restricted profiles (v1.32) on a pod spec; each
 * violation described. A container passes a check set at pod level unless it overrides it.
 */
function restrictedViolations(pod: PodSpec): string[] {
  const problems: string[] = [];
  const podContext: SecurityContext = pod.securityContext ?? {};
  if (pod.hostNetwork === true || pod.hostPID === true || pod.hostIPC === true) problems.push('shares a host namespace');
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((key) => key !== 'name') ?? 'unknown';
    if (!RESTRICTED_VOLUMES.has(type)) problems.push(`volume ${volume.name} is of type ${type}`);
  }
  for (const sysctl of (podContext.sysctls ?? []) as { name: string }[]) {
    if (!SAFE_SYSCTLS.has(sysctl.name)) problems.push(`sets the unsafe sysctl ${sysctl.name}`);
  }
  const containers: Container[] = [...pod.containers, ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  for (const container of containers) {
    const own: SecurityContext = container.securityContext ?? {};
    const effective = { ...podContext, ...own };
    const where = `container ${container.name}`;
    if (own.privileged === true) problems.push(`${where} is privileged`);
    if (effective.windowsOptions?.hostProcess === true) problems.push(`${where} is a Windows host process`);
    if (own.allowPrivilegeEscalation !== false) problems.push(`${where} does not set allowPrivilegeEscalation: false`);
    if (effective.runAsNonRoot !== true) problems.push(`${where} does not set runAsNonRoot: true`);
    if (effective.runAsUser === 0) problems.push(`${where} runs as UID 0`);
    const seccomp = effective.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${where} has seccomp profile ${String(seccomp)}`);
    if (!(own.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where} does not drop ALL capabilities`);
    for (const added of own.capabilities?.add ?? []) if (added !== 'NET_BIND_SERVICE') problems.push(`${where} adds the capability ${added}`);
    if (own.procMount !== undefined && own.procMount !== 'Default') problems.push(`${where} has procMount ${own.procMount}`);
    const apparmor = effective.appArmorProfile?.type;
    if (apparmor !== undefined && apparmor !== 'RuntimeDefault' && apparmor !== 'Localhost') problems.push(`${where} has AppArmor profile ${apparmor}`);
    if (effective.seLinuxOptions?.user !== undefined || effective.seLinuxOptions?.role !== undefined) problems.push(`${where} sets an SELinux user or role`);
    for (const port of container.ports ?? []) if ((port.hostPort ?? 0) !== 0) problems.push(`${where} uses host port ${port.hostPort}`);
  }
  return problems;
}

const kubectl = probeKubectl('Pod Security of the rendered overlays');

describe('the restricted-profile checker', () => {
  it('reports what a privileged, root, host-mounting pod violates', () => {
    const pod: PodSpec = {
      hostNetwork: true,
      volumes: [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }],
      containers: [{ name: 'bad', image: 'x', securityContext: { privileged: true, runAsUser: 0, capabilities: { add: ['SYS_ADMIN'] } }, ports: [{ name: 'p', containerPort: 80, hostPort: 80 }] }],
    };
    expect(restrictedViolations(pod)).toEqual([
      'shares a host namespace',
      'volume docker is of type hostPath',
      'container bad is privileged',
      'container bad does not set allowPrivilegeEscalation: false',
      'container bad does not set runAsNonRoot: true',
      'container bad runs as UID 0',
      'container bad has seccomp profile undefined',
      'container bad does not drop ALL capabilities',
      'container bad adds the capability SYS_ADMIN',
      'container bad uses host port 80',
    ]);
  });
});

describe.skipIf(!kubectl.available)('Pod Security of the operator', () => {
  for (const folder of ['manifests/overlays/dev', 'manifests/overlays/prod']) {
    describe(folder, () => {
      const manifests = () => renderKustomization(folder);

      it('passes the restricted profile', () => {
        expect(restrictedViolations(operatorDeployment(manifests()).spec.template.spec)).toEqual([]);
      });

      it('runs as UID and GID 65532 on a read-only root filesystem, writing only to an emptyDir /tmp', () => {
        const pod = operatorDeployment(manifests()).spec.template.spec;
        const container = operatorContainer(manifests());
        expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
        expect(container.securityContext).toMatchObject({ runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
        expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
        expect(pod.serviceAccountName).toBe('blackroad-os-operator');
      });

      it('labels its namespace so admission enforces the restricted profile', () => {
        const namespace = theOne(manifests(), 'Namespace', 'blackroad-system');
        expect(namespace.metadata.labels).toMatchObject({
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        });
      });
    });
  }
});
