// A fixed-capacity ring buffer of the most recent domain events, searchable by sequence (SSE resume reads it).
import type { DomainEvent } from './event-sink.ts';

/**
 * Keeps the last `capacity` events in emission order; pushing onto a full buffer evicts the oldest.
 *
 * Assumptions: events are pushed in increasing `sequence` order (the bus guarantees it), which makes
 * {@link EventBuffer.since} a binary search.
 */
export class EventBuffer {
  readonly capacity: number;
  readonly #slots: (DomainEvent | undefined)[];
  #start = 0;
  #size = 0;
  #evictedThrough = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`buffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#slots = new Array<DomainEvent | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(event: DomainEvent): void {
    if (this.#size < this.capacity) {
      this.#slots[(this.#start + this.#size) % this.capacity] = event;
      this.#size += 1;
      return;
    }
    this.#evictedThrough = this.#at(0).sequence;
    this.#slots[this.#start] = event;
    this.#start = (this.#start + 1) % this.capacity;
  }

  /** The sequence of the newest event pushed out of the buffer, or 0 while nothing has been. */
  evictedThrough(): number {
    return this.#evictedThrough;
  }

  /** The oldest event still held, if any. */
  oldest(): DomainEvent | undefined {
    return this.#size === 0 ? undefined : this.#at(0);
  }

  /** The newest event, if any. */
  newest(): DomainEvent | undefined {
    return this.#size === 0 ? undefined : this.#at(this.#size - 1);
  }

  /** Every held event whose sequence is greater than `sequence`, oldest first. */
  since(sequence: number): DomainEvent[] {
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#at(middle).sequence <= sequence) low = middle + 1;
      else high = middle;
    }
    const out: DomainEvent[] = [];
    for (let index = low; index < this.#size; index += 1) out.push(this.#at(index));
    return out;
  }

  /** Every held event, oldest first. */
  toArray(): DomainEvent[] {
    return this.since(Number.NEGATIVE_INFINITY);
  }

  #at(index: number): DomainEvent {
    return this.#slots[(this.#start + index) % this.capacity] as DomainEvent;
  }
}
