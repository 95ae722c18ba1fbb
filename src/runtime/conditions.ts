// kstatus conditions: set one without touching lastTransitionTime unless its status changes.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** The runtime's structural view of a condition (api/status.ts has the zod schema; they are kept compatible). */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime: string;
  readonly observedGeneration?: number;
}

export type ConditionUpdate = Omit<Condition, 'lastTransitionTime'>;

/** A Kubernetes timestamp (RFC 3339, whole seconds, UTC) of `epochMs`. */
export function kubeTime(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Condition reasons are CamelCase identifiers; anything else is turned into one. */
export function conditionReason(raw: string): string {
  const cleaned = raw.replace(/[^A-Za-z0-9_,:]/g, '');
  const reason = /^[A-Za-z]/.test(cleaned) ? cleaned : `R${cleaned}`;
  return reason.replace(/[,:]+$/, '').slice(0, 1024) || 'Unknown';
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/**
 * The conditions with `update` applied: added, or replaced in place. `lastTransitionTime` is `nowMs` when the
 * condition is new or its status changed, and kept otherwise, so setting the same condition again is a no-op.
 */
export function setCondition(conditions: readonly Condition[] | undefined, update: ConditionUpdate, nowMs: number): Condition[] {
  const existing = findCondition(conditions, update.type);
  const lastTransitionTime = existing !== undefined && existing.status === update.status ? existing.lastTransitionTime : kubeTime(nowMs);
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime,
    ...(update.observedGeneration === undefined ? {} : { observedGeneration: update.observedGeneration }),
  };
  const list = conditions ?? [];
  return existing === undefined ? [...list, next] : list.map((condition) => (condition.type === update.type ? next : condition));
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}
