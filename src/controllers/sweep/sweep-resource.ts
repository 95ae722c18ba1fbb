// The Sweep resource as the controller reads it: its API descriptor, its object type, its spec checked against the schema.
import { formatFieldError } from '../../api/field-error.ts';
import { API_GROUP, API_VERSION, GROUP_VERSION, SWEEP_NAMES } from '../../api/group-version.ts';
import { parseSpec } from '../../api/parse-spec.ts';
import { sweepSpecSchema, type SweepSpec, type SweepStatus } from '../../api/sweep.ts';
import type { KubeObject } from '../../kube/kube-object.ts';
import type { ResourceDescriptor } from '../../kube/resource-descriptor.ts';
import { TerminalError } from '../../runtime/reconciler.ts';
import { INVALID_SPEC } from '../resource-state.ts';
import { isInvalidScheduleError, SweepSchedule } from './sweep-schedule.ts';

export const SWEEPS: ResourceDescriptor = { group: API_GROUP, version: API_VERSION, plural: SWEEP_NAMES.plural, kind: SWEEP_NAMES.kind, namespaced: true };
/** `apiVersion` and `kind` of a Sweep (its TypeMeta). */
export const SWEEP_TYPE = { apiVersion: GROUP_VERSION, kind: SWEEP_NAMES.kind } as const;

/** A Sweep as it comes from the cache: the spec is checked by {@link sweepSpecOf} before use. */
export type SweepObject = KubeObject & { readonly spec?: unknown; readonly status?: SweepStatus };

/**
 * The spec of `object` with the schema's defaults, and its parsed schedule.
 *
 * Errors: a `TerminalError` with reason `InvalidSpec` naming every invalid field. The API server's CRD
 * rejects such specs; this only happens against a cluster whose CRD is older than the operator, or for a
 * schedule the CRD's pattern lets through and cron-parser refuses.
 */
export function sweepSpecOf(object: SweepObject): { readonly spec: SweepSpec; readonly schedule: SweepSchedule | undefined } {
  const parsed = parseSpec(sweepSpecSchema, object.spec);
  if (!parsed.success) throw new TerminalError(`invalid spec: ${parsed.errors.map(formatFieldError).join('; ')}`, { reason: INVALID_SPEC });
  const spec = parsed.spec;
  try {
    return { spec, schedule: spec.schedule === undefined ? undefined : SweepSchedule.parse(spec.schedule) };
  } catch (error) {
    if (isInvalidScheduleError(error)) throw new TerminalError(`invalid spec: spec.schedule: ${error.message}`, { reason: INVALID_SPEC, cause: error });
    throw error;
  }
}
