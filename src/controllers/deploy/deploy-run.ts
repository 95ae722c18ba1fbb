// Which run of a Deploy is current: the generation whose spec started it, and a hash of what it deploys.
import { createHash } from 'node:crypto';
import type { DeploySpec } from '../../api/deploy.ts';
import { canonicalJson } from '../../events/canonical-json.ts';
import { workflowRunId } from '../../workflow/workflow.ts';

const SPEC_HASH_LENGTH = 10;

/**
 * One run of a Deploy. Its engine run id is `<uid>/<generation>/<label>` (`status.workflow.id`, the correlation id,
 * and part of every idempotency key), where `label` is {@link deploySpecHash} of the spec that started it.
 */
export interface DeployRunIdentity {
  /** The `metadata.generation` whose spec started the run; it stays the run's while only `suspend` changes. */
  readonly generation: number;
  /** Undefined for a run an earlier operator started under `<uid>/<generation>`; it carries on under that id. */
  readonly label: string | undefined;
}

/**
 * A short hash of what a run does: the whole spec except `suspend`. Toggling `suspend` bumps
 * `metadata.generation` but changes nothing to deploy, so it must not start a new run: resuming carries on with
 * the same run and its idempotency keys, and the provider is not called a second time.
 */
export function deploySpecHash(spec: DeploySpec): string {
  const { suspend: _suspend, ...work } = spec;
  return createHash('sha256').update(canonicalJson(work), 'utf8').digest('hex').slice(0, SPEC_HASH_LENGTH);
}

/**
 * The run a reconcile drives: the one `status.workflow.id` names when it deploys the same spec (the same hash; or
 * the same generation, for an id without a hash), else a new run of the current generation.
 */
export function deployRunOf(uid: string, generation: number, spec: DeploySpec, workflowId: string | undefined): DeployRunIdentity {
  const hash = deploySpecHash(spec);
  const [owner, stored, label, ...rest] = (workflowId ?? '').split('/');
  if (owner === uid && stored !== undefined && /^\d+$/.test(stored) && rest.length === 0) {
    if (label === hash) return { generation: Number(stored), label };
    if (label === undefined && Number(stored) === generation) return { generation, label: undefined };
  }
  return { generation, label: hash };
}

/** The engine's run id of a Deploy's run. */
export function deployRunId(uid: string, run: DeployRunIdentity): string {
  return workflowRunId({ uid, generation: run.generation }, run.label);
}
