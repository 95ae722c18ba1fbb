// The names of the operator's API: group, version, kinds, plurals and the annotations users write.

export const API_GROUP = 'operator.blackroad.io';
export const API_VERSION = 'v1alpha1';
/** `apiVersion` of every object of this API. */
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
/** `kubectl get blackroad` lists every kind of this API. */
export const API_CATEGORY = 'blackroad';

/** The names a kind is known by, as a CRD's `spec.names` spells them. */
export interface ResourceNames {
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
}

/**
 * `Deploy`. Note that `kubectl get deploy` means apps/v1 Deployments (their short name wins);
 * use `kubectl get deploys`, `brd` or `deploys.operator.blackroad.io`.
 */
export const DEPLOY_NAMES = {
  kind: 'Deploy',
  listKind: 'DeployList',
  plural: 'deploys',
  singular: 'deploy',
  shortNames: ['brd'],
} as const satisfies ResourceNames;

export const SWEEP_NAMES = {
  kind: 'Sweep',
  listKind: 'SweepList',
  plural: 'sweeps',
  singular: 'sweep',
  shortNames: ['brs'],
} as const satisfies ResourceNames;

/** Set on a Deploy that requires approval to let its `deploy` step run; the value names who approved. */
export const APPROVED_BY_ANNOTATION = `${API_GROUP}/approved-by`;
