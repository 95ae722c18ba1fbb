// The Deploy resource as the controller reads it: its API descriptor, its object type, its spec checked against the schema.
import { deploySpecSchema, type DeploySpec, type DeployStatus } from '../../api/deploy.ts';
import { formatFieldError } from '../../api/field-error.ts';
import { API_GROUP, API_VERSION, DEPLOY_NAMES, GROUP_VERSION } from '../../api/group-version.ts';
import { parseSpec } from '../../api/parse-spec.ts';
import type { KubeObject } from '../../kube/kube-object.ts';
import type { ResourceDescriptor } from '../../kube/resource-descriptor.ts';
import { TerminalError } from '../../runtime/reconciler.ts';
import { INVALID_SPEC } from '../resource-state.ts';

export const DEPLOYS: ResourceDescriptor = { group: API_GROUP, version: API_VERSION, plural: DEPLOY_NAMES.plural, kind: DEPLOY_NAMES.kind, namespaced: true };
export const DEPLOY_KIND = { apiVersion: GROUP_VERSION, kind: DEPLOY_NAMES.kind } as const;

/** A Deploy as it comes from the cache: the spec is checked by {@link deploySpecOf} before use. */
export type DeployObject = KubeObject & { readonly spec?: unknown; readonly status?: DeployStatus };

/**
 * The spec of `object`, with the schema's defaults.
 *
 * Errors: a `TerminalError` with reason `InvalidSpec` naming every invalid field. The API server's CRD
 * rejects such specs; this only happens against a cluster whose CRD is older than the operator.
 */
export function deploySpecOf(object: DeployObject): DeploySpec {
  const parsed = parseSpec(deploySpecSchema, object.spec);
  if (parsed.success) return parsed.spec;
  throw new TerminalError(`invalid spec: ${parsed.errors.map(formatFieldError).join('; ')}`, { reason: INVALID_SPEC });
}
