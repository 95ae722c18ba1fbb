// Which run of a Deploy is current: the generation whose spec started it, and a hash of what it deploys.
import { deploySpecSchema, type DeploySpec } from '../../api/deploy.ts';
import { structuralSchema, type SchemaNode } from '../../api/structural-schema.ts';
import { workflowRunId } from '../../workflow/workflow.ts';
import { runHash, withoutDefaults } from '../without-defaults.ts';

let specSchemaNode: SchemaNode | undefined;

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

/** The Deploy spec's schema as the hash reads it, built on first use. */
function specSchema(): SchemaNode {
  return (specSchemaNode ??= structuralSchema(deploySpecSchema));
}

/**
 * A short hash of what a run does: the whole spec except `suspend`, without the fields that hold their default
 * (`schema`, by default the Deploy spec's own, says which: tests hand a later version's). Toggling `suspend`
 * bumps `metadata.generation` but changes nothing to deploy, so it must not start a new run: resuming carries on
 * with the same run and its idempotency keys, and the provider is not called a second time. Leaving defaults out
 * keeps the hash of an unchanged spec when a later operator adds a field with a default (or the API server's
 * defaulting fills one in): only a value other than the default changes it.
 */
export function deploySpecHash(spec: DeploySpec, schema: SchemaNode = specSchema()): string {
  const { suspend: _suspend, ...work } = spec;
  return runHash(withoutDefaults(work, schema));
}

/** The hash run labels had before {@link deploySpecHash} left defaults out (the spec as parsed, except `suspend`). */
function defaultsAppliedHash(spec: DeploySpec): string {
  const { suspend: _suspend, ...work } = spec;
  return runHash(work);
}

/**
 * The run a reconcile drives: the one `status.workflow.id` names when it deploys the same spec, else a new run of
 * the current generation. The same spec is the same generation (the API server bumps it with every change of the
 * spec, whatever an operator's hash of it says; an id without a hash, from an earlier operator, is only ever
 * matched so), or a later generation that changed only `suspend`: the same hash, or, for a run labelled before
 * hashes left defaults out, the same hash in that form.
 */
export function deployRunOf(uid: string, generation: number, spec: DeploySpec, workflowId: string | undefined): DeployRunIdentity {
  const hash = deploySpecHash(spec);
  const [owner, stored, label, ...rest] = (workflowId ?? '').split('/');
  if (owner === uid && stored !== undefined && /^\d+$/.test(stored) && rest.length === 0) {
    if (Number(stored) === generation) return { generation, label };
    if (label !== undefined && (label === hash || label === defaultsAppliedHash(spec))) return { generation: Number(stored), label };
  }
  return { generation, label: hash };
}

/** The engine's run id of a Deploy's run. */
export function deployRunId(uid: string, run: DeployRunIdentity): string {
  return workflowRunId({ uid, generation: run.generation }, run.label);
}
