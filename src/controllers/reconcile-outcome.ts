// What the runtime does after a reconcile that ran a workflow: requeue while it runs, stop when it finished, no retry when it failed.
import { Action, TerminalError } from '../runtime/reconciler.ts';
import type { RunResult } from '../workflow/workflow-engine.ts';
import type { WorkflowSnapshot } from '../workflow/workflow-status-store.ts';
import type { ResourceState } from './resource-state.ts';

/** Whether the run in `result` finished during this reconcile (it had not finished in the snapshot read at the start). */
export function finishedNow(before: WorkflowSnapshot | undefined, result: RunResult): boolean {
  if (result.state === 'running') return false;
  return before === undefined || before.workflow.id !== result.snapshot.workflow.id || before.workflow.finishedAt === undefined;
}

/**
 * The runtime's decision after a workflow reconcile:
 * - running: requeue when its earliest step is due (at least 1 ms: the runtime reads 0 as done);
 * - finished: done; a watch event or the resync brings the next reconcile;
 * - failed during this reconcile: throws a {@link TerminalError} with the state's reason and message, so the
 *   runtime counts a terminal error and does not retry (the status, Stalled included, is written already).
 */
export function outcomeAction(before: WorkflowSnapshot | undefined, result: RunResult, state: ResourceState): Action {
  if (result.state === 'running') return Action.requeueAfter(Math.max(1, result.requeueAfterMs));
  if (result.state === 'failed' && finishedNow(before, result)) throw new TerminalError(state.message, { reason: state.reason });
  return Action.done();
}
