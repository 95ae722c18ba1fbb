// The body of a watch response: event lines queued in order and written a tick's worth at a time, at the reader's pace.
import type { ServerResponse } from 'node:http';

/** The most characters joined into one response write: bounds what one write copies into the socket. */
const SLICE_CHARS = 64 * 1024;

/** Written lines the queue keeps referencing before it drops them from its front (amortizes the splice). */
const COMPACT_AFTER = 4096;

/**
 * A newline-delimited response body fed line by line.
 *
 * Guarantees:
 * - lines reach the response whole and in the order they were pushed;
 * - the lines pushed in one turn of the event loop (a deletecollection, a burst of writes) leave together at
 *   the end of that turn (`process.nextTick`), joined into writes of up to 64 Ki characters, instead of one
 *   socket write each; a single line is no later than it would be written on its own;
 * - while the response does not drain, further lines wait here as the strings the caller passed (one event's
 *   line is shared by every watcher that gets it), so a reader that stops costs one slice copied into its
 *   socket, not a copy of its whole backlog.
 */
export class LineStream {
  readonly #res: ServerResponse;
  #lines: string[] = [];
  /** Index of the first line not yet written. */
  #head = 0;
  #queuedChars = 0;
  #state: 'idle' | 'scheduled' | 'draining' = 'idle';

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** What the reader has not taken yet: characters of queued lines plus bytes the response still holds. */
  get backlog(): number {
    return this.#queuedChars + this.#res.writableLength;
  }

  /** Queues one line (ending in a newline); it is written at the end of this tick or once the response drains. */
  push(line: string): void {
    this.#lines.push(line);
    this.#queuedChars += line.length;
    if (this.#state !== 'idle') return;
    this.#state = 'scheduled';
    process.nextTick(() => this.#flush());
  }

  /** Ends the response; queued lines are written first (`write`) or dropped (`drop`, for a reader too slow to keep). */
  end(queued: 'write' | 'drop'): void {
    const res = this.#res;
    if (queued === 'write' && this.#writable()) while (this.#head < this.#lines.length) res.write(this.#take());
    this.#clear();
    if (!res.writableEnded) res.end();
  }

  #writable(): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded;
  }

  #flush(): void {
    this.#state = 'idle';
    if (!this.#writable()) return this.#clear();
    while (this.#head < this.#lines.length) {
      if (this.#res.write(this.#take())) continue;
      this.#state = 'draining';
      this.#res.once('drain', () => this.#flush());
      return;
    }
  }

  /** The next lines joined, up to {@link SLICE_CHARS} (at least one line). */
  #take(): string {
    const lines = this.#lines;
    const start = this.#head;
    const { end, chars } = sliceOf(lines, start);
    const text = end - start === 1 ? (lines[start] as string) : lines.slice(start, end).join('');
    this.#queuedChars -= chars;
    if (end === lines.length) this.#clear();
    else if (end >= COMPACT_AFTER && end * 2 >= lines.length) {
      lines.splice(0, end);
      this.#head = 0;
    } else this.#head = end;
    return text;
  }

  #clear(): void {
    this.#lines = [];
    this.#head = 0;
    this.#queuedChars = 0;
  }
}

/**
 * Where the slice of `parts` that starts at `start` ends (exclusive) and how many characters it holds: as many
 * parts as fit in {@link SLICE_CHARS}, and at least one. Slices of that size are written as flat strings below
 * V8's large-object size, instead of one string the size of the whole body.
 */
export function sliceOf(parts: readonly string[], start: number): { end: number; chars: number } {
  let end = start + 1;
  let chars = (parts[start] as string).length;
  while (end < parts.length && chars + (parts[end] as string).length <= SLICE_CHARS) chars += (parts[end++] as string).length;
  return { end, chars };
}
