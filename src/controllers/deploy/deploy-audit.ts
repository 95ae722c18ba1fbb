// The audit trail of a compliance-sensitive Deploy: one hash-chained record per step transition, written before the status shows it.
import type { AuditEntry, AuditLog } from '../../events/audit-log.ts';
import type { ResourceRef } from '../../events/resource-ref.ts';
import type { WorkflowSnapshot } from '../../workflow/workflow-status-store.ts';
import type { BeforeSave } from '../resource-status-store.ts';

export interface AuditedRun {
  readonly resource: ResourceRef;
  readonly generation: number;
  /** The operator replica: the actor of automatic transitions. */
  readonly actor: string;
  /** Flat facts every record of the run carries (version, provider). */
  readonly details: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The records a save adds to the trail: the run's start (a new run id), each step whose state or attempt
 * changed (polls of a waiting step are not transitions), and the run's end.
 */
export function auditEntries(run: AuditedRun, previous: WorkflowSnapshot | undefined, next: WorkflowSnapshot): AuditEntry[] {
  const sameRun = previous?.workflow.id === next.workflow.id;
  const base = { resource: run.resource, actor: run.actor, generation: run.generation, correlationId: next.workflow.id };
  const entries: AuditEntry[] = [];
  if (!sameRun) entries.push({ ...base, action: 'workflow.started', outcome: 'Started', message: `steps: ${next.workflow.steps.map((step) => step.name).join(', ')}`, details: run.details });
  for (const step of next.workflow.steps) {
    const before = sameRun ? previous.workflow.steps.find((entry) => entry.name === step.name) : undefined;
    if (before === undefined && step.state === 'Pending' && step.attempts === 0) continue;
    if (before !== undefined && before.state === step.state && before.attempts === step.attempts) continue;
    entries.push({
      ...base,
      action: `step.${step.name}`,
      step: step.name,
      outcome: step.state,
      ...(step.message === undefined ? {} : { message: step.message }),
      details: { ...run.details, attempt: step.attempts },
    });
  }
  if (next.workflow.finishedAt !== undefined && !(sameRun && previous.workflow.finishedAt !== undefined)) {
    const failed = next.workflow.steps.some((step) => step.state === 'Failed');
    entries.push({ ...base, action: 'workflow.finished', outcome: failed ? 'Failed' : 'Succeeded', details: run.details });
  }
  return entries;
}

/**
 * A `beforeSave` hook that appends the save's records to the Deploy's audit chain, one after the other.
 *
 * Guarantees: the status never shows a transition whose record is not stored (a failed append fails the
 * save, and the reconcile retries). A crash between an append and the status write repeats that record on
 * the retry: the trail is at least once.
 */
export function auditTrail(audit: AuditLog, run: AuditedRun): BeforeSave {
  return async (previous, next) => {
    for (const entry of auditEntries(run, previous, next)) await audit.append(entry);
  };
}
