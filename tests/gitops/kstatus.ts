// kstatus's rules for a custom resource (sigs.k8s.io/cli-utils pkg/kstatus), the status kubectl-wait-style tools compute.

export type KstatusStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'Unknown';

interface ConditionLike {
  readonly type?: unknown;
  readonly status?: unknown;
}

interface ResourceLike {
  readonly metadata?: { readonly generation?: number; readonly deletionTimestamp?: string };
  readonly status?: { readonly observedGeneration?: number; readonly conditions?: readonly ConditionLike[] };
}

/**
 * The kstatus status of a custom resource, which has no type-specific rules: deletion first, then a status
 * older than the spec, then the first of Reconciling=True (InProgress) or Stalled=True (Failed) in the
 * condition list; a resource with neither is Current, with or without a Ready condition.
 */
export function kstatusOf(resource: ResourceLike): KstatusStatus {
  if (resource.metadata?.deletionTimestamp !== undefined && resource.metadata.deletionTimestamp !== '') return 'Terminating';
  const generation = resource.metadata?.generation;
  const observed = resource.status?.observedGeneration;
  if (generation !== undefined && observed !== undefined && observed !== generation) return 'InProgress';
  for (const condition of resource.status?.conditions ?? []) {
    if (condition.type === 'Reconciling' && condition.status === 'True') return 'InProgress';
    if (condition.type === 'Stalled' && condition.status === 'True') return 'Failed';
  }
  return 'Current';
}
