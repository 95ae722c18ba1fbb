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

  async save(): Promise<void> {
    const target = ++this.#wanted;
    while (this.#durable < target) {
      if (this.#inFlight !== undefined) {
        await this.#inFlight;
        continue;
      }
      const version = this.#wanted;
      this.#inFlight = this.#store
        .save(structuredClone(this.#read()))
        .then(() => {
          this.#durable = Math.max(this.#durable, version);
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
      await this.#inFlight;
    }
  }
}
