// A Server-Sent Events client for tests: reads a real HTTP response and parses it as the WHATWG event-stream algorithm says.

export interface SseMessage {
  /** The last event id in effect when the message was dispatched. */
  readonly lastEventId: string;
  readonly event: string;
  readonly data: string;
}

type Waiter = { readonly count: number; readonly resolve: () => void };

/**
 * Connects with `fetch`, then parses the body incrementally: lines end in CRLF, LF or CR; `:` starts a
 * comment; `data` lines are joined with LF; a blank line dispatches; an `id` containing NUL is ignored;
 * `retry` takes digits only; a leading BOM is dropped.
 */
export class SseReader {
  readonly status: number;
  readonly headers: Headers;
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  retryMs: number | undefined;
  /** Resolves when the server ends the stream (or the reader is closed). */
  readonly ended: Promise<void>;
  readonly #controller: AbortController;
  readonly #waiters: Waiter[] = [];
  #buffer = '';
  #data = '';
  #event = '';
  #lastEventId = '';
  #started = false;

  private constructor(response: Response, controller: AbortController) {
    this.status = response.status;
    this.headers = response.headers;
    this.#controller = controller;
    this.ended = this.#pump(response);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    return new SseReader(response, controller);
  }

  /** Resolves once `count` messages have arrived in total; rejects after `timeoutMs` of real time. */
  async waitFor(count: number, timeoutMs = 5_000): Promise<SseMessage[]> {
    if (this.messages.length < count) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push({ count, resolve })),
        new Promise<void>((_resolve, reject) => {
          timer = setTimeout(() => reject(new Error(`only ${this.messages.length} of ${count} SSE messages arrived`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.messages.slice(0, count);
  }

  close(): void {
    this.#controller.abort();
  }

  async #pump(response: Response): Promise<void> {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) this.#feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch (error) {
      if (!this.#controller.signal.aborted) throw error;
    }
  }

  #feed(text: string): void {
    this.#buffer += text;
    if (!this.#started && this.#buffer.length > 0) {
      this.#started = true;
      if (this.#buffer.startsWith('\uFEFF')) this.#buffer = this.#buffer.slice(1);
    }
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (match === null || (match[0] === '\r' && match.index === this.#buffer.length - 1)) return;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data += `${value}\n`;
    else if (field === 'id' && !value.includes('\0')) this.#lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }

  #dispatch(): void {
    if (this.#data === '') {
      this.#event = '';
      return;
    }
    this.messages.push({ lastEventId: this.#lastEventId, event: this.#event === '' ? 'message' : this.#event, data: this.#data.slice(0, -1) });
    this.#data = '';
    this.#event = '';
    for (const waiter of this.#waiters.filter((w) => w.count <= this.messages.length)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}
