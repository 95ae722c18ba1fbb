// Typed views of the operator's rendered Deployment, shared by the manifest tests.
import { theOne, type Manifest } from '../support/kustomize.ts';

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly fieldRef?: { readonly fieldPath: string };
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
  };
}

export interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly privileged?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly capabilities?: { readonly drop?: string[]; readonly add?: string[] };
  readonly seccompProfile?: { readonly type: string };
  readonly procMount?: string;
  readonly seLinuxOptions?: { readonly type?: string; readonly user?: string; readonly role?: string };
  readonly appArmorProfile?: { readonly type: string };
  readonly windowsOptions?: { readonly hostProcess?: boolean };
  readonly sysctls?: unknown[];
}

export interface Probe {
  readonly httpGet?: { readonly path: string; readonly port: string | number };
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly ports?: { readonly name: string; readonly containerPort: number; readonly hostPort?: number }[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  readonly securityContext?: SecurityContext;
  readonly volumeMounts?: { readonly name: string; readonly mountPath: string }[];
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly securityContext?: SecurityContext;
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly ephemeralContainers?: Container[];
  readonly volumes?: ({ readonly name: string } & Record<string, unknown>)[];
}

export interface Deployment extends Manifest {
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly template: { readonly metadata: { readonly labels: Record<string, string> }; readonly spec: PodSpec };
  };
}

/** The operator's Deployment in a rendered overlay. */
export function operatorDeployment(manifests: readonly Manifest[]): Deployment {
  return theOne(manifests, 'Deployment', 'blackroad-os-operator') as Deployment;
}

/** The operator's container (the Deployment's only one). */
export function operatorContainer(manifests: readonly Manifest[]): Container {
  const containers = operatorDeployment(manifests).spec.template.spec.containers;
  if (containers.length !== 1 || containers[0] === undefined) throw new Error(`expected one container, found ${containers.length}`);
  return containers[0];
}

/** The container's environment by name. */
export function envOf(container: Container): Map<string, EnvVar> {
  return new Map((container.env ?? []).map((variable) => [variable.name, variable]));
}
