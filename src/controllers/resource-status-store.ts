// The workflow engine's status store over the runtime's status writer: each save is one /status patch of the run and the summary derived from it.
import type { WorkflowStatus } from '../api/status.ts';
import { ConflictError } from '../kube/errors.ts';
import { jsonEqual } from '../runtime/merge-patch.ts';
import type { StatusMutation, StatusWriter, WithStatus } from '../runtime/status-writer.ts';
import type { WorkflowSnapshot, WorkflowStatusStore, WorkflowUnit } from '../workflow/workflow-status-store.ts';

/** Builds the whole new status from the current one (as stored, maybe re-read after a conflict) and the run's snapshot. */
export type ComposeStatus<S> = (current: S | undefined, snapshot: WorkflowSnapshot) => S;

/** Runs before a snapshot is written, with the last one written (or read at the start); a rejection fails the save. */
export type BeforeSave = (previous: WorkflowSnapshot | undefined, next: WorkflowSnapshot) => Promise<void>;

export interface ResourceStatusStoreOptions<T extends WithStatus<S>, S> {
  readonly writer: StatusWriter<S>;
  /** The object as the reconcile read it. */
  readonly object: T;
  readonly compose: ComposeStatus<S>;
  /** The snapshot the object's status held when the reconcile started. */
  readonly persisted?: WorkflowSnapshot | undefined;
  readonly beforeSave?: BeforeSave;
  readonly signal?: AbortSignal;
}

/** The snapshot a status holds: its `workflow` and the unit records the controller keeps elsewhere in it. */
export function snapshotOf(workflow: WorkflowStatus | undefined, units: Readonly<Record<string, readonly WorkflowUnit[]>> = {}): WorkflowSnapshot | undefined {
  return workflow === undefined ? undefined : { workflow, units };
}

/**
 * `status.workflow` as shown: once a run has finished, steps it never reached are `Skipped` rather than
 * `Pending` forever (a finished run is never advanced again, so this changes nothing the engine reads).
 */
export function presentedWorkflow(workflow: WorkflowStatus): WorkflowStatus {
  if (workflow.finishedAt === undefined) return workflow;
  return { ...workflow, steps: workflow.steps.map((step) => (step.state === 'Pending' ? { ...step, state: 'Skipped' } : step)) };
}

/**
 * Persists workflow snapshots of one object during one reconcile.
 *
 * Guarantees:
 * - each save is one merge patch of `/status` (none when nothing changed) built by `compose`, so the phase and
 *   conditions are always those of the steps written with them;
 * - saves chain: each uses the `resourceVersion` the previous one returned; a conflict re-reads the object and
 *   applies `compose` again (the runtime's status writer) only when the status read again is the one this
 *   reconcile started from or last wrote: the conflict came from metadata or spec. A status someone else
 *   changed meanwhile (a reconcile that began from a stale cache, a former leader still finishing) fails the
 *   save with a 409 instead, since the snapshot being written was computed without that change and would undo
 *   it; the reconcile is then retried from what the server holds;
 * - `beforeSave` completes before the write; when it rejects nothing is written and the save rejects.
 *
 * Assumptions: one reconcile of the object at a time (the work queue's guarantee), and the engine's own
 * serialisation of saves (at most one in flight).
 */
export class ResourceStatusStore<T extends WithStatus<S>, S> implements WorkflowStatusStore {
  readonly #options: ResourceStatusStoreOptions<T, S>;
  #object: T;
  #last: WorkflowSnapshot | undefined;

  constructor(options: ResourceStatusStoreOptions<T, S>) {
    this.#options = options;
    this.#object = options.object;
    this.#last = options.persisted;
  }

  /** The object as last written (or as read, before any write). */
  get object(): T {
    return this.#object;
  }

  /** The last snapshot written, or the one read at the start. */
  get lastSnapshot(): WorkflowSnapshot | undefined {
    return this.#last;
  }

  async save(snapshot: WorkflowSnapshot): Promise<void> {
    await this.#options.beforeSave?.(this.#last, snapshot);
    await this.#write((current) => this.#options.compose(current, snapshot));
    this.#last = snapshot;
  }

  /** Writes the status again from the last snapshot, after the controller changed its own fields. */
  async refresh(): Promise<void> {
    const snapshot = this.#last;
    if (snapshot === undefined) throw new Error('no workflow snapshot to write the status from');
    await this.#write((current) => this.#options.compose(current, snapshot));
  }

  /** A status write outside the workflow (suspend, a terminal error before any run). */
  async update(mutate: StatusMutation<S>): Promise<void> {
    await this.#write(mutate);
  }

  async #write(mutate: StatusMutation<S>): Promise<void> {
    const { writer, signal } = this.#options;
    const known = this.#object.status;
    const object = this.#object;
    // The first application is to `known` itself; only a re-read after a 409 can differ from it.
    let reread = false;
    this.#object = await writer.update(
      object,
      (current) => {
        const changed = reread && !jsonEqual(current, known);
        reread = true;
        if (changed) {
          const name = `${object.metadata.namespace ?? ''}/${object.metadata.name ?? ''}`;
          throw new ConflictError(409, 'Conflict', `the status of ${name} was changed by another writer since this reconcile read it; the reconcile starts again from the server's copy`);
        }
        return mutate(current);
      },
      signal === undefined ? {} : { signal },
    );
  }
}
