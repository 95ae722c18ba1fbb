// The kinds this API serves, looked up by apiVersion and kind.
import { DEPLOY_KIND } from './deploy.ts';
import type { KindDefinition } from './kind-definition.ts';
import { GROUP_VERSION } from './group-version.ts';
import { SWEEP_KIND } from './sweep.ts';

export const KINDS: readonly KindDefinition[] = [DEPLOY_KIND, SWEEP_KIND];

/** The kind an object of this API names, or undefined when `apiVersion`/`kind` are not ours. */
export function findKind(apiVersion: unknown, kind: unknown): KindDefinition | undefined {
  if (apiVersion !== GROUP_VERSION) return undefined;
  return KINDS.find((candidate) => candidate.names.kind === kind);
}
