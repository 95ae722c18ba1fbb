// Saves a run's snapshot after each transition, one save at a time, coalescing transitions that happen during a save.
import type { WorkflowSnapshot, WorkflowStatusStore } from './workflow-status-store.ts';

/**
 * Serialises saves of a changing snapshot.
 *
 * Guarantees: when `save()` resolves, a snapshot at least as new as the state at the moment it was
 * called is durable; at most one save is in flight; transitions made while a save is in flight are
 * written together by the next one. A failed save rejects every caller waiting on it.
 */
export class Checkpoint {
  readonly #store: WorkflowStatusStore;
  readonly #read: () => WorkflowSnapshot;
  /** Bumped by every save() call: the state version the caller wants durable. */
  #wanted = 0;
  #durable = 0;
  #inFlight: Promise<void> | undefined;

  constructor(store: WorkflowStatusStore, read: () => WorkflowSnapshot) {
    this.#store = store;
    this.#read = read;
  }

  /** Makes the current state durable: {@link mark}, then {@link flush}. */
  save(): Promise<void> {
    return this.flush(this.mark());
  }

  /**
   * Notes that the state changed; the version returned is durable once {@link flush} of it resolves. Changes made
   * between the mark and the flush (synchronously, before the write starts) are written with it.
   */
  mark(): number {
    this.#wanted += 1;
    return this.#wanted;
  }

  /** Resolves once a snapshot at least as new as `version` is durable, writing one if none in flight covers it. */
  async flush(version: number): Promise<void> {
    while (this.#durable < version) {
      if (this.#inFlight !== undefined) {
        await this.#inFlight;
        continue;
      }
      const writing = this.#wanted;
      this.#inFlight = this.#store
        .save(structuredClone(this.#read()))
        .then(() => {
          this.#durable = Math.max(this.#durable, writing);
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
      await this.#inFlight;
    }
  }
}
